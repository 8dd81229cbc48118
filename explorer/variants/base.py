"""The interface every variant implements, and the default backprop training step.

A model maps images x of shape (B, C, H, W) in [0, 1] to codes z of shape (B, K) and back.
Training is split into :class:`Stage` s so that greedy layer-wise models (stacked AE, DBN) and
contrastive-divergence RBMs run through the same :class:`explorer.training.Trainer`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np
import torch
from torch import Tensor, nn

from explorer import losses
from explorer.config import AutoencoderConfig
from explorer.tensors import INFERENCE_BATCH, as_tensor
from explorer.threads import for_inference

if TYPE_CHECKING:
    from explorer.data.store import TrainingImages


def adam(parameters, lr: float, betas: tuple[float, float] = (0.9, 0.999)) -> torch.optim.Adam:
    """Adam with the fused update (one pass over each parameter per step) on CPU and CUDA, else the
    multi-tensor ('foreach') one, which makes several passes over the weights per step (fused is the
    faster of the two per deep_ae step: benchmarks/RESULTS.md, lever rows)."""
    parameters = list(parameters)
    fused = all(p.device.type in ("cpu", "cuda") for p in parameters)
    return torch.optim.Adam(parameters, lr=lr, betas=betas, **({"fused": True} if fused else {"foreach": True}))


def minimise(terms: dict[str, Tensor], optimizer: torch.optim.Optimizer) -> dict[str, Tensor]:
    """One ``optimizer`` step on the sum of the loss ``terms``; returns them detached."""
    optimizer.zero_grad(set_to_none=True)
    sum(terms.values()).backward()
    optimizer.step()
    return {name: value.detach() for name, value in terms.items()}


StepFunction = Callable[[Tensor, "Tensor | None"], dict[str, Tensor]]


@dataclass
class Stage:
    """One phase of training: its name (shown in progress and history), epochs, and its ``step``:
    one update on a batch (x (B, C, H, W), y (B,) or None) returning the detached loss terms, with the
    stage's optimizers bound in. ``on_start`` runs when the stage begins (e.g. unrolling pretrained
    RBMs before fine-tuning). ``optimizers`` are those whose learning rate the Trainer may lower when the
    validation error stops improving (:data:`explorer.selection.PLATEAU_EPOCHS`)."""
    name: str
    epochs: int
    step: StepFunction
    on_start: Callable[[], None] | None = None
    optimizers: tuple[torch.optim.Optimizer, ...] = ()


class Autoencoder(nn.Module):
    """Base class. Subclasses implement ``encode``, ``decode_logits`` and ``loss``."""

    variant_name = ""          # set by @register
    # The methods a training step computes its objectives through (torchrun runs each through
    # DistributedDataParallel: explorer.distributed.data_parallel).
    objectives: tuple[str, ...] = ("loss",)
    conditional = False        # encode/decode take the label y
    gaussian_latent = False    # codes are regularised toward N(0, I): prior sampling and slerp apply
    # What ``reconstruct`` uses besides the code (e.g. pooling switches, the label). Tables flag it,
    # since such a model is not compared with PCA on a code of the same size alone.
    side_information = ""

    def __init__(self, config: AutoencoderConfig, input_shape: tuple[int, int, int], n_classes: int = 0):
        super().__init__()
        self.config = config
        self.input_shape = input_shape
        self.n_classes = n_classes

    @property
    def input_dim(self) -> int:
        c, h, w = self.input_shape
        return c * h * w

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def encode(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """(B, C, H, W) -> (B, K): the deterministic code (the posterior mean for VAEs)."""
        raise NotImplementedError

    def decode_logits(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        """(B, K) -> logits of the pixel means, any shape with B * C * H * W elements."""
        raise NotImplementedError

    def decode(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        """(B, K) -> (B, C, H, W) in [0, 1]."""
        return torch.sigmoid(self.decode_logits(z, y)).reshape(-1, *self.input_shape)

    def reconstruct(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return self.decode(self.encode(x, y), y)

    def loss(self, x: Tensor, y: Tensor | None = None) -> dict[str, Tensor]:
        """Named scalar terms whose sum is what training minimises."""
        raise NotImplementedError

    def fit_data(self, x: "TrainingImages", y: Tensor | None) -> None:
        """Called once with the images training fits on (the validation rows held out) and their labels,
        before the first stage runs: closed-form fits (PCA) and inits from the data (the RBMs' visible biases)."""

    def training_stages(self) -> list[Stage]:
        optimizer = adam(self.parameters(), self.config.lr)
        return [Stage("train", self.config.epochs, self.backprop_step(optimizer), optimizers=(optimizer,))]

    def backprop_step(self, optimizer: torch.optim.Optimizer) -> StepFunction:
        """The step that backpropagates the sum of :meth:`loss`'s terms through ``optimizer``."""
        return lambda x, y: minimise(self.loss(x, y), optimizer)

    # --- arrays in, arrays out: the one inference API of pages, metrics, report and benchmarks ----------

    @property
    def device(self) -> torch.device:
        return next(iter(self.state_dict().values())).device

    def apply_batched(self, fn: Callable[[Tensor, Tensor | None], Tensor], x, y=None,
                      batch_size: int = INFERENCE_BATCH) -> np.ndarray:
        """``fn(xb, yb)`` over batches of ``x`` (a NumPy array or a tensor, on any device), in eval and
        inference mode, concatenated as float32 NumPy. ``y`` reaches only conditional models."""
        y = y if self.conditional else None
        device, was_training = self.device, self.training
        self.eval()
        outputs = []
        try:
            with torch.inference_mode(), for_inference():
                for start in range(0, len(x), batch_size):
                    xb = as_tensor(x[start:start + batch_size], device)
                    yb = as_tensor(y[start:start + batch_size], device) if y is not None else None
                    outputs.append(fn(xb, yb).float().cpu().numpy())
        finally:
            self.train(was_training)
        return np.concatenate(outputs) if outputs else np.zeros((0,), np.float32)

    def encode_array(self, x, y=None, batch_size: int = INFERENCE_BATCH) -> np.ndarray:
        """(N, C, H, W) images -> (N, K) codes."""
        return self.apply_batched(self.encode, x, y, batch_size)

    def decode_array(self, z, y=None, batch_size: int = INFERENCE_BATCH) -> np.ndarray:
        """(N, K) codes -> (N, C, H, W) images (PCA's linear decoder may leave [0, 1])."""
        return self.apply_batched(self.decode, np.asarray(z, np.float32) if isinstance(z, np.ndarray) else z,
                                  y, batch_size)

    def reconstruct_array(self, x, y=None, batch_size: int = INFERENCE_BATCH) -> np.ndarray:
        """(N, C, H, W) -> (N, C, H, W) reconstructions."""
        return self.apply_batched(self.reconstruct, x, y, batch_size)

    def reconstruction_errors(self, x, y=None, batch_size: int = INFERENCE_BATCH) -> np.ndarray:
        """(N,) squared error of each image's reconstruction, summed over pixels: the test error
        (averaged) and the anomaly score. Computed batch by batch on the model's device."""
        return self.apply_batched(lambda xb, yb: losses.squared_error_per_image(self.reconstruct(xb, yb), xb),
                                  x, y, batch_size)

    def reconstruction_term(self, logits: Tensor, x: Tensor) -> Tensor:
        return losses.reconstruction(logits.reshape(x.shape), x, self.config.recon_loss)
