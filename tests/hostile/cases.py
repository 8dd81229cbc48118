"""What the worker runs: each entry point of the core, called as the CLI and the app call it, with
arguments that travel as JSON (paths, not bytes), returning a short summary of what it made."""
from __future__ import annotations

import importlib
import os
import shutil
import signal
from pathlib import Path

import torch


def load_data(path: str) -> str:
    from explorer.data import load_dataset
    return load_dataset(Path(path)).describe()


def load_checkpoint(folder: str) -> str:
    from explorer.checkpoint import load
    return load(folder).variant


def load_checkpoint_zip(path: str) -> str:
    """As the Model page's uploader does: the zip's bytes."""
    from explorer.checkpoint import load_zip
    return load_zip(Path(path).read_bytes(), Path(path).name).variant


def load_checkpoint_files(weights: str, config: str) -> str:
    """As the Model page's uploader does with a model.safetensors and a config.json."""
    from explorer.checkpoint import load_bytes
    return load_bytes(Path(weights).read_bytes(), Path(config).read_bytes(), "model.safetensors").variant


def query_image(path: str) -> list[int]:
    """As the Search page does with an uploaded query image."""
    from explorer.query import image_from_bytes
    return list(image_from_bytes(Path(path).read_bytes(), (1, 8, 8), Path(path).name).shape)


def build_model(variant: str, config: dict, input_shape: list[int], n_classes: int) -> int:
    from explorer.registry import build, get_variant
    model = build(variant, get_variant(variant).config_cls.from_dict(config), input_shape=input_shape,
                  n_classes=n_classes)
    return sum(p.numel() for p in model.parameters())


def cli(argv: list[str]) -> int:
    from explorer.cli import main
    return main(argv)


def with_limit(module: str, name: str, value: int, target: str, *args):
    """``target(*args)`` with ``module.name`` lowered to ``value``: a limit shown to work without
    building a file as large as the real one."""
    owner = importlib.import_module(module)
    saved = getattr(owner, name)
    setattr(owner, name, value)
    try:
        return globals()[target](*args)
    finally:
        setattr(owner, name, saved)


# --- kill -9 during a save ---------------------------------------------------------------------

def tiny_model(value: float):
    """An ``ae`` whose every weight is ``value``, so a loaded checkpoint tells which save wrote it."""
    from explorer.registry import build, make_config
    model = build("ae", make_config("ae", latent_dim=2), input_shape=(1, 4, 4))
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.fill_(value)
    return model


def save_killed_at(folder: str, value: float, step: int) -> int | None:
    """Save version ``value`` into ``folder`` in a forked child that SIGKILLs itself at its ``step``-th
    disk operation (mkdtemp, open, write, fsync, rename, rmtree; a write is cut in half first).
    Returns None if the kill came, else how many operations the save made."""
    from explorer import atomic_folder
    from explorer.checkpoint import save
    model = tiny_model(value)
    pid = os.fork()
    if pid == 0:
        count = _kill_at_step(atomic_folder, step)
        save(model, folder, {"name": "digits", "input_shape": [1, 4, 4]})
        os._exit(count[0])
    _, status = os.waitpid(pid, 0)
    return None if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def kill_scenario(folder: str, steps: list[int]) -> dict:
    """Save version 1 into a fresh ``folder``, then one save per entry of ``steps``, each killed at
    that step (versions 2, 3, ...); then what is left (and which staged files have bytes in them),
    what loads, then a clean save of version 9 and what remains beside it."""
    folder = Path(folder)
    shutil.rmtree(folder.parent, ignore_errors=True)
    folder.parent.mkdir(parents=True)
    save_killed_at(str(folder), 1.0, 0)
    killed = [save_killed_at(str(folder), 2.0 + i, step) is None for i, step in enumerate(steps)]
    left = sorted(p.name for p in folder.parent.iterdir())
    written = sorted(str(p.relative_to(folder.parent)) for p in folder.parent.glob(f".{folder.name}.tmp-*/*") if p.stat().st_size)
    try:
        loaded = loaded_value(str(folder))
    except Exception as error:  # the test reports what refused to load
        loaded = f"{type(error).__name__}: {error}"
    save_killed_at(str(folder), 9.0, 0)
    return {"killed": killed, "left": left, "staged": written, "loaded": loaded, "after_clean_save": loaded_value(str(folder)),
            "finally": sorted(p.name for p in folder.parent.iterdir())}


def loaded_value(folder: str) -> float:
    from explorer.checkpoint import load
    return float(next(load(folder).model.parameters()).flatten()[0])


def _kill_at_step(module, step: int) -> list[int]:
    """In the forked child only: count the disk operations of ``module`` and die at the ``step``-th."""
    count = [0]

    def tick():
        count[0] += 1
        if count[0] == step:
            os.kill(os.getpid(), signal.SIGKILL)

    def counted(function):
        def wrapper(*args, **kwargs):
            tick()
            return function(*args, **kwargs)
        return wrapper

    class HalfWritten:
        def __init__(self, handle):
            self.handle = handle

        def write(self, data):
            count[0] += 1
            if count[0] == step:
                self.handle.write(data[:len(data) // 2])
                self.handle.flush()
                os.kill(os.getpid(), signal.SIGKILL)
            return self.handle.write(data)

        def __getattr__(self, name):
            return getattr(self.handle, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return self.handle.__exit__(*exc)

    real_open = open
    module.open = counted(lambda *args, **kwargs: HalfWritten(real_open(*args, **kwargs)))
    for owner, name in ((os, "rename"), (os, "fsync"), (shutil, "rmtree"), (module.tempfile, "mkdtemp")):
        setattr(owner, name, counted(getattr(owner, name)))
    return count


# --- the app's Model page ----------------------------------------------------------------------

def app_uploads(uploads: list[list]) -> list[dict]:
    """Uploads ``[uploader key, button key, [paths]]`` made one after another on the Model page of one
    app session, as a user would: the errors and exceptions shown after each."""
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app.py"), default_timeout=180).run()
    seen = []
    for uploader, button, paths in uploads:
        at.file_uploader(key=uploader).set_value([(Path(p).name, Path(p).read_bytes(), "application/octet-stream")
                                                  for p in paths])
        at.run().button(key=button).click().run()
        seen.append({"errors": [e.value for e in at.error], "exceptions": [e.value for e in at.exception]})
    return seen
