"""Lesson links: a URL that locks a page to one model and a few settings, for a class to open
(``/denoise?dataset=fashion-mnist&variant=denoising_ae&code=30&noise=masking&level=0.25&lesson=1``).

The schema of every setting a link can carry, their bounds, one parser that turns the URL's strings into
values (an invalid value is said in one line and left to the page's default) and the link builder. The
model (``dataset``, ``variant``, ``code``) is read by :func:`explorer.ui.state.init_session`; this module
reads the rest. Like TensorFlow Playground's URL flags, a link both restores a view and hides its controls.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from explorer.gallery import FOLDER_NAME
from explorer.maps import code_methods
from explorer.noise import NOISE_TYPES
from explorer.search import MAX_K, METRICS

MODEL_PARAMS = ("dataset", "variant", "code")   # read by the session's start, written first in a link
SEED_MAX = 2**31 - 1
STEPS_MAX = 1000
CLASS_MAX = 999          # a class, a test image or a count of them: the page holds it inside its dataset's own
INDEX_MAX = 10**7
MAP_METHODS = code_methods(3)   # how a map of codes of more than 2 dimensions may be drawn
FLAGS = ("lesson", "presenter")
RBM_STARTS = ("test images", "noise")   # where the RBM page's Gibbs chains start


@dataclass(frozen=True)
class Param:
    """One setting a link can carry: how to read it from the URL's string, and the values it may take."""
    name: str
    read: Callable[[str], object]
    bounds: str                                   # said when a value is refused
    check: Callable[[object, dict], bool]         # (value, the page's settings read so far) -> allowed


def _whole(name: str, low: int, high: int) -> Param:
    return Param(name, int, f"a whole number from {low} to {high}", lambda v, _: low <= v <= high)


def _one_of(name: str, choices: tuple[str, ...]) -> Param:
    return Param(name, str, "one of " + ", ".join(choices), lambda v, _: v in choices)


def _level(name: str) -> Param:
    """A damage level inside the range of the link's damage (or the page's default damage)."""
    def inside(value: float, read: dict) -> bool:
        specs = [NOISE_TYPES[read["noise"]]] if "noise" in read else list(NOISE_TYPES.values())
        return any(spec.min_level <= value <= spec.max_level for spec in specs)   # false for nan
    return Param(name, float, "a number inside the damage's range (" + "; ".join(
        f"{n} {t.min_level:g} to {t.max_level:g}" for n, t in NOISE_TYPES.items()) + ")", inside)


def _at_least_zero(name: str) -> Param:
    return Param(name, float, "a number at least 0", lambda v, _: 0 <= v < float("inf"))


def _shipped_model(name: str) -> Param:
    """A shipped model of the link's dataset, as its folder names it (``aae-2``); the page checks it is there."""
    return Param(name, str, "a shipped model named variant-code, such as aae-2",
                 lambda v, _: bool(FOLDER_NAME.fullmatch(v)))


def _flag(name: str) -> Param:
    return Param(name, int, "0 or 1", lambda v, _: v in (0, 1))


# Per page (url path): its settings in the order a link writes them (a setting read after another may
# depend on it: the level on the damage).
PAGE_PARAMS: dict[str, tuple[Param, ...]] = {
    "model": (_whole("replay", 0, INDEX_MAX),),   # the replay's epoch (explorer.replay); the page snaps it to a frame
    "latent": (_one_of("map", MAP_METHODS), _whole("points", 1, INDEX_MAX), _shipped_model("beside")),
    "traverse": (_whole("image", 0, INDEX_MAX), _whole("seed", 0, SEED_MAX), _whole("class", 0, CLASS_MAX),
                 _shipped_model("beside")),
    "denoise": (_one_of("noise", tuple(NOISE_TYPES)), _level("level"), _whole("first", 0, INDEX_MAX)),
    "search": (_whole("image", 0, INDEX_MAX), _one_of("metric", METRICS), _whole("k", 1, MAX_K),
               _one_of("noise", tuple(NOISE_TYPES)), _level("level")),
    "anomaly": (_at_least_zero("threshold"),),
    "rbm": (_one_of("start", RBM_STARTS), _whole("seed", 0, SEED_MAX), _whole("steps", 1, STEPS_MAX)),
}
FLAG_PARAMS = tuple(_flag(name) for name in FLAGS)


@dataclass(frozen=True)
class Lesson:
    """What a page's URL asked for: its settings (only those given and valid), whether the controls are
    hidden (``lesson=1``) and whether fonts and images are enlarged (``presenter=1``)."""
    settings: dict
    locked: bool = False
    presenter: bool = False


def parse(page: str, params: Mapping[str, str]) -> tuple[Lesson, list[str]]:
    """The lesson ``params`` (the URL's query, strings) ask of ``page``, and one line per value refused
    (each refused value falls back to the page's default)."""
    read: dict = {}
    refused: list[str] = []
    for param in FLAG_PARAMS + PAGE_PARAMS.get(page, ()):
        if param.name not in params:
            continue
        text = params[param.name]
        try:
            value = param.read(text)
        except ValueError:
            value = None
        if value is None or not param.check(value, read):
            refused.append(f"The link's `{param.name}={text}` is not {param.bounds}: the page's default is used.")
            continue
        read[param.name] = value
    flags = {name: bool(read.pop(name, 0)) for name in FLAGS}
    return Lesson(read, flags["lesson"], flags["presenter"]), refused


def link(page: str, model: Mapping[str, object], settings: Mapping[str, object], base: str = "",
         presenter: bool = False) -> str:
    """The lesson link of a view: ``base/page?`` the model, the page's settings it has a schema for (in the
    schema's order, as given), ``presenter=1`` when on, and ``lesson=1``."""
    query = {name: model[name] for name in MODEL_PARAMS if model.get(name) is not None}
    query |= {p.name: _text(settings[p.name]) for p in PAGE_PARAMS.get(page, ()) if p.name in settings}
    query |= ({"presenter": 1} if presenter else {}) | {"lesson": 1}
    return f"{base.rstrip('/')}/{page}?{urlencode(query)}"


def _text(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
