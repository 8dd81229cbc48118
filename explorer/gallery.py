"""The shipped pretrained models: ``pretrained/<dataset>/<variant>-<latent>/``."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

PRETRAINED_ROOT = Path(__file__).resolve().parents[1] / "pretrained"
_FOLDER = re.compile(r"^(?P<variant>[a-z_]+)-(?P<latent>\d+)$")
KEY_PREFIX = "pretrained:"


@dataclass(frozen=True)
class PretrainedEntry:
    dataset: str
    variant: str
    latent_dim: int
    path: Path

    @property
    def label(self) -> str:
        return f"{self.variant} (code {self.latent_dim})"

    @property
    def key(self) -> str:
        """Names this model in the app's caches: ``pretrained:<dataset>/<variant>-<latent>``."""
        return f"{KEY_PREFIX}{self.path.parent.name}/{self.path.name}"

    @property
    def card(self) -> dict:
        card = self.path / "card.json"
        return json.loads(card.read_text()) if card.is_file() else {}


def list_pretrained(dataset: str | None = None, root: Path = PRETRAINED_ROOT) -> list[PretrainedEntry]:
    """Shipped checkpoint folders, optionally for one dataset, sorted by variant and code size."""
    entries = []
    for folder in sorted(Path(root).glob("*/*")):
        match = _FOLDER.match(folder.name)
        if match and (folder / "model.safetensors").is_file() and dataset in (None, folder.parent.name):
            entries.append(PretrainedEntry(folder.parent.name, match["variant"], int(match["latent"]), folder))
    return sorted(entries, key=lambda e: (e.dataset, e.variant, e.latent_dim))


def find_pretrained(dataset: str, variant: str, latent_dim: int | None = None,
                    root: Path = PRETRAINED_ROOT) -> PretrainedEntry | None:
    """The shipped model for ``variant`` on ``dataset`` (the given code size, else the smallest)."""
    matches = [e for e in list_pretrained(dataset, root) if e.variant == variant
               and latent_dim in (None, e.latent_dim)]
    return matches[0] if matches else None


def folder_of_key(key: str, root: Path = PRETRAINED_ROOT) -> Path | None:
    """The folder of the shipped model a :attr:`PretrainedEntry.key` names; None for other models."""
    return Path(root) / key.removeprefix(KEY_PREFIX) if key.startswith(KEY_PREFIX) else None


def card_metrics(folder: Path, fingerprint: str) -> dict | None:
    """The ``eval --json`` metrics on a shipped model's card, when they were measured on the dataset
    with this fingerprint (after the float16 round trip, so they are what loading it gives); else None."""
    card = folder / "card.json"
    metrics = json.loads(card.read_text()).get("metrics", {}) if card.is_file() else {}
    return metrics if metrics.get("fingerprint") == fingerprint else None
