"""Pure functions returning figures and image mosaics; no Streamlit here."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go


def mosaic(images: np.ndarray, n_cols: int, scale: int = 1, gap: int = 1) -> np.ndarray:
    """Tile (N, C, H, W) images in [0, 1] into one uint8 picture, nearest-neighbour upscaled by ``scale``.

    Returns (rows*(H+gap), cols*(W+gap)) for grey images or (..., 3) for RGB.
    """
    images = np.clip(np.asarray(images, np.float32), 0, 1)
    n, c, h, w = images.shape
    rows = max(1, -(-n // n_cols))
    canvas = np.ones((c, rows * (h + gap) - gap, n_cols * (w + gap) - gap), np.float32)
    for i, image in enumerate(images):
        r, col = divmod(i, n_cols)
        canvas[:, r * (h + gap):r * (h + gap) + h, col * (w + gap):col * (w + gap) + w] = image
    canvas = canvas.repeat(scale, 1).repeat(scale, 2)
    picture = (canvas * 255).round().astype(np.uint8)
    return picture[0] if c == 1 else picture.transpose(1, 2, 0)


def loss_chart(history: list[dict]) -> go.Figure:
    """One line per loss term and the test error, against epoch; stage boundaries as vertical lines."""
    figure = go.Figure()
    terms = [k for k in (history[0] if history else {}) if k not in ("stage", "epoch", "seconds")]
    epochs = [r["epoch"] for r in history]
    for term in terms:
        figure.add_trace(go.Scatter(x=epochs, y=[r.get(term) for r in history], mode="lines", name=term))
    for previous, record in zip(history, history[1:]):
        if record["stage"] != previous["stage"]:
            figure.add_vline(x=record["epoch"] - 0.5, line_dash="dot", annotation_text=record["stage"])
    figure.update_layout(xaxis_title="epoch", yaxis_title="per image", height=300,
                         margin=dict(l=10, r=10, t=30, b=10), legend=dict(orientation="h"))
    return figure


def latent_scatter(points: np.ndarray, labels: np.ndarray | None, class_names, title: str = "",
                   height: int = 420) -> go.Figure:
    """(N, 2) points coloured by label with class names in the legend."""
    figure = go.Figure()
    if labels is None:
        figure.add_trace(go.Scattergl(x=points[:, 0], y=points[:, 1], mode="markers",
                                      marker=dict(size=5), customdata=np.arange(len(points)), name="images"))
    else:
        for label in np.unique(labels):
            mask = labels == label
            figure.add_trace(go.Scattergl(
                x=points[mask, 0], y=points[mask, 1], mode="markers", marker=dict(size=5, opacity=0.8),
                customdata=np.flatnonzero(mask), name=str(class_names[label]) if len(class_names) else str(label)))
    figure.update_layout(title=title, height=height, margin=dict(l=10, r=10, t=40, b=10),
                         legend=dict(itemsizing="constant"))
    return figure


# --- denoise, anomaly, rbm pages ----------------------------------------------------------------

def _small_layout(figure: go.Figure, x_title: str, y_title: str, height: int) -> go.Figure:
    figure.update_layout(xaxis_title=x_title, yaxis_title=y_title, height=height,
                         margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.25))
    return figure


QUALITATIVE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")


def level_curves(levels: np.ndarray, curves: dict[str, np.ndarray], level_name: str, y_title: str = "PSNR (dB)",
                 title: str = "", marker_at: float | None = None, height: int = 340,
                 baselines: tuple[str, ...] = (), hidden: tuple[str, ...] = ()) -> go.Figure:
    """One line per method of a score against noise level (``baselines`` dashed grey, ``hidden`` only
    in the legend, so colours stay put when lines are switched off); a dotted line at the chosen level."""
    figure = go.Figure()
    palette = iter(QUALITATIVE)
    for name, values in curves.items():
        line = dict(color="grey", dash="dash") if name in baselines else dict(color=next(palette), width=3)
        figure.add_trace(go.Scatter(x=levels, y=values, mode="lines+markers", name=name, line=line,
                                    visible="legendonly" if name in hidden else True))
    if marker_at is not None:
        figure.add_vline(x=marker_at, line_dash="dot", line_color="grey")
    figure.update_layout(title=title)
    return _small_layout(figure, level_name, y_title, height)


def histograms(groups: dict[str, np.ndarray], x_title: str, title: str = "", threshold: float | None = None,
               height: int = 340, bins: int = 60) -> go.Figure:
    """Overlaid histograms of one score for a few groups, on shared bins; an optional threshold line."""
    values = np.concatenate([np.asarray(v, np.float64) for v in groups.values()])
    edges = np.histogram_bin_edges(values[np.isfinite(values)], bins=bins)
    figure = go.Figure()
    for name, group in groups.items():
        figure.add_trace(go.Histogram(x=group, name=name, opacity=0.65 if len(groups) > 1 else 1.0,
                                      xbins=dict(start=edges[0], end=edges[-1], size=edges[1] - edges[0])))
    figure.update_layout(barmode="overlay", title=title, showlegend=len(groups) > 1)
    if threshold is not None:
        figure.add_vline(x=threshold, line_dash="dash", line_color="crimson", annotation_text="threshold")
    return _small_layout(figure, x_title, "images", height)


def roc_curves(curves: dict[str, tuple[np.ndarray, np.ndarray]], title: str = "", height: int = 340) -> go.Figure:
    """ROC curves {name: (false positive rates, true positive rates)} with the chance diagonal."""
    figure = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(dash="dot", color="grey"),
                                  name="chance"))
    for name, (fpr, tpr) in curves.items():
        figure.add_trace(go.Scatter(x=fpr, y=tpr, mode="lines", name=name))
    figure.update_layout(title=title)
    return _small_layout(figure, "false positive rate", "true positive rate", height)
