"""Checkpoints: a folder with ``model.safetensors`` and ``config.json``. Never unpickles.

The JSON records what is needed to rebuild the model through the registry (variant, config,
input shape, classes), where its weights came from (dataset fingerprint, history, metrics,
library versions) and the sha256 of the weights file, so a weights file from another save is
refused rather than silently loaded. Loading trusts nothing in either file: sizes are capped before
reading, every field of the JSON is checked (the config through its field specs), and the model's
size is counted before its weights are allocated (:func:`explorer.limits.check_model_size`).
"""
from __future__ import annotations

import hashlib
import io
import json
import platform
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes

from explorer import atomic_folder
from explorer.errors import CheckpointError, ConfigError, one_line, shown
from explorer.limits import (MAX_CONFIG_BYTES, MAX_FILES, MAX_IMAGE_PIXELS, MAX_REPLAY_BYTES, MAX_WEIGHTS_BYTES,
                             ZIP_ERRORS, outside_archive, read_at_most, zip_member_count)
from explorer.registry import build, get_variant, list_variants
from explorer.replay import REPLAY_FILE, replay_bytes, replay_from_bytes

if TYPE_CHECKING:
    from explorer.data import ImageDataset
    from explorer.variants.base import Autoencoder

FORMAT_VERSION = 1
WEIGHTS, CONFIG = "model.safetensors", "config.json"
REPLAY = REPLAY_FILE  # optional: the latent map's frames while it trained (explorer.replay)
LIMITS = {WEIGHTS: MAX_WEIGHTS_BYTES, CONFIG: MAX_CONFIG_BYTES, REPLAY: MAX_REPLAY_BYTES}
# What a saved weight may be: float32 as trained, float16/bfloat16 when stored smaller (weights_dtype),
# float64 and integer or boolean buffers as a model may hold them.
STORED_DTYPES = (torch.float32, torch.float16, torch.bfloat16, torch.float64, torch.int64, torch.int32,
                 torch.uint8, torch.bool)


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

    @property
    def seed(self) -> int:
        """The training seed the metrics record (it chose the validation rows), 0 when absent or no seed."""
        seed = self.metrics.get("seed")
        return seed if isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed < 2**32 else 0


def dataset_record(dataset: "ImageDataset") -> dict[str, Any]:
    return {"name": dataset.name, "source": dataset.source, "fingerprint": dataset.fingerprint,
            "input_shape": list(dataset.input_shape), "class_names": list(dataset.class_names)}


def checkpoint_files(model: "Autoencoder", dataset: dict[str, Any], history=(), metrics=None,
                     weights_dtype: torch.dtype | None = None) -> dict[str, bytes]:
    """The files of a checkpoint as bytes (used by :func:`save` and by UI downloads): the weights, the
    config, and the replay when the model carries one (``model.replay_``, named in the config by its sha256)."""
    tensors = {name: _stored(tensor, weights_dtype) for name, tensor in model.state_dict().items()}
    weights = save_safetensors_bytes(tensors, metadata={"format": "autoencoder-explorer"})
    replay = getattr(model, "replay_", None)
    replay = None if replay is None else replay_bytes(replay)
    config = {"format_version": FORMAT_VERSION, "variant": model.variant_name,
              "config": model.config.to_dict(), "n_classes": model.n_classes,
              "dataset": {**dataset, "input_shape": list(model.input_shape)},
              "history": list(history), "metrics": metrics or {},
              "weights_sha256": hashlib.sha256(weights).hexdigest(), "versions": _versions(),
              **({} if replay is None else {"replay_sha256": hashlib.sha256(replay).hexdigest()})}
    files = {WEIGHTS: weights, CONFIG: json.dumps(config, indent=2).encode()}
    return files if replay is None else {**files, REPLAY: replay}


# --- saving ------------------------------------------------------------------------------------

