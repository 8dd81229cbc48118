"""The variant registry: ``@register`` on a model class, ``build(name, ...)`` to make one.

Every module in :mod:`explorer.variants` is imported on first use, so a new variant is one new
file with one decorated class; nothing else lists variant names.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from explorer.errors import ConfigError
from explorer.limits import check_model_size

if TYPE_CHECKING:
    from explorer.config import AutoencoderConfig
    from explorer.variants.base import Autoencoder


@dataclass(frozen=True)
class VariantSpec:
    name: str
    model_cls: type
    config_cls: type
    description: str
    paper: str

    @property
    def module(self) -> str:
        return self.model_cls.__module__


_VARIANTS: dict[str, VariantSpec] = {}
_DISCOVERED = False


def register(name: str, *, config: type, description: str, paper: str):
    """Class decorator that adds a model class to the registry under ``name``."""
    def decorate(model_cls):
        if name in _VARIANTS and _VARIANTS[name].model_cls is not model_cls:
            raise ValueError(f"variant {name!r} is registered twice")
        _VARIANTS[name] = VariantSpec(name, model_cls, config, description, paper)
        model_cls.variant_name = name
        return model_cls
    return decorate


def _discover() -> None:
    global _DISCOVERED
    if _DISCOVERED:
        return
    import explorer.variants as package
    for module in pkgutil.iter_modules(package.__path__):
        if module.name != "base":
            importlib.import_module(f"{package.__name__}.{module.name}")
    _DISCOVERED = True


def list_variants() -> list[VariantSpec]:
    """All registered variants, the ``pca`` baseline last."""
    _discover()
    return sorted(_VARIANTS.values(), key=lambda spec: (spec.name == "pca", spec.name))


def get_variant(name: str) -> VariantSpec:
    _discover()
    try:
        return _VARIANTS[name]
    except KeyError:
        raise ConfigError(f"unknown variant {name!r}; choose one of: "
                          f"{', '.join(s.name for s in list_variants())}") from None


def variant_of(config: "AutoencoderConfig") -> str:
    """The variant a config belongs to: each variant registers its own config class."""
    _discover()
    for spec in _VARIANTS.values():
        if type(config) is spec.config_cls:
            return spec.name
    raise ConfigError(f"{type(config).__name__} is not the config of a registered variant")


def make_config(name: str, **values: Any) -> "AutoencoderConfig":
    """The variant's config with ``values`` overriding its defaults (None means 'keep default')."""
    spec = get_variant(name)
    return spec.config_cls(**{k: v for k, v in values.items() if v is not None})


def build(name: str, config: "AutoencoderConfig | None" = None, *, input_shape: tuple[int, int, int],
          n_classes: int = 0) -> "Autoencoder":
    """Build an untrained model of variant ``name`` for images of ``input_shape`` = (C, H, W)."""
    spec = get_variant(name)
    config = config if config is not None else spec.config_cls()
    if not isinstance(config, spec.config_cls):
        raise ConfigError(f"{name} needs a {spec.config_cls.__name__}, got {type(config).__name__}")
    input_shape, n_classes = tuple(int(d) for d in input_shape), int(n_classes)
    check_model_size(spec.model_cls, config, input_shape, n_classes)  # before any weight is allocated
    return spec.model_cls(config, input_shape, n_classes)
