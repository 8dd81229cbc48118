"""Dataclass configs whose field metadata (bounds, choices, help) drives the CLI flags and UI forms.

A variant's config inherits from :class:`AutoencoderConfig` (Pythae style: BaseAEConfig -> VAEConfig)
and declares each field with :func:`param`, so one declaration gives the default, its validation,
an ``--flag`` in ``python -m explorer train`` and a widget in the Streamlit form.
"""
from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass
from typing import Any

from explorer.errors import ConfigError, shown

MAX_TEXT = 200  # characters in a text field ("1000,500,250"): bounds the layers a hidden list can ask for


def param(default: Any, *, help: str, label: str | None = None, min: float | None = None,
          max: float | None = None, choices: tuple | None = None) -> Any:
    """A config field with its bounds, help text and, where its name is no plain word, a label."""
    return dataclasses.field(default=default, metadata={"help": help, "label": label, "min": min,
                                                        "max": max, "choices": choices})


# Plain words for field names that many variants share, and for abbreviations inside names, so the
# UI form and the CLI show "learning rate" where the code says ``lr``.
PLAIN_NAMES = {"hidden": "hidden layer widths", "hidden_size": "LSTM state size", "cd_k": "Gibbs steps (CD-k)",
               "rho": "target activation (rho)"}
PLAIN_WORDS = {"lr": "learning rate", "dim": "size", "l1": "L1"}


def plain_label(name: str) -> str:
    """``adversarial_lr`` -> "adversarial learning rate"."""
    return PLAIN_NAMES.get(name) or " ".join(PLAIN_WORDS.get(word, word) for word in name.split("_"))


def inherit(base: type, name: str, default: Any) -> Any:
    """Re-declare ``base``'s field ``name`` with a new default, keeping its bounds and help."""
    return dataclasses.field(default=default, metadata=base.__dataclass_fields__[name].metadata)


@dataclass(frozen=True)
class FieldSpec:
    """What a CLI flag or a UI widget needs to know about one config field."""
    name: str
    type: type
    default: Any
    help: str
    label: str
    min: float | None
    max: float | None
    choices: tuple | None


@dataclass
class Config:
    """Base of all configs: validation, JSON round trip and field specs."""

    def __post_init__(self):
        for spec in self.field_specs():
            value = getattr(self, spec.name)
            if spec.type is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value) if abs(value) < 2**1023 else math.inf  # float() of a longer int overflows
                object.__setattr__(self, spec.name, value)
            # bool is an int to Python, but true is no width and 1 is no switch
            if not isinstance(value, spec.type) or isinstance(value, bool) != (spec.type is bool):
                raise ConfigError(f"{type(self).__name__}.{spec.name} must be {spec.type.__name__}, "
                                  f"got {shown(value)}")
            if spec.type is float and not math.isfinite(value):  # NaN passes every comparison below
                raise ConfigError(f"{spec.name}={value} is not a finite number")
            if spec.type is str and len(value) > MAX_TEXT:
                raise ConfigError(f"{spec.name} is {len(value):,} characters long, over the limit of {MAX_TEXT}")
            if spec.choices is not None and value not in spec.choices:
                raise ConfigError(f"{spec.name}={value!r} is not one of {', '.join(map(str, spec.choices))}")
            if spec.min is not None and value < spec.min:
                raise ConfigError(f"{spec.name}={value} is below its minimum {spec.min}")
            if spec.max is not None and value > spec.max:
                raise ConfigError(f"{spec.name}={value} is above its maximum {spec.max}")

    @classmethod
    def field_specs(cls) -> list[FieldSpec]:
        hints = typing.get_type_hints(cls)
        return [FieldSpec(f.name, hints[f.name], f.default, f.metadata.get("help", ""),
                          f.metadata.get("label") or plain_label(f.name), f.metadata.get("min"),
                          f.metadata.get("max"), f.metadata.get("choices"))
                for f in dataclasses.fields(cls)]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "Config":
        if not isinstance(values, dict):
            raise ConfigError(f"a {cls.__name__} must be an object of field values, got {shown(values)}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ConfigError(f"unknown {cls.__name__} fields: {shown(sorted(unknown))}")
        return cls(**values)

    def replace(self, **changes) -> "Config":
        return dataclasses.replace(self, **changes)


@dataclass
class AutoencoderConfig(Config):
    """The field every variant has: the code size."""
    latent_dim: int = param(8, min=1, max=1024, label="code size",
                            help="How many numbers each image is squeezed into; 2 gives a map you can plot directly.")


@dataclass
class TrainedConfig(AutoencoderConfig):
    """A model fitted by iterating over mini-batches. The defaults suit ``digits`` (1,437 training
    images, a few seconds on a CPU); :meth:`scaled_to` scales them to larger datasets."""
    epochs: int = param(200, min=0, max=10_000, help="How many times training goes through every training image.")
    batch_size: int = param(64, min=1, max=65_536, help="How many images the model looks at before each weight update.")
    lr: float = param(2e-3, min=1e-6, max=10.0,
                      help="How big a step each update takes: too small learns slowly, too large makes the loss jump "
                           "or blow up.")
    lr_schedule: str = param("plateau", choices=("plateau", "cosine"), label="learning-rate schedule",
                             help="plateau: halve the rate when the validation error levels off; cosine: lower it "
                                  "smoothly to a hundredth by the last epoch, for a run whose epochs are set.")
    keep_best: bool = param(True, label="keep the best epoch",
                            help="At the end, put back the weights of the epoch with the lowest error on the "
                                 "validation images (a tenth of the training images, held out), not the last "
                                 "epoch's.")
    patience: int = param(0, min=0, max=10_000, label="early-stopping patience",
                          help="Stop once the validation error has not improved for this many epochs "
                               "(0: train every epoch).")

    REFERENCE_TRAIN_SIZE = 1437  # digits' training split, for which the epoch defaults are tuned

    def scaled_to(self, n_train: int, factor: float = 1.0, minimum: int = 2) -> "TrainedConfig":
        """This config with every ``*epochs`` field scaled to give about as many updates on ``n_train``
        images as on digits (times ``factor``), within the field's bounds; e.g. 200 epochs on digits become 5 on
        Fashion-MNIST."""
        return self.replace(**self.epochs_scaled({spec.name: getattr(self, spec.name) for spec in self.field_specs()},
                                                 factor * self.REFERENCE_TRAIN_SIZE / n_train, minimum))

    @classmethod
    def epochs_scaled(cls, values: dict, scale: float, minimum: int) -> dict:
        """The positive ``*epochs`` entries of ``values`` times ``scale``, rounded, at least ``minimum``
        and within each field's bounds."""
        bounds = {spec.name: spec.max for spec in cls.field_specs()}
        return {name: min(bounds[name], max(minimum, round(value * scale))) for name, value in values.items()
                if name.endswith("epochs") and value > 0}


@dataclass
class BackpropConfig(TrainedConfig):
    """A network trained end to end by backpropagation of a reconstruction likelihood."""
    recon_loss: str = param("bce", choices=("bce", "mse"), label="reconstruction loss",
                            help="How a reconstruction is scored: cross-entropy (bce) suits mostly black-or-white "
                                 "images, squared error (mse) treats pixels as grey levels.")