def save(model: "Autoencoder", folder: str | Path, dataset: dict[str, Any], history=(), metrics=None,
         weights_dtype: torch.dtype | None = None) -> Path:
    """Write the checkpoint so that a kill at any point leaves the previous one or this one
    (:mod:`explorer.atomic_folder`). Only an absent path, an empty folder or a checkpoint folder is
    replaced, with all it holds (a card and maps describe the old weights); anything else is refused
    by :func:`check_target`."""
    folder = Path(folder)
    files = checkpoint_files(model, dataset, history, metrics, weights_dtype)
    try:
        atomic_folder.replace(folder, files, complete=_complete, check=check_target)
    except OSError as error:
        raise CheckpointError(f"could not write {folder} ({one_line(error)}); any checkpoint that was there "
                              "is unchanged") from None
    return folder


def check_target(folder: str | Path) -> None:
    """Refuse, before any work, a save target that would lose data or cannot be written: a file, a
    link, a folder holding anything but a checkpoint, or a place this process may not write."""
    folder = Path(folder)
    try:
        what = "a link" if folder.is_symlink() else "a file" if folder.exists() and not folder.is_dir() else None
        if what is None and folder.is_dir() and any(folder.iterdir()) and not is_checkpoint(folder):
            what = "a folder that holds other files"
        if what:
            raise CheckpointError(f"{folder} is {what}, not a checkpoint folder, and is left as it is; name a new "
                                  "folder, or an empty one, to save into")
        atomic_folder.writable_parent(folder)
    except OSError as error:
        raise CheckpointError(f"cannot save to {folder}: its folder cannot be written to ({one_line(error)}); "
                              "choose another place") from None


def is_checkpoint(folder: Path) -> bool:
    """Whether ``folder`` holds a config.json written by this app (its weights may be gone)."""
    try:
        record = json.loads(_read(folder / CONFIG)) if (folder / CONFIG).is_file() else None
    except (CheckpointError, OSError, ValueError, RecursionError):
        return False
    return isinstance(record, dict) and "weights_sha256" in record and "variant" in record


def _complete(folder: Path) -> bool:
    return (folder / CONFIG).is_file() and (folder / WEIGHTS).is_file()


# --- loading -----------------------------------------------------------------------------------

def load(folder: str | Path, device: str | torch.device = "cpu") -> Checkpoint:
    """Rebuild the model through the registry and load its weights strictly."""
    folder = atomic_folder.restore(Path(folder), _complete)
    if not (folder / CONFIG).is_file() or not (folder / WEIGHTS).is_file():
        raise CheckpointError(f"{folder}: not a checkpoint folder (needs {WEIGHTS} and {CONFIG})")
    config_json = _read(folder / CONFIG)  # first: a foreign folder is refused before its weights are read
    record = _parse_config(config_json, str(folder))
    # A replay is read only where the config names it: a stray file beside the weights is not this model's.
    replay = _read(folder / REPLAY) if "replay_sha256" in record and (folder / REPLAY).is_file() else None
    return _load_record(record, _read(folder / WEIGHTS), str(folder), device, replay)


def load_bytes(weights: bytes, config_json: bytes, origin: str = "upload",
               device: str | torch.device = "cpu", replay: bytes | None = None) -> Checkpoint:
    """Load a checkpoint from the bytes of its files (an upload, zip members); ``replay`` is optional."""
    for name, data in ((WEIGHTS, weights), (CONFIG, config_json), (REPLAY, replay or b"")):
        if len(data) > LIMITS[name]:
            raise _too_large(f"{origin}: {name}", name)
    return _load_record(_parse_config(config_json, origin), weights, origin, device, replay)


