"""Stacked autoencoders: greedy layer-wise pretraining, then end-to-end fine-tuning.

Bengio, Lamblin, Popovici & Larochelle (2007) replace the RBMs of a deep belief net by one-layer
autoencoders: AE 1 learns to reconstruct x; its encoder is frozen and AE 2 learns to reconstruct the
codes z1 = f1(x); and so on up to the code layer. Vincent et al. (2010) call the result a stacked
autoencoder (theirs also corrupt each layer's input; see denoising_ae): the encoders stacked bottom-up
and the decoders top-down form a deep autoencoder, which backprop then fine-tunes as a whole.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from explorer import losses
from explorer.config import BackpropConfig, TrainedConfig, inherit, param
from explorer.nn import ACTIVATIONS, hidden_widths, mlp
from explorer.registry import register
from explorer.variants.base import Autoencoder, Stage, adam, minimise


@dataclass
class StackedAEConfig(BackpropConfig):
    epochs: int = inherit(TrainedConfig, "epochs", 80)  # fine-tuning
    hidden: str = param("auto", help="Widths of the encoder's layers, comma-separated, each trained first as its "
                                     "own small autoencoder (the decoder mirrors them); 'auto' picks 1000,500,250 "
                                     "for 28x28 images and fewer units for smaller ones.")
    activation: str = param("elu", choices=tuple(ACTIVATIONS),
                            help="The function each hidden unit applies to what it receives (the code layer stays "
                                 "linear).")
    pretrain_epochs: int = param(10, min=0, max=10_000, help="How many times each layer's own autoencoder goes "
                                                             "through the training images while the layers are "
                                                             "trained one at a time.")


@register("stacked_ae", config=StackedAEConfig,
          description="Stacked autoencoder: one-layer autoencoders trained greedily, each on the codes of the "
                      "frozen one below, then stacked and fine-tuned end to end.",
          paper="Bengio, Lamblin, Popovici & Larochelle, Greedy layer-wise training of deep networks, NIPS 2007; "
                "Vincent et al., Stacked denoising autoencoders, JMLR 2010")
class StackedAE(Autoencoder):
    """Layer i has an encoder sizes[i] -> sizes[i+1] and a decoder back; sizes = (D, *hidden, K)."""

    def __init__(self, config: StackedAEConfig, input_shape, n_classes=0):
        super().__init__(config, input_shape, n_classes)
        sizes = (self.input_dim, *hidden_widths(config.hidden, self.input_dim), config.latent_dim)
        top, act = len(sizes) - 2, config.activation
        # The code layer is linear, as in deep_ae; every other encoder output goes through ``act``.
        self.encoders = nn.ModuleList(mlp((n_in, n_out), act, "linear" if i == top else act)
                                      for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])))
        # Decoder i reproduces encoder i's input: pixel logits for i = 0, else codes in ``act``'s range.
        self.decoders = nn.ModuleList(mlp((n_out, n_in), act, "linear" if i == 0 else act)
                                      for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])))

    def encode(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return self.codes_below(x.flatten(1), len(self.encoders))  # (B, K)

    def decode_logits(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        for decoder in reversed(self.decoders):
            z = decoder(z)
        return z  # (B, D)

    def codes_below(self, x: Tensor, layer: int) -> Tensor:
        """(B, D) -> (B, sizes[layer]): the input of layer ``layer``, through encoders 0..layer-1."""
        for encoder in self.encoders[:layer]:
            x = encoder(x)
        return x

    def loss(self, x: Tensor, y: Tensor | None = None) -> dict[str, Tensor]:
        """The fine-tuning objective: the whole stack's reconstruction of x."""
        return {"recon": self.reconstruction_term(self.decode_logits(self.encode(x)), x)}

    def layer_loss(self, x: Tensor, layer: int) -> dict[str, Tensor]:
        """Greedy objective of layer ``layer``: reconstruct its input, the frozen codes of the layers below.
        Pixels use the decoder likelihood (``recon_loss``); codes, real-valued, use the squared error."""
        if layer == 0:
            return {"recon": self.reconstruction_term(self.decoders[0](self.encoders[0](x.flatten(1))), x)}
        codes = self.codes_below(x.flatten(1), layer).detach()  # (B, sizes[layer])
        reconstruction = self.decoders[layer](self.encoders[layer](codes))
        return {"code_recon": losses.squared_error_per_image(reconstruction, codes).mean()}

    def training_stages(self) -> list[Stage]:
        stages = []
        for layer, (encoder, decoder) in enumerate(zip(self.encoders, self.decoders)):
            optimizer = adam([*encoder.parameters(), *decoder.parameters()], self.config.lr)
            stages.append(Stage(f"layer{layer + 1}", self.config.pretrain_epochs,
                                functools.partial(self.greedy_step, layer, optimizer)))
        optimizer = adam(self.parameters(), self.config.lr)
        return stages + [Stage("finetune", self.config.epochs, self.backprop_step(optimizer), optimizers=(optimizer,))]

    def greedy_step(self, layer: int, optimizer: torch.optim.Optimizer, x: Tensor, y: Tensor | None) -> dict[str, Tensor]:
        """One update of layer ``layer``'s own encoder and decoder on :meth:`layer_loss`."""
        return minimise(self.layer_loss(x, layer), optimizer)
