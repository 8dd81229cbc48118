"""Checkpoints: a folder with ``model.safetensors`` and ``config.json``. Never unpickles.

The JSON records what is needed to rebuild the model through the registry (variant, config,
input shape, classes), where its weights came from (dataset fingerprint, history, metrics,
library versions) and the sha256 of the weights file, so a weights file from another save is
refused rather than silently loaded.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes

from explorer.errors import CheckpointError, ConfigError
from explorer.registry import build, get_variant

if TYPE_CHECKING:
    from explorer.data import ImageDataset
    from explorer.variants.base import Autoencoder

FORMAT_VERSION = 1
WEIGHTS, CONFIG = "model.safetensors", "config.json"


@dataclass
class Checkpoint:
    """A loaded model and what its config.json says about it."""
    model: "Autoencoder"
    dataset: dict[str, Any]
    history: list[dict] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    path: str = ""

    @property
    def variant(self) -> str:
        return self.model.variant_name


def dataset_record(dataset: "ImageDataset") -> dict[str, Any]:
    return {"name": dataset.name, "source": dataset.source, "fingerprint": dataset.fingerprint,
            "input_shape": list(dataset.input_shape), "class_names": list(dataset.class_names)}


def checkpoint_files(model: "Autoencoder", dataset: dict[str, Any], history=(), metrics=None,
                     weights_dtype: torch.dtype | None = None) -> dict[str, bytes]:
    """The two files of a checkpoint as bytes (used by :func:`save` and by UI downloads)."""
    tensors = {name: _stored(tensor, weights_dtype) for name, tensor in model.state_dict().items()}
    weights = save_safetensors_bytes(tensors, metadata={"format": "autoencoder-explorer"})
    config = {"format_version": FORMAT_VERSION, "variant": model.variant_name,
              "config": model.config.to_dict(), "n_classes": model.n_classes,
              "dataset": {**dataset, "input_shape": list(model.input_shape)},
              "history": list(history), "metrics": metrics or {},
              "weights_sha256": hashlib.sha256(weights).hexdigest(), "versions": _versions()}
    return {WEIGHTS: weights, CONFIG: json.dumps(config, indent=2).encode()}


def save(model: "Autoencoder", folder: str | Path, dataset: dict[str, Any], history=(), metrics=None,
         weights_dtype: torch.dtype | None = None) -> Path:
    """Write the checkpoint atomically: into a sibling temp folder, then swapped into place.

    A save killed at any point leaves either the old checkpoint or the new one at ``folder``
    (or, between the two renames, the old one at ``.<name>.old``, which :func:`load` falls back to).
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    files = checkpoint_files(model, dataset, history, metrics, weights_dtype)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-", dir=folder.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; a checkpoint folder is an ordinary folder
    for name, data in files.items():
        with open(staging / name, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    backup = _backup_path(folder)
    if backup.exists():
        shutil.rmtree(backup)
    if folder.exists():
        os.rename(folder, backup)
    os.rename(staging, folder)
    shutil.rmtree(backup, ignore_errors=True)
    return folder


def load(folder: str | Path, device: str | torch.device = "cpu") -> Checkpoint:
    """Rebuild the model through the registry and load its weights strictly."""
    folder = Path(folder)
    if not folder.exists() and _backup_path(folder).exists():
        folder = _backup_path(folder)  # a save was interrupted between its two renames
    if not (folder / CONFIG).is_file() or not (folder / WEIGHTS).is_file():
        raise CheckpointError(f"{folder}: not a checkpoint folder (needs {WEIGHTS} and {CONFIG})")
    return load_bytes((folder / WEIGHTS).read_bytes(), (folder / CONFIG).read_bytes(), str(folder), device)


def load_bytes(weights: bytes, config_json: bytes, origin: str = "upload",
               device: str | torch.device = "cpu") -> Checkpoint:
    """Load a checkpoint from the bytes of its two files (an upload, a zip member)."""
    record = _parse_config(config_json, origin)
    if hashlib.sha256(weights).hexdigest() != record.get("weights_sha256"):
        raise CheckpointError(f"{origin}: {WEIGHTS} does not belong to this {CONFIG} (sha256 differs); "
                              "was it copied from another checkpoint?")
    try:
        tensors = load_safetensors_bytes(weights)
    except Exception as error:  # safetensors raises several types for foreign or truncated files
        raise CheckpointError(f"{origin}: {WEIGHTS} is not a valid safetensors file ({_one_line(error)})") from None
    spec = get_variant(record["variant"])
    try:
        config = spec.config_cls.from_dict(record["config"])
        model = build(spec.name, config, input_shape=tuple(record["dataset"]["input_shape"]),
                      n_classes=int(record.get("n_classes", 0)))
    except (ConfigError, KeyError, TypeError) as error:
        raise CheckpointError(f"{origin}: {CONFIG} does not describe a buildable model ({_one_line(error)})") from None
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as error:
        raise CheckpointError(f"{origin}: weights do not match a {spec.name} with this config "
                              f"({_one_line(error)})") from None
    return Checkpoint(model.to(device).eval(), record["dataset"], record.get("history", []),
                      record.get("metrics", {}), origin)


def load_zip(data: bytes, origin: str = "upload.zip", device: str | torch.device = "cpu") -> Checkpoint:
    """Load a zipped checkpoint folder (files at the top level or inside one folder)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = {Path(info.filename).name: info for info in archive.infolist() if not info.is_dir()}
            if WEIGHTS not in members or CONFIG not in members:
                raise CheckpointError(f"{origin}: the zip must contain {WEIGHTS} and {CONFIG}")
            if sum(members[n].file_size for n in (WEIGHTS, CONFIG)) > 1 << 30:
                raise CheckpointError(f"{origin}: the checkpoint unpacks to more than 1 GiB")
            return load_bytes(archive.read(members[WEIGHTS]), archive.read(members[CONFIG]), origin, device)
    except zipfile.BadZipFile:
        raise CheckpointError(f"{origin}: not a zip file") from None


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _parse_config(config_json: bytes, origin: str) -> dict[str, Any]:
    try:
        record = json.loads(config_json)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{origin}: {CONFIG} is not valid JSON ({_one_line(error)})") from None
    if not isinstance(record, dict) or "variant" not in record:
        raise CheckpointError(f"{origin}: {CONFIG} is not an Autoencoder Explorer config")
    if record.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{origin}: checkpoint format {record.get('format_version')!r} is not "
                              f"supported (this version reads {FORMAT_VERSION})")
    return record


def _stored(tensor: torch.Tensor, dtype: torch.dtype | None) -> torch.Tensor:
    tensor = tensor.detach().cpu()
    if dtype is not None and tensor.is_floating_point():
        tensor = tensor.to(dtype)
    return tensor.contiguous()


def _backup_path(folder: Path) -> Path:
    return folder.parent / f".{folder.name}.old"


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:300]


def _versions() -> dict[str, str]:
    from explorer import __version__
    return {"explorer": __version__, "torch": torch.__version__, "numpy": np.__version__,
            "python": platform.python_version()}
