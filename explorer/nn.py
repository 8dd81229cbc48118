"""Shared building blocks, sized from the input shape."""
from __future__ import annotations

import math

from torch import nn

from explorer.errors import ConfigError

ACTIVATIONS = {
    "relu": nn.ReLU,
    "elu": nn.ELU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "linear": nn.Identity,
}

# Hinton & Salakhutdinov (2006), Fig. 1: the encoder 784-1000-500-250-code used for MNIST.
PAPER_WIDTHS_784 = (1000, 500, 250)


def activation(name: str) -> nn.Module:
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ConfigError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}") from None


def hidden_widths(spec: str, input_dim: int, paper_widths: tuple[int, ...] = PAPER_WIDTHS_784) -> tuple[int, ...]:
    """Parse a comma-separated width list, or size ``"auto"`` from the input.

    ``auto`` keeps the paper's 784-1000-500-250 stack and shrinks it in proportion when the first
    layer would be more than twice the input, never below 16: an 8x8 digit gets 64-128-64-32
    instead of a 1000-wide layer fitted to 1,437 images.
    """
    if spec.strip() == "auto":
        scale = 2 * input_dim / paper_widths[0]
        if scale >= 1:
            return paper_widths
        return tuple(max(16, 8 * math.ceil(w * scale / 8)) for w in paper_widths)
    try:
        widths = tuple(int(w) for w in spec.split(",") if w.strip())
    except ValueError:
        raise ConfigError(f"hidden widths must be 'auto' or comma-separated integers, got {spec!r}") from None
    if not widths or min(widths) < 1:
        raise ConfigError(f"hidden widths must be positive integers, got {spec!r}")
    return widths


def mlp(sizes: tuple[int, ...], hidden_activation: str, final_activation: str = "linear") -> nn.Sequential:
    """Linear layers through ``sizes`` with ``hidden_activation`` between them."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        last = i == len(sizes) - 2
        layers.append(activation(final_activation if last else hidden_activation))
    return nn.Sequential(*[layer for layer in layers if not isinstance(layer, nn.Identity)])
