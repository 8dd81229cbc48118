"""Autoencoder Explorer: the classic autoencoders, trained, compared with PCA and explored.

The public API, imported lazily so that ``import explorer.data`` stays free of torch::

    from explorer import list_variants, build, train, Trainer, load_dataset, save, load, evaluate
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_PUBLIC = {
    "list_variants": "explorer.registry", "get_variant": "explorer.registry", "build": "explorer.registry",
    "make_config": "explorer.registry",
    "Trainer": "explorer.training", "Callback": "explorer.training", "train": "explorer.training",
    "save": "explorer.checkpoint", "load": "explorer.checkpoint",
    "evaluate": "explorer.metrics",
    "load_dataset": "explorer.data", "list_datasets": "explorer.data", "ImageDataset": "explorer.data",
    "ExplorerError": "explorer.errors", "DataError": "explorer.errors", "CheckpointError": "explorer.errors",
    "DeviceError": "explorer.errors", "ConfigError": "explorer.errors",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'explorer' has no attribute {name!r}")
