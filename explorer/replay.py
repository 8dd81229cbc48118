"""Replays: how a model's latent map organised itself while it trained, epoch by epoch (issue #16).

:class:`ReplayRecorder`, a Trainer callback, follows a seeded few hundred test images: it maps their
codes before training (epoch 0) and after every epoch, with that epoch's test error beside them. The
:class:`Replay` it leaves on the model (``model.replay_``) is saved with the checkpoint as
``replay.safetensors`` (float16 positions: about 1.6 KB an epoch for 400 images) and validated on
load like every file read (:func:`replay_from_bytes`).

The map of a frame: 1- and 2-D codes as they are. Larger codes: each epoch's codes on their own two
principal axes, turned (a rotation or reflection, never a stretch) onto the previous frame's by
orthogonal Procrustes (Schönemann 1966), so the picture neither flips nor spins between epochs and
shows each epoch from its best 2-D linear view. Fixed axes (PCA fitted once on the final codes) would
show early epochs from an arbitrary angle, as the code space itself turns while the encoder learns,
and would need every epoch's K-D codes kept until the end; the aligned map needs only the last frame.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from explorer.errors import CheckpointError, one_line
from explorer.limits import MAX_REPLAY_BYTES, MAX_REPLAY_FRAMES, MAX_REPLAY_POINTS
from explorer.training import Callback

if TYPE_CHECKING:
    import plotly.graph_objects as go

REPLAY_FILE = "replay.safetensors"
REPLAY_POINTS = 400   # test images followed: enough for every class's cloud, small enough to ship
REPLAY_FRAMES = 120   # frames kept at most (digits trains 200-400 epochs); see :func:`thinned`
_TENSORS = {"epochs": ("int32", "int64"), "positions": ("float16", "float32"), "test_error": ("float32",),
            "labels": ("int32", "int64")}


Ranges = tuple[tuple[float, float], tuple[float, float]]  # (x0, x1), (y0, y1)


def extent(points: np.ndarray, within: Ranges | None = None) -> Ranges:
    """x and y ranges holding ``points`` (..., 2), padded by 5%, and ``within`` too when given."""
    flat = np.asarray(points, np.float32).reshape(-1, 2)
    low, high = flat.min(0), flat.max(0)
    pad = np.maximum((high - low) * 0.05, 1e-3)
    low, high = low - pad, high + pad
    if within is not None:
        low, high = np.minimum(low, [within[0][0], within[1][0]]), np.maximum(high, [within[0][1], within[1][1]])
    return (float(low[0]), float(high[0])), (float(low[1]), float(high[1]))


@dataclass(frozen=True)
class Replay:
    """Frames of one training run's latent map."""
    epochs: np.ndarray             # (F,) ascending; 0 is the weights before training
    positions: np.ndarray          # (F, N, 2) float16: the followed test images' map at each epoch
    test_error: np.ndarray         # (F,) float32: mean squared error per test image after that epoch
    labels: np.ndarray | None      # (N,) classes of the followed images, None for unlabelled data

    def frame(self, epoch: int) -> int:
        """Index of the last frame at or before ``epoch`` (the first frame for an earlier one)."""
        return max(0, int(np.searchsorted(self.epochs, epoch, side="right")) - 1)

    def axis_ranges(self) -> Ranges:
        """Ranges that hold every frame's points: fixed, so the replay does not jump."""
        return extent(self.positions)

    def caption(self, index: int, kept: int | None = None) -> str:
        """The frame's epoch and test error; ``kept``: the epoch whose weights the model holds. A note on
        the frame goes on a second line: in one, "Epoch 159 of 160 · test error 1.45 · the weights kept" ran
        past a projector's map (410 px wide at 1024x768) and was cut off."""
        epoch = int(self.epochs[index])
        note = "<br>before training" if epoch == 0 else "<br>the weights kept" if epoch == kept else ""
        return f"Epoch {epoch} of {int(self.epochs[-1])} · test error {self.test_error[index]:.2f}{note}"


def kept_epoch(history: list[dict]) -> int | None:
    """The epoch whose weights a run kept (the best on the validation images), None if none is marked."""
    return next((record["epoch"] for record in history if record.get("kept")), None)


