"""Page interactions (issue 4's goal: after the first load, every interaction answers within 300 ms on
this 2-core CPU for digits and the Fashion-MNIST test set, training and a first UMAP fit apart).

Streamlit's AppTest runs ``app.py`` as the server does: one widget change, one rerun of the whole
script (sidebar, page, cached models, codes and maps). A row times that rerun, after a first load
of the page that fills the caches, opened from a shared URL on the shipped ``vae`` (its retrieval
code size: the traverse page's sliders, the search index and the maps of a code of more than two
dimensions). The browser adds the websocket round trip and drawing on top, tens of ms on localhost.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from benchmarks.common import Row, Sizes, median

APP = str(Path(__file__).resolve().parents[1] / "app.py")
GOAL_MS = 300
SECTION = "3 latency"


def _widget(at, kind: str, prefix: str):
    """The first widget of ``kind`` whose key starts with ``prefix`` (some keys carry a model hash)."""
    return next(w for w in getattr(at, kind) if w.key and w.key.startswith(prefix))


def _slide(kind: str, prefix: str) -> Callable:
    """Move a slider to the i-th of a few positions across its range."""
    def act(at, i: int):
        slider = _widget(at, kind, prefix)
        low, high = slider.min, slider.max
        value = low + (high - low) * ((i % 4) + 1) / 5
        slider.set_value(type(low)(value) if isinstance(low, int) else value)
    return act


def _number(prefix: str, values: tuple) -> Callable:
    return lambda at, i: _widget(at, "number_input", prefix).set_value(values[i % len(values)])


def _choose(kind: str, prefix: str) -> Callable:
    """Cycle a select box or radio through its options."""
    def act(at, i: int):
        widget = _widget(at, kind, prefix)
        widget.set_value(widget.options[(i + 1) % len(widget.options)])
    return act


def _text(prefix: str, values: tuple) -> Callable:
    return lambda at, i: _widget(at, "text_input", prefix).input(values[i % len(values)])


# (page, what the user does, the widget change)
INTERACTIONS: list[tuple[str, str, Callable]] = [
    ("traverse", "move a latent slider", _slide("slider", "traverse.")),
    ("traverse", "manifold grid size", _slide("slider", "traverse.grid_n")),
    ("traverse", "interpolation end image", _number("traverse.to", (5, 17, 42, 99))),
    ("latent", "code map PCA <-> UMAP (shipped maps)", _choose("radio", "latent.code_method")),
    ("latent", "select test images by index", _text("latent.indices", ("1, 2, 3", "10 20", "7", "4, 5, 6, 8"))),
    ("denoise", "noise level", _slide("slider", "denoise.level.")),
    ("denoise", "other test images", _number("denoise.first", (8, 16, 24, 0))),
    ("search", "query image", _number("search.test_index", (3, 11, 25, 40))),
    ("search", "number of results", _slide("slider", "search.k")),
    ("search", "distance", _choose("radio", "search.metric")),
    ("anomaly", "threshold", _slide("slider", "anomaly.threshold")),
    ("compare", "images shown", _slide("slider", "compare.n_images")),
    ("model", "variant picker", _choose("selectbox", "variant")),
]


def measure(dataset: str, code: int, repeats: int) -> list[dict]:
    """Per interaction: the first-load time of its page and the rerun times of ``repeats`` changes."""
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(APP, default_timeout=600)
    at.query_params.update({"dataset": dataset, "variant": "vae", "code": str(code)})
    at.run()
    out, page_loads = [], {}
    for page, what, act in INTERACTIONS:
        if page not in page_loads:
            start = time.perf_counter()
            at.switch_page(f"explorer/ui/pages/{page}.py").run()
            page_loads[page] = time.perf_counter() - start
        times = []
        for i in range(repeats):
            act(at, i)
            start = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - start)
            if at.exception:
                raise RuntimeError(f"{page}: {what}: {at.exception[0].value[:120]}")
        out.append({"page": page, "interaction": what, "first_load_s": page_loads[page],
                    "median_ms": median(times) * 1e3, "max_ms": max(times) * 1e3, "runs_ms": [t * 1e3 for t in times]})
    return out


def rows(sizes: Sizes, results: dict) -> list[Row]:
    from explorer.data import dataset_status
    from explorer.gallery import list_pretrained
    targets = [(name, max(e.latent_dim for e in list_pretrained(name) if e.variant == "vae"))
               for name in ("digits", "fashion-mnist") if dataset_status(name).available
               and any(e.variant == "vae" for e in list_pretrained(name))]
    if sizes.quick:
        targets = targets[:1]
    out = []
    for dataset, code in targets:
        measured = measure(dataset, code, repeats=2 if sizes.quick else 5)
        results.setdefault("interaction", {})[dataset] = measured
        for m in measured:
            out.append(Row(SECTION, f"{dataset} vae-{code} /{m['page']}: {m['interaction']}",
                           f"median {m['median_ms']:.0f} ms, max {m['max_ms']:.0f} ms",
                           f"AppTest rerun after one change; page's first load {m['first_load_s']:.1f} s", m))
    return out
