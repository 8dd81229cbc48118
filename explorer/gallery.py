"""The shipped pretrained models: ``pretrained/<dataset>/<variant>-<latent>/``."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from explorer.checkpoint import WEIGHTS

PRETRAINED_ROOT = Path(__file__).resolve().parents[1] / "pretrained"
FOLDER_NAME = re.compile(r"^(?P<variant>[a-z_]+)-(?P<latent>\d+)$")
KEY_PREFIX = "pretrained:"
MAP_CODE = 2              # a code small enough to plot as it is
RETRIEVAL = "retrieval"   # a wanted code size: as large as the gallery ships for retrieval


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
        match = FOLDER_NAME.match(folder.name)
        if match and (folder / WEIGHTS).is_file() and dataset in (None, folder.parent.name):
            entries.append(PretrainedEntry(folder.parent.name, match["variant"], int(match["latent"]), folder))
    return sorted(entries, key=lambda e: (e.dataset, e.variant, e.latent_dim))


def find_pretrained(dataset: str, variant: str, latent_dim: int | None = None,
                    root: Path = PRETRAINED_ROOT) -> PretrainedEntry | None:
    """The shipped model for ``variant`` on ``dataset`` (the given code size, else the smallest)."""
    matches = [e for e in list_pretrained(dataset, root) if e.variant == variant
               and latent_dim in (None, e.latent_dim)]
    return matches[0] if matches else None


def retrieval_code(dataset: str, variant: str, root: Path = PRETRAINED_ROOT) -> int | None:
    """The code size the gallery ships for retrieval on ``dataset``: ``variant``'s largest code above a
    map's, else the largest of any variant; None when ``dataset`` ships nothing above a map."""
    above_map = [e for e in list_pretrained(dataset, root) if e.latent_dim > MAP_CODE]
    sizes = [e.latent_dim for e in above_map if e.variant == variant] or [e.latent_dim for e in above_map]
    return max(sizes, default=None)


def suits(latent_dim: int, dataset: str, variant: str, code: int | str | None,
          root: Path = PRETRAINED_ROOT) -> bool:
    """Whether a ``latent_dim`` code is what a page that wants ``code`` (a size, :data:`RETRIEVAL` or None
    for any) should show: retrieval wants at least the gallery's retrieval size, and always more than a map."""
    if code is None:
        return True
    if code == RETRIEVAL:
        return latent_dim >= (retrieval_code(dataset, variant, root) or MAP_CODE + 1)
    return latent_dim == code


def pick_pretrained(dataset: str, variant: str, code: int | str | None = None,
                    root: Path = PRETRAINED_ROOT) -> PretrainedEntry | None:
    """The shipped ``variant`` on ``dataset`` nearest to a wanted ``code``: that size when shipped; else a
    map stays a map (the smallest code) and any larger size or :data:`RETRIEVAL` takes the largest."""
    target = retrieval_code(dataset, variant, root) if code == RETRIEVAL else code
    entries = [e for e in list_pretrained(dataset, root) if e.variant == variant]
    exact = [e for e in entries if e.latent_dim == target]
    nearest = entries[-1:] if target is not None and target > MAP_CODE else entries[:1]
    return (exact or nearest or [None])[0]


def suiting_pretrained(dataset: str, variant: str, code: int | str | None,
                       root: Path = PRETRAINED_ROOT) -> list[PretrainedEntry]:
    """The shipped models a page that wants ``code`` can switch to: ``variant``'s own when it suits,
    else one per other variant that suits."""
    variants = [variant] + sorted({e.variant for e in list_pretrained(dataset, root)} - {variant})
    picks = [pick_pretrained(dataset, name, code, root) for name in variants]
    fitting = [e for e in picks if e is not None and suits(e.latent_dim, dataset, e.variant, code, root)]
    return fitting[:1] if fitting and fitting[0].variant == variant else fitting


def folder_of_key(key: str, root: Path = PRETRAINED_ROOT) -> Path | None:
    """The folder of the shipped model a :attr:`PretrainedEntry.key` names; None for other models."""
    return Path(root) / key.removeprefix(KEY_PREFIX) if key.startswith(KEY_PREFIX) else None


PIXEL_SEARCH = "pixel-search.json"  # per dataset: pixel search's test precisions (explorer.search)


def shipped_test_precision(key: str, fingerprint: str, metric: str, root: Path = PRETRAINED_ROOT) -> list[float] | None:
    """Test precision@1..MAX_K shipped for a model (its key, as :attr:`PretrainedEntry.key`) or for a
    dataset's pixels (``pixels:<dataset name>``) under ``metric``, when measured on the data with this
    fingerprint; else None, and the page measures it."""
    if key.startswith("pixels:"):
        path = Path(root) / key.removeprefix("pixels:") / PIXEL_SEARCH
        shipped = json.loads(path.read_text()) if path.is_file() else {}
        shipped = shipped if shipped.get("fingerprint") == fingerprint else {}
    else:
        folder = folder_of_key(key, root)
        shipped = (card_metrics(folder, fingerprint) if folder is not None else None) or {}
    return shipped.get("test_precision", {}).get(metric)


def card_metrics(folder: Path, fingerprint: str) -> dict | None:
    """The ``eval --json`` metrics on a shipped model's card, when they were measured on the dataset
    with this fingerprint (after the float16 round trip, so they are what loading it gives); else None."""
    card = folder / "card.json"
    metrics = json.loads(card.read_text()).get("metrics", {}) if card.is_file() else {}
    return metrics if metrics.get("fingerprint") == fingerprint else None