def load_zip(data: bytes, origin: str = "upload.zip", device: str | torch.device = "cpu") -> Checkpoint:
    """Load a zipped checkpoint folder (files at the top level or inside one folder)."""
    try:
        if zip_member_count(io.BytesIO(data)) > MAX_FILES:
            raise CheckpointError(f"{origin}: holds more than {MAX_FILES:,} files; zip one checkpoint folder")
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            files = {name: _zip_member(archive, name, origin) for name in (WEIGHTS, CONFIG)}
            replay = _zip_member(archive, REPLAY, origin, optional=True)
    except ZIP_ERRORS as error:
        raise CheckpointError(f"{origin}: not a zip file this app can read ({one_line(error)})") from None
    return load_bytes(files[WEIGHTS], files[CONFIG], origin, device, replay)


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _zip_member(archive: zipfile.ZipFile, name: str, origin: str, optional: bool = False) -> bytes | None:
    """The one member called ``name`` (in any folder), read no further than its size limit; None for an
    ``optional`` one that is not there."""
    found = [i for i in archive.infolist() if not i.is_dir() and PurePosixPath(i.filename).name == name]
    if optional and not found:
        return None
    if len(found) != 1:
        raise CheckpointError(f"{origin}: the zip must contain one {WEIGHTS} and one {CONFIG}, found "
                              f"{len(found)} {name}; zip one checkpoint folder")
    if outside_archive(found[0].filename):
        raise CheckpointError(f"{origin}: member {shown(found[0].filename)} is named outside the archive; zip the "
                              "checkpoint folder again")
    if found[0].file_size > LIMITS[name]:
        raise _too_large(f"{origin}: {name}", name)
    with archive.open(found[0]) as member:
        data = read_at_most(member, LIMITS[name])
    if len(data) > LIMITS[name]:
        raise _too_large(f"{origin}: {name}", name)
    return data


def _load_record(record: dict[str, Any], weights: bytes, origin: str, device,
                 replay: bytes | None = None) -> Checkpoint:
    if hashlib.sha256(weights).hexdigest() != record["weights_sha256"]:
        raise CheckpointError(f"{origin}: {WEIGHTS} does not belong to this {CONFIG} (sha256 differs); "
                              "was it copied from another checkpoint?")
    spec = get_variant(record["variant"])
    try:
        config = spec.config_cls.from_dict(record["config"])
        model = build(spec.name, config, input_shape=tuple(record["dataset"]["input_shape"]),
                      n_classes=record.get("n_classes", 0))
    except ConfigError as error:
        raise CheckpointError(f"{origin}: {CONFIG} does not describe a buildable model ({one_line(error)})") from None
    try:
        tensors = load_safetensors_bytes(weights)
    except Exception as error:  # safetensors raises several types for foreign or truncated files
        raise CheckpointError(f"{origin}: {WEIGHTS} is not a valid safetensors file ({one_line(error)})") from None
    _check_tensors(tensors, origin)
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as error:
        raise CheckpointError(f"{origin}: weights do not match a {spec.name} with this config "
                              f"({one_line(error)})") from None
    if replay is not None and "replay_sha256" in record:
        if hashlib.sha256(replay).hexdigest() != record["replay_sha256"]:
            raise CheckpointError(f"{origin}: {REPLAY} does not belong to this {CONFIG} (sha256 differs); "
                                  "was it copied from another checkpoint?")
        model.replay_ = replay_from_bytes(replay, origin, len(record["dataset"].get("class_names", [])))
    return Checkpoint(model.to(device).eval(), record["dataset"], record.get("history", []),
                      record.get("metrics", {}), origin)


def _check_tensors(tensors: dict[str, torch.Tensor], origin: str) -> None:
    """Weights are stored as this app stores them and are finite: a complex, float8 or NaN tensor would
    load (torch converts), then spoil every output."""
    for name, tensor in tensors.items():
        if tensor.dtype not in STORED_DTYPES:
            raise CheckpointError(f"{origin}: weight {name} is stored as {tensor.dtype}, which this app never "
                                  "writes; save the model again with this app")
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise CheckpointError(f"{origin}: weight {name} holds NaN or infinite values; retrain the model (a "
                                  "smaller learning rate avoids NaN)")


def _parse_config(config_json: bytes, origin: str) -> dict[str, Any]:
    try:
        record = json.loads(config_json)
    except (ValueError, RecursionError) as error:  # bad UTF-8 and over-long integers are ValueErrors too
        raise CheckpointError(f"{origin}: {CONFIG} is not valid JSON ({one_line(error)})") from None
    if not isinstance(record, dict) or "variant" not in record:
        raise CheckpointError(f"{origin}: {CONFIG} is not an Autoencoder Explorer config")
    if record.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{origin}: checkpoint format {shown(record.get('format_version'))} is not "
                              f"supported (this version reads {FORMAT_VERSION})")
    problem = _record_problem(record)
    if problem:
        raise CheckpointError(f"{origin}: {CONFIG} is malformed: {problem}; save the model again with this app")
    return record


