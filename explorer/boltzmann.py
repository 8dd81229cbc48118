"""Looking inside a restricted Boltzmann machine: its weights as image filters, Gibbs chains, and
the free energy it gives to data and to noise.

Works on any model holding a :class:`~explorer.variants.rbm.BernoulliRBMLayer` (``rbm`` itself, the
first layer of ``dbn_ae``'s stack): the first such layer is the one that sees pixels.
Sampling uses its own seeded generator, never torch's global one, so a page drawing a chain
neither disturbs a training thread nor changes from one rerun to the next.
"""
from __future__ import annotations

import copy
import functools
from typing import TYPE_CHECKING

import numpy as np
import torch

from explorer.registry import build, list_variants
from explorer.variants.rbm import BernoulliRBMLayer

if TYPE_CHECKING:
    from explorer.variants.base import Autoencoder


def first_rbm_layer(model: "Autoencoder") -> BernoulliRBMLayer | None:
    """The model's first RBM layer (the one over the pixels) on the CPU, or None if it has none."""
    layer = next((m for m in model.modules() if isinstance(m, BernoulliRBMLayer)), None)
    if layer is None or layer.weight.device.type == "cpu":
        return layer
    return copy.deepcopy(layer).cpu()  # sampling below draws from a CPU generator


@functools.lru_cache(maxsize=1)
def rbm_variants() -> tuple[str, ...]:
    """Registered variants whose models contain an RBM layer (built once, tiny, to find out)."""
    names = []
    for spec in list_variants():
        try:
            model = build(spec.name, input_shape=(1, 8, 8), n_classes=10)
        except Exception:  # a variant that cannot be built this small has no say here
            continue
        if first_rbm_layer(model) is not None:
            names.append(spec.name)
    return tuple(names)


def filters(layer: BernoulliRBMLayer, input_shape: tuple[int, int, int], n: int | None = None) -> np.ndarray:
    """(H, C, h, w) hidden units' incoming weights as images in [0, 1]: 0.5 is a zero weight and each
    filter is scaled by its own largest |weight| (white excitatory, black inhibitory)."""
    weight = layer.weight.detach().float().cpu()[:n]                       # (H, V)
    scale = weight.abs().amax(1, keepdim=True).clamp_min(1e-12)
    return (0.5 + 0.5 * weight / scale).reshape(-1, *input_shape).numpy()


@torch.inference_mode()
def gibbs_strip(layer: BernoulliRBMLayer, start: np.ndarray, steps: int, n_frames: int = 10,
                seed: int = 0) -> tuple[np.ndarray, list[int]]:
    """Run ``steps`` Gibbs steps v -> h -> v from the images ``start`` (B, C, H, W).

    Returns (B, F, C, H, W) of P(v = 1 | h) at ``F <= n_frames`` steps spread evenly from step 0
    (the start itself) to ``steps``, and the step numbers.
    """
    generator = torch.Generator().manual_seed(seed)
    shape = start.shape[1:]
    v = torch.as_tensor(np.asarray(start, np.float32)).flatten(1)        # (B, V)
    shown = sorted(set(np.linspace(0, steps, min(n_frames, steps + 1)).round().astype(int).tolist()))
    frames = [v] if 0 in shown else []
    chain = layer.gibbs_steps(layer.sample_hidden(v, generator), steps, generator)
    for step, (probs, _, _) in enumerate(chain, 1):                    # probs: (B, V) P(v = 1 | h)
        if step in shown:
            frames.append(probs)
    strip = torch.stack(frames, 1).reshape(len(start), len(frames), *shape)
    return strip.numpy(), shown


def noise_images(like: np.ndarray, kind: str, seed: int = 0) -> np.ndarray:
    """Images with no structure, the same shape as ``like`` (N, C, H, W): ``uniform`` pixels in
    [0, 1], or ``shuffled`` (each image's own pixels in random places: same brightness, no shape)."""
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        return rng.uniform(0, 1, like.shape).astype(np.float32)
    flat = np.array(like, np.float32).reshape(len(like), -1)
    return rng.permuted(flat, axis=1).reshape(like.shape)


NOISE_KINDS = ("shuffled", "uniform")


@torch.inference_mode()
def free_energies(layer: BernoulliRBMLayer, x: np.ndarray) -> np.ndarray:
    """(N,) free energy F(v) of images (N, C, H, W); lower means the RBM finds them more probable."""
    return layer.free_energy(torch.as_tensor(np.asarray(x, np.float32)).flatten(1)).numpy()


def chain_start(x_test: np.ndarray, kind: str, index: int, n: int) -> np.ndarray:
    """The (n, C, H, W) images a page's Gibbs chains start from: ``n`` test images from ``index`` on
    ("data"), or uniform noise of their shape seeded by ``index`` ("noise")."""
    if kind == "noise":
        return noise_images(x_test[:n], "uniform", seed=index)
    return x_test[index:index + n]


def energy_groups(layer: BernoulliRBMLayer, x: np.ndarray) -> dict[str, np.ndarray]:
    """Free energies of the images ``x`` and of each kind of noise made from them, by group name."""
    groups = {"test images": free_energies(layer, x)}
    for kind in NOISE_KINDS:
        groups[f"{kind} noise"] = free_energies(layer, noise_images(x, kind))
    return groups


def medians(groups: dict[str, np.ndarray]) -> dict[str, float]:
    return {name: float(np.median(values)) for name, values in groups.items()}


def notice(medians: dict[str, float]) -> str:
    """The RBM page's "What to notice", from the median free energies it shows (:func:`medians`)."""
    data = medians["test images"]
    noise = {name: value for name, value in medians.items() if name != "test images"}
    gaps = " and ".join(f"{name} {value:.1f} ({abs(value - data):.1f} {'higher' if value > data else 'lower'})"
                        for name, value in noise.items())
    lesson = ("Lower free energy means more probable, so the RBM has learned what its images look like, not "
              "only their brightness: shuffled noise keeps each image's pixels in other places."
              if all(value > data for value in noise.values()) else
              "The data is not the most probable here: this RBM has not learned its images' shape.")
    return (f"The test images' median free energy is {data:.1f}; {gaps}. {lesson} A Gibbs chain from noise "
            "walks toward what the RBM finds probable.")
