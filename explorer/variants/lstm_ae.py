"""The LSTM sequence autoencoder (Srivastava, Mansimov & Salakhutdinov, ICML 2015; the encoder-decoder
of Sutskever, Vinyals & Le, NIPS 2014).

An image is read as a sequence: row t of the image is step t, so T = H steps of F = C * W features.
An LSTM reads the T steps; a linear layer maps its last hidden state to the code z (B, K); a second
LSTM unrolls T steps with z as its input at every step (as Cho et al. 2014 feed their summary c),
starting from a zero state; a linear readout turns each step's hidden state into F logits.
Feeding z at every step, rather than only as the decoder's initial state as Srivastava et al. do,
keeps the code in reach at the last rows: they need not read it from a state updated T times.
With ``bidirectional`` a second encoder LSTM reads the steps from T to 1, and the code is made from both
last states (B, 2 * hidden): read one way, step 1 reaches the code through T - 1 updates of the state.

Sequences that are not images: build the model for input_shape (1, T, F) and pass (N, 1, T, F)
arrays as the dataset, or call ``encode`` directly on a (B, T, F) tensor; ``decode`` returns
(B, 1, T, F) and :meth:`decode_sequence` (B, T, F).
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from explorer.config import BackpropConfig, TrainedConfig, inherit, param
from explorer.registry import register
from explorer.variants.base import Autoencoder


@dataclass
class LSTMAEConfig(BackpropConfig):
    # At 2e-3 the decoder outputs the mean sequence for ~30 epochs on digits before it uses the
    # code; 5e-3 halves that plateau and ends at about the same error (0.74 against 0.72 at K = 8).
    lr: float = inherit(TrainedConfig, "lr", 5e-3)
    hidden_size: int = param(64, min=1, max=4096, help="State size of the encoder and decoder LSTMs.")
    bidirectional: bool = param(False, label="read both ways",
                                help="A second encoder LSTM reads the rows bottom to top, and the code is made from "
                                     "both last states, so the first rows are as near the code as the last ones.")


@register("lstm_ae", config=LSTMAEConfig,
          description="LSTM sequence autoencoder: reads an image row by row, unrolls it back from the code.",
          paper="Srivastava, Mansimov & Salakhutdinov, Unsupervised learning of video representations "
                "using LSTMs, ICML 2015; Sutskever, Vinyals & Le, NIPS 2014")
class LSTMAE(Autoencoder):
    def __init__(self, config: LSTMAEConfig, input_shape, n_classes=0):
        super().__init__(config, input_shape, n_classes)
        c, h, w = input_shape
        self.n_steps, self.n_features = h, c * w  # T, F
        self.encoder = nn.LSTM(self.n_features, config.hidden_size, batch_first=True,
                               bidirectional=config.bidirectional)
        self.to_code = nn.Linear(config.hidden_size * (2 if config.bidirectional else 1), config.latent_dim)
        self.decoder = nn.LSTM(config.latent_dim, config.hidden_size, batch_first=True)
        self.readout = nn.Linear(config.hidden_size, self.n_features)

    def to_sequence(self, x: Tensor) -> Tensor:
        """(B, C, H, W) images -> (B, T=H, F=C*W) rows; a (B, T, F) tensor is already a sequence."""
        if x.ndim == 3:
            return x
        return x.permute(0, 2, 1, 3).flatten(2)

    def encode(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        _, (last_hidden, _) = self.encoder(self.to_sequence(x))  # (directions, B, hidden)
        return self.to_code(last_hidden.permute(1, 0, 2).flatten(1))  # (B, directions * hidden) -> (B, K)

    def decode_sequence(self, z: Tensor) -> Tensor:
        """(B, K) -> (B, T, F) logits, the code fed at each of the T steps."""
        steps, _ = self.decoder(z[:, None, :].expand(-1, self.n_steps, -1))  # (B, T, hidden)
        return self.readout(steps)

    def from_sequence(self, sequence: Tensor) -> Tensor:
        """(B, T, F) -> (B, C, H, W), the inverse of :meth:`to_sequence`."""
        c, h, w = self.input_shape
        return sequence.reshape(-1, h, c, w).permute(0, 2, 1, 3)

    def decode_logits(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return self.from_sequence(self.decode_sequence(z))

    def loss(self, x: Tensor, y: Tensor | None = None) -> dict[str, Tensor]:
        target = x.reshape(-1, *self.input_shape)  # (B, T, F) sequences as (B, 1, T, F)
        return {"recon": self.reconstruction_term(self.decode_logits(self.encode(x)), target)}