# What config.json holds: each field's type, and whether a checkpoint needs it.
_FIELDS = {"format_version": (int, True), "variant": (str, True), "config": (dict, True), "dataset": (dict, True),
           "weights_sha256": (str, True), "n_classes": (int, False), "history": (list, False),
           "metrics": (dict, False), "versions": (dict, False), "replay_sha256": (str, False)}
_DATASET_FIELDS = {"name": (str, True), "input_shape": (list, True), "source": (str, False),
                   "fingerprint": (str, False), "class_names": (list, False)}
_SCALARS = (str, int, float, bool, type(None))


def _record_problem(record: dict[str, Any]) -> str | None:
    """What is wrong with a parsed config.json, or None; the config's own fields are checked later
    by its class (:meth:`explorer.config.Config.from_dict`), with the bounds the CLI and forms use."""
    problem = _fields_problem(record, _FIELDS, "") or _fields_problem(record["dataset"], _DATASET_FIELDS, "dataset.")
    if problem:
        return problem
    dataset = record["dataset"]
    shape, names = dataset["input_shape"], dataset.get("class_names", [])
    if not (len(shape) == 3 and all(_is_int(d) and d >= 1 for d in shape) and shape[0] in (1, 3)
            and shape[1] * shape[2] <= MAX_IMAGE_PIXELS):
        return (f"dataset.input_shape must be [channels 1 or 3, height, width] of at most {MAX_IMAGE_PIXELS:,} "
                f"pixels, got {shown(shape)}")
    if not all(isinstance(name, str) for name in names):
        return "dataset.class_names must be a list of strings"
    if record.get("n_classes", 0) not in (0, len(names)):
        return f"n_classes must be 0 or the {len(names)} class names, got {record['n_classes']}"
    if record["variant"] not in {spec.name for spec in list_variants()}:
        return f"variant {shown(record['variant'])} is not one of this version's variants"
    if not all(isinstance(r, dict) and isinstance(r.get("stage"), str) and _is_int(r.get("epoch"))
               and all(_is_number(v) for k, v in r.items() if k != "stage") for r in record.get("history", [])):
        return "history must be a list of {stage, epoch, loss terms} records"
    if not all(isinstance(v, _SCALARS) for v in [*record.get("metrics", {}).values(),
                                                 *record.get("versions", {}).values()]):
        return "metrics and versions must map names to numbers or text"
    return None


def _fields_problem(values: Any, fields: dict[str, tuple[type, bool]], prefix: str) -> str | None:
    if not isinstance(values, dict):
        return f"{prefix.rstrip('.') or 'the file'} must be a JSON object"
    unknown = set(values) - set(fields)
    if unknown:
        return f"unknown field {prefix}{shown(sorted(unknown)[0])}"
    for name, (kind, required) in fields.items():
        if name not in values and required:
            return f"field {prefix}{name} is missing"
        if name in values and (not isinstance(values[name], kind) or isinstance(values[name], bool)):
            return f"field {prefix}{name} must be a {kind.__name__}, got {shown(values[name])}"
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _read(path: Path) -> bytes:
    """A checkpoint file's bytes, no more than its size limit (a link to /dev/zero ends too)."""
    with open(path, "rb") as handle:
        data = read_at_most(handle, LIMITS[path.name])
    if len(data) > LIMITS[path.name]:
        raise _too_large(path, path.name)
    return data


def _too_large(what: object, name: str) -> CheckpointError:
    return CheckpointError(f"{what} is over {LIMITS[name]:,} bytes, more than any model this app builds; "
                           "it is not a checkpoint of this app")


def _stored(tensor: torch.Tensor, dtype: torch.dtype | None) -> torch.Tensor:
    tensor = tensor.detach().cpu()
    if dtype is not None and tensor.is_floating_point():
        tensor = tensor.to(dtype)
    return tensor.contiguous()


def _versions() -> dict[str, str]:
    from explorer import __version__
    return {"explorer": __version__, "torch": torch.__version__, "numpy": np.__version__,
            "python": platform.python_version()}