def replay_rows(n_test: int, seed: int = 0, points: int = REPLAY_POINTS) -> np.ndarray:
    """The test images a replay follows: a seeded ``points`` of ``n_test`` (all of a smaller split), sorted."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_test, min(points, n_test), replace=False))


class AlignedMap:
    """2-D positions of successive codes of the same images that neither flip nor turn between frames."""

    def __init__(self):
        self.previous: np.ndarray | None = None

    def __call__(self, codes: np.ndarray) -> np.ndarray:
        """(N, K) codes -> (N, 2): the codes for K <= 2 (1-D on the line y = 0), else their principal
        plane turned onto the previous frame's."""
        codes = np.asarray(codes, np.float64)
        if codes.shape[1] <= 2:
            return np.pad(codes, ((0, 0), (0, 2 - codes.shape[1]))).astype(np.float32)
        centred = codes - codes.mean(0)
        _, _, axes = np.linalg.svd(centred, full_matrices=False)
        points = centred @ axes[:2].T
        if self.previous is not None:
            # Orthogonal Procrustes: the rotation or reflection R minimising ||points R - previous|| is U V^T,
            # from the SVD of points^T previous (both centred).
            u, _, vt = np.linalg.svd(points.T @ self.previous)
            points = points @ (u @ vt)
        self.previous = points
        return points.astype(np.float32)


