"""The shipped pretrained models: ``pretrained/<dataset>/<variant>-<latent>/``."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

PRETRAINED_ROOT = Path(__file__).resolve().parents[1] / "pretrained"
_FOLDER = re.compile(r"^(?P<variant>[a-z_]+)-(?P<latent>\d+)$")


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
