"""The convolutional autoencoder with max pooling and index unpooling.

Masci, Meier, Ciresan & Schmidhuber (ICANN 2011) stack convolution and max pooling in the encoder
of an autoencoder. SegNet (Badrinarayanan, Kendall & Cipolla, IEEE TPAMI 2017, Sec. 3) has its
decoder upsample with the *indices* of the encoder's max pooling: each pooled value goes back to the
position its maximum came from, so edges land where they were without learning where to put them.

Layout for ``depth`` blocks of ``channels`` c, 2c, 4c, ... (28x28, depth 2, c = 16):
    x (B, 1, 28, 28) -> [conv3x3 -> ReLU -> maxpool2] x 2 -> (B, 32, 7, 7) -> linear -> z (B, K)
    z -> linear -> ReLU -> (B, 32, 7, 7) -> [unpool2 -> conv3x3 (-> ReLU)] x 2 -> logits (B, 1, 28, 28)
Inputs whose sides are not multiples of 2^depth are zero-padded at the bottom and right, and the
decoder's output is cropped back.

Without encoder indices (``decode(z)`` of a point on a latent map, say) an unpooling layer puts a
quarter of each value at all four positions of its window: the expected unpooled map when the
position of the maximum is unknown and uniformly distributed. The convolution that follows is
linear, so the decoder sees the expectation of what it saw in training, centred and unshifted.
``reconstruct`` passes the encoder's indices through. The indices carry information past the code
(where each maximum was), so ``reconstruct`` is better than ``decode(encode(x))``; the loss adds the
code-only reconstruction so that the code alone still describes the image (on digits at K = 8 the
code-only error is still below PCA's). ``upsampling='transposed'`` uses 2x2 stride-2 transposed
convolutions instead, which need no indices: there ``reconstruct`` is ``decode(encode(x))``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor, nn

from explorer.config import BackpropConfig, TrainedConfig, inherit, param
from explorer.registry import register
from explorer.variants.base import Autoencoder

PoolIndices = list[Tensor]  # one (B, C_i, H_i, W_i) index map per pooling, first block first


@dataclass
class ConvAEConfig(BackpropConfig):
    # Half the default epochs: on digits, 100 reach within 2% of 200's test error at half the time.
    epochs: int = inherit(TrainedConfig, "epochs", 100)
    channels: int = param(16, min=1, max=512,
                          help="How many filters the first convolution block learns; each further block learns "
                               "twice as many.")
    depth: int = param(2, min=1, max=5, help="Conv blocks, each halving the image with 2x2 max pooling.")
    upsampling: str = param("unpool", choices=("unpool", "transposed"),
                            help="Decoder upsampling: max-unpooling with the encoder's pooling indices "
                                 "(SegNet) or learned 2x2 transposed convolutions.")


class Upsample2x(nn.Module):
    """Doubles H and W: max-unpooling at given indices (their expectation without), or a learned
    transposed convolution."""

    def __init__(self, channels: int, kind: str):
        super().__init__()
        self.transposed = nn.ConvTranspose2d(channels, channels, 2, stride=2) if kind == "transposed" else None

    def forward(self, features: Tensor, indices: Tensor | None) -> Tensor:  # (B, C, h, w) -> (B, C, 2h, 2w)
        if self.transposed is not None:
            return self.transposed(features)
        if indices is not None:
            return F.max_unpool2d(features, indices, 2)
        return F.interpolate(features, scale_factor=2.0, mode="nearest") / 4


@register("conv_ae", config=ConvAEConfig,
          description="Convolutional autoencoder: conv + max-pooling encoder, decoder unpooling at the "
                      "pooled positions.",
          paper="Masci, Meier, Ciresan & Schmidhuber, Stacked convolutional auto-encoders, ICANN 2011; "
                "Badrinarayanan, Kendall & Cipolla, SegNet, IEEE TPAMI 2017")
class ConvAE(Autoencoder):
    def __init__(self, config: ConvAEConfig, input_shape, n_classes=0):
        super().__init__(config, input_shape, n_classes)
        self.side_information = "max-pooling switches" if config.upsampling == "unpool" else ""
        c, h, w = input_shape
        scale = 2 ** config.depth
        self.padded_size = (-(-h // scale) * scale, -(-w // scale) * scale)
        widths = [c] + [config.channels * 2 ** i for i in range(config.depth)]   # [C, c, 2c, ...]
        self.feature_shape = (widths[-1], self.padded_size[0] // scale, self.padded_size[1] // scale)
        n_features = widths[-1] * self.feature_shape[1] * self.feature_shape[2]
        blocks = list(zip(widths[:-1], widths[1:]))                                # (in, out) channels
        self.down = nn.ModuleList(nn.Conv2d(c_in, c_out, 3, padding=1) for c_in, c_out in blocks)
        self.to_code = nn.Linear(n_features, config.latent_dim)
        self.from_code = nn.Linear(config.latent_dim, n_features)
        # The decoder mirrors the blocks: upsample, then a conv back to the block's input channels.
        self.upsample = nn.ModuleList(Upsample2x(c_out, config.upsampling) for _, c_out in reversed(blocks))
        self.up = nn.ModuleList(nn.Conv2d(c_out, c_in, 3, padding=1) for c_in, c_out in reversed(blocks))

    def encode_with_indices(self, x: Tensor) -> tuple[Tensor, PoolIndices]:
        """(B, C, H, W) -> the code (B, K) and the pooling indices the decoder can unpool with."""
        h, w = self.input_shape[1:]
        features = F.pad(x, (0, self.padded_size[1] - w, 0, self.padded_size[0] - h))
        indices = []
        for conv in self.down:
            features, index = F.max_pool2d(F.relu(conv(features)), 2, return_indices=True)
            indices.append(index)
        return self.to_code(features.flatten(1)), indices

    def encode(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """(B, C, H, W) -> (B, K): the same code as :meth:`encode_with_indices`, without recording the
        pooling indices, which cost most of an encoding pass on the CPU (benchmarks/RESULTS.md)."""
        h, w = self.input_shape[1:]
        features = F.pad(x, (0, self.padded_size[1] - w, 0, self.padded_size[0] - h))
        for conv in self.down:
            features = F.max_pool2d(F.relu(conv(features)), 2)
        return self.to_code(features.flatten(1))

    def decode_logits(self, z: Tensor, y: Tensor | None = None, indices: PoolIndices | None = None) -> Tensor:
        """(B, K) -> (B, C, H, W) logits, unpooling at ``indices`` when given (see the module notes)."""
        features = F.relu(self.from_code(z)).reshape(-1, *self.feature_shape)
        last = len(self.up) - 1
        for i, (upsample, conv) in enumerate(zip(self.upsample, self.up)):
            features = conv(upsample(features, indices[last - i] if indices is not None else None))
            features = F.relu(features) if i < last else features
        h, w = self.input_shape[1:]
        return features[:, :, :h, :w]

    def reconstruct(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        z, indices = self.encode_with_indices(x)
        return self.decode_logits(z, indices=indices).sigmoid()

    def loss(self, x: Tensor, y: Tensor | None = None) -> dict[str, Tensor]:
        z, indices = self.encode_with_indices(x)
        terms = {"recon": self.reconstruction_term(self.decode_logits(z, indices=indices), x)}
        if self.config.upsampling == "unpool":
            # Trained on indexed reconstructions alone, decode(z) was 30x worse than reconstruct on
            # digits (squared error 7.0 against 0.22): the indices did the work, the code little.
            terms["recon_code_only"] = self.reconstruction_term(self.decode_logits(z), x)
        return terms