def thinned(count: int, most: int) -> np.ndarray:
    """Indices of at most about ``most`` of ``count`` frames: every early one, then further and further
    apart (geometric spacing: a map organises itself mostly in its first epochs), the first and the last always."""
    if count <= most:
        return np.arange(count)
    wanted = most
    while True:  # rounding merges the early picks, so ask for more until ``most`` stay apart
        picks = np.unique(np.rint(np.geomspace(1, count, wanted)).astype(np.int64) - 1)
        if len(picks) >= most:
            return picks
        wanted += max(1, (most - len(picks)) // 2)


class ReplayRecorder(Callback):
    """Records a :class:`Replay` while a :class:`explorer.training.Trainer` fits; ``replay`` is set when
    training ends (None for a closed-form fit, which has no epochs, or an empty test split)."""

    def __init__(self, x_test: np.ndarray, y_test: np.ndarray | None, *, seed: int = 0,
                 points: int = REPLAY_POINTS, most: int = REPLAY_FRAMES):
        self.x_test, self.y_test, self.most = x_test, y_test, most
        self.rows = replay_rows(len(x_test), seed, points)
        self.map = AlignedMap()
        self.epochs: list[int] = []
        self.frames: list[np.ndarray] = []
        self.errors: list[float] = []
        self.replay: Replay | None = None

    def on_train_start(self, trainer) -> None:
        if len(self.rows):
            errors = trainer.model.reconstruction_errors(self.x_test, self.y_test, trainer.eval_batch_size)
            self._capture(trainer.model, 0, float(errors.mean()))

    def on_epoch_end(self, trainer, record: dict) -> None:
        if len(self.rows):
            self._capture(trainer.model, record["epoch"], record["test_sq_err"])

    def _capture(self, model, epoch: int, test_error: float) -> None:
        labels = None if self.y_test is None else self.y_test[self.rows]
        self.frames.append(self.map(model.encode_array(self.x_test[self.rows], labels)))
        self.epochs.append(epoch)
        self.errors.append(test_error)

    def on_train_end(self, trainer) -> None:
        if trainer.progress is None or len(self.frames) < 2:  # no batch ran: nothing organised itself
            return
        kept = kept_epoch(trainer.history)  # the weights the model ends with: their frame stays
        keep = np.union1d(thinned(len(self.frames), self.most), np.flatnonzero(np.asarray(self.epochs) == kept))
        self.replay = Replay(np.asarray(self.epochs, np.int64)[keep],
                             np.stack([self.frames[i] for i in keep]).astype(np.float16),
                             np.asarray(self.errors, np.float32)[keep],
                             None if self.y_test is None else np.asarray(self.y_test[self.rows], np.int64))
        trainer.replay = trainer.model.replay_ = self.replay


def replay_figure(replay: Replay, index: int, class_names, latent_dim: int, kept: int | None = None,
                  zoom: bool = False, height: int = 520) -> "go.Figure":
    """Frame ``index`` of ``replay`` as a class-coloured map on the replay's fixed axes, or with ``zoom`` on
    axes fitted to this frame alone (an early epoch's map is a small cloud on the final map's axes)."""
    ranges = extent(replay.positions[index]) if zoom else replay.axis_ranges()
    return fixed_map(replay.positions[index], replay.labels, class_names, replay.caption(index, kept), ranges,
                     latent_dim, height)


def fixed_map(points: np.ndarray, labels: np.ndarray | None, class_names, title: str, ranges: Ranges,
              latent_dim: int, height: int = 520) -> "go.Figure":
    """(N, 2) points of an aligned map (:class:`AlignedMap`) coloured by class as on every map, on axes set
    by ``ranges`` rather than by the points, with a title large enough for a projector. The top margin holds
    two lines of title whether or not a frame has its second, so the map keeps its place from frame to frame."""
    from explorer.plots import MAP_AXES, latent_scatter
    axes = MAP_AXES["raw"] if latent_dim <= 2 else ("principal axis 1 (aligned)", "principal axis 2 (aligned)")
    figure = latent_scatter(np.asarray(points, np.float32), labels, class_names, title, height=height,
                            axis_titles=axes)
    figure.update_layout(xaxis_range=list(ranges[0]), yaxis_range=list(ranges[1]), title_font_size=22,
                         margin_t=80)
    return figure


# --- the file ----------------------------------------------------------------------------------

def replay_bytes(replay: Replay) -> bytes:
    """``replay`` as the bytes of a safetensors file (:data:`REPLAY_FILE`)."""
    import torch
    from safetensors.torch import save
    tensors = {"epochs": torch.from_numpy(np.ascontiguousarray(replay.epochs, np.int64)),
               "positions": torch.from_numpy(np.ascontiguousarray(replay.positions, np.float16)),
               "test_error": torch.from_numpy(np.ascontiguousarray(replay.test_error, np.float32))}
    if replay.labels is not None:
        tensors["labels"] = torch.from_numpy(np.ascontiguousarray(replay.labels, np.int64))
    return save(tensors, metadata={"format": "autoencoder-explorer-replay"})


def replay_from_bytes(data: bytes, origin: str, n_classes: int = 0) -> Replay:
    """Parse and check a replay file: its size, tensor names, dtypes, shapes (within
    :data:`MAX_REPLAY_FRAMES` and :data:`MAX_REPLAY_POINTS`), ascending epochs, finite values and labels
    below ``n_classes`` (when the checkpoint names its classes)."""
    where = f"{origin}: {REPLAY_FILE}"
    if len(data) > MAX_REPLAY_BYTES:
        raise CheckpointError(f"{where} is over {MAX_REPLAY_BYTES:,} bytes, more than any replay this app writes")
    from safetensors.torch import load
    try:
        tensors = {name: tensor.numpy() for name, tensor in load(data).items()}
    except Exception as error:  # safetensors raises several types for foreign or truncated files
        raise CheckpointError(f"{where} is not a valid safetensors file ({one_line(error)})") from None
    problem = _replay_problem(tensors, n_classes)
    if problem:
        raise CheckpointError(f"{where} is malformed: {problem}; save the model again with this app")
    labels = tensors.get("labels")
    return Replay(tensors["epochs"].astype(np.int64), tensors["positions"].astype(np.float16),
                  tensors["test_error"].astype(np.float32), None if labels is None else labels.astype(np.int64))


def _replay_problem(tensors: dict[str, np.ndarray], n_classes: int) -> str | None:
    names = set(tensors)
    if not {"epochs", "positions", "test_error"} <= names <= set(_TENSORS):
        return f"it holds {json.dumps(sorted(names))[:80]}, not epochs, positions and test_error (and labels)"
    wrong = next((n for n, t in tensors.items() if t.dtype.name not in _TENSORS[n]), None)
    if wrong:
        return f"{wrong} is stored as {tensors[wrong].dtype.name}, not {' or '.join(_TENSORS[wrong])}"
    positions, epochs = tensors["positions"], tensors["epochs"]
    if positions.ndim != 3 or positions.shape[2] != 2 or not (
            1 <= positions.shape[0] <= MAX_REPLAY_FRAMES and 1 <= positions.shape[1] <= MAX_REPLAY_POINTS):
        return (f"positions must be (frames <= {MAX_REPLAY_FRAMES}, points <= {MAX_REPLAY_POINTS}, 2), "
                f"got {positions.shape}")
    frames, points = positions.shape[:2]
    if epochs.shape != (frames,) or tensors["test_error"].shape != (frames,):
        return f"epochs and test_error must hold one value per frame ({frames})"
    if epochs[0] < 0 or np.any(np.diff(epochs) <= 0):
        return "epochs must be ascending whole numbers from 0"
    if not (np.isfinite(positions).all() and np.isfinite(tensors["test_error"]).all()):
        return "positions and test errors must be finite numbers (no NaN or infinity)"
    labels = tensors.get("labels")
    if labels is not None and (labels.shape != (points,) or labels.min() < 0
                               or labels.max() >= (n_classes or MAX_REPLAY_POINTS)):
        return f"labels must be one class in [0, {n_classes or MAX_REPLAY_POINTS}) per point"
    return None
