"""Pure functions returning figures and image mosaics; no Streamlit here."""
from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go

from explorer.losses import term_name


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


def paired_rows(originals: np.ndarray, reconstructions: np.ndarray, per_row: int) -> np.ndarray:
    """(N, C, H, W) images and their reconstructions laid out for :func:`mosaic` with ``per_row``
    columns: a row of originals over a row of their reconstructions (clipped to [0, 1]), repeated;
    blank (white) images fill the last row pair when there is more than one."""
    blank = np.ones((1, *originals.shape[1:]), np.float32)
    rows = []
    for start in range(0, len(originals), per_row):
        padding = [blank] * (per_row - len(originals[start:start + per_row])) if len(originals) > per_row else []
        rows += [originals[start:start + per_row], *padding,
                 np.clip(reconstructions[start:start + per_row], 0, 1), *padding]
    return np.concatenate(rows)


def loss_chart(history: list[dict]) -> go.Figure:
    """Two panels against epoch, as their scales differ by orders of magnitude (a summed cross-entropy
    of ~250 against a test error of ~10): the training loss terms on top, the validation and test errors
    below, a star on the epoch whose weights the model kept; stage boundaries as dotted lines. Terms are
    named in plain words (:data:`explorer.losses.TERM_NAMES`)."""
    from plotly.subplots import make_subplots
    errors = ("val_sq_err", "test_sq_err")
    terms = [k for k in (history[0] if history else {}) if k not in ("stage", "epoch", "seconds", "kept", *errors)]
    epochs = [r["epoch"] for r in history]
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.12,
                           subplot_titles=("Training loss (mean over the epoch's batches)",
                                           "Validation and test error (squared error per image)"))
    mode = "lines+markers" if len(epochs) <= 30 else "lines"  # a dot per epoch only while they stay apart
    for term in terms:
        figure.add_trace(go.Scatter(x=epochs, y=[r.get(term) for r in history], mode=mode,
                                    name=term_name(term)), row=1, col=1)
    for error, colour in zip(errors, ("#7f7f7f", "black")):
        if any(error in r for r in history):
            figure.add_trace(go.Scatter(x=epochs, y=[r.get(error) for r in history], mode=mode,
                                        name=term_name(error), line=dict(color=colour)), row=2, col=1)
    for kept in (r for r in history if r.get("kept") and "val_sq_err" in r):
        figure.add_trace(go.Scatter(x=[kept["epoch"]], y=[kept["val_sq_err"]], mode="markers",
                                    marker=dict(symbol="star", size=14, color="#d62728"),
                                    name=f"weights kept (epoch {kept['epoch']})"), row=2, col=1)
    for previous, record in zip(history, history[1:]):
        if record["stage"] != previous["stage"]:
            figure.add_vline(x=record["epoch"] - 0.5, line_dash="dot", annotation_text=record["stage"])
    # Whole epochs only: a 2-epoch run had ticks at 1.2, 1.4, ...
    figure.update_xaxes(title_text="epoch", row=2, col=1)
    figure.update_xaxes(dtick=max(1, round(len(epochs) / 8)), tick0=1)
    figure.update_yaxes(title_text="loss", row=1, col=1)
    figure.update_yaxes(title_text="error", row=2, col=1)
    # The legend hangs below the epoch axis's title (its top at -0.3 of the plot area), not over it.
    figure.update_layout(title="Training progress", height=440, margin=dict(l=10, r=10, t=70, b=10),
                         legend=dict(orientation="h", yanchor="top", y=-0.3))
    return figure


# The axes of each kind of 2-D map (explorer.projection's methods), for its axis titles.
MAP_AXES = {"raw": ("z0", "z1"), "pca": ("principal axis 1", "principal axis 2"),
            "umap": ("UMAP axis 1", "UMAP axis 2")}
# One colour per class, the same on every map and in the class key drawn once above them (tab10, then
# its lighter half, so 20 classes stay apart).
CLASS_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                 "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94",
                 "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5")


def class_name_of(class_names, label: int) -> str:
    return str(class_names[label]) if len(class_names) else str(label)


def latent_scatter(points: np.ndarray, labels: np.ndarray | None, class_names, title: str = "",
                   height: int = 420, axis_titles: tuple[str, str] = MAP_AXES["pca"],
                   legend: bool = True) -> go.Figure:
    """(N, 2) points coloured by label (:data:`CLASS_COLOURS`), drawn with WebGL. ``legend=False``
    leaves the class names to one :func:`class_key` over several maps: under a map a third of a
    projector's width wide, a legend of ten classes turns into a scroll box."""
    figure = go.Figure()
    if labels is None:
        figure.add_trace(go.Scattergl(x=points[:, 0], y=points[:, 1], mode="markers",
                                      marker=dict(size=5), customdata=np.arange(len(points)), name="images"))
    else:
        for label in np.unique(labels):
            mask = labels == label
            figure.add_trace(go.Scattergl(
                x=points[mask, 0], y=points[mask, 1], mode="markers",
                marker=dict(size=5, opacity=0.8, color=CLASS_COLOURS[int(label) % len(CLASS_COLOURS)]),
                customdata=np.flatnonzero(mask), name=class_name_of(class_names, int(label))))
    # The legend sits on the figure's bottom edge (container coordinates) and plotly shrinks the plot to make
    # room for it. Placed at y=-0.2 of the plot, it landed on the x-axis title when a window was resized
    # (the ten Fashion-MNIST names went from four rows to two, "Pullover" over "z0" at 1280 px).
    figure.update_layout(title=title, height=height, margin=dict(l=10, r=10, t=40, b=10),
                         xaxis_title=axis_titles[0], yaxis_title=axis_titles[1], showlegend=legend,
                         legend=dict(orientation="h", yref="container", y=0, yanchor="bottom",
                                     itemsizing="constant"))
    return figure


SELECTION_DIMMED = 0.15  # the other points' opacity while a selection is highlighted


def with_selection(figure: go.Figure, points: np.ndarray, labels: np.ndarray | None, rows: np.ndarray,
                   customdata: np.ndarray) -> go.Figure:
    """A copy of a :func:`latent_scatter` figure of the (N, 2) ``points`` with ``rows`` highlighted: the
    traces of points (those with customdata) dimmed to :data:`SELECTION_DIMMED`, the selected points drawn
    again on top in their class colour with a black ring (trace "selected", carrying ``customdata[rows]``).
    ``figure`` itself is left as it is (a cached one may be); no rows: ``figure``."""
    if len(rows) == 0:
        return figure
    spec = figure.to_dict()
    for trace in spec["data"]:
        if "customdata" in trace:
            trace["marker"] = {**trace.get("marker", {}), "opacity": SELECTION_DIMMED}
    colours = "#333333" if labels is None else [CLASS_COLOURS[int(k) % len(CLASS_COLOURS)] for k in labels[rows]]
    spec["data"].append(dict(type="scattergl", x=points[rows, 0], y=points[rows, 1], mode="markers", name="selected",
                             customdata=customdata[rows], showlegend=False,
                             marker=dict(size=9, color=colours, opacity=1.0, line=dict(color="black", width=1.5)),
                             hovertemplate="selected: test image %{customdata}<extra></extra>"))
    # Built from a validated figure, so not validated again here: plotly checks every one of 10,000 points
    # per trace (~0.1 s a map here) and st.plotly_chart validates what it is given once more anyway.
    return go.Figure(spec, _validate=False)


def class_key(labels: np.ndarray, class_names) -> str:
    """HTML: a dot in each class's map colour and its name, for the classes in ``labels``."""
    return " &nbsp; ".join(
        f'<span style="white-space: nowrap"><span style="color:{CLASS_COLOURS[int(label) % len(CLASS_COLOURS)]}">'
        f"●</span> {html.escape(class_name_of(class_names, int(label)))}</span>" for label in np.unique(labels))


def compare_bars(labels: list[str], ratios: list[float], precision: list[float | None],
                 pixel_precision: float | None, height: int = 380) -> go.Figure:
    """Two bar panels, one bar per model: test error over PCA's at the same code size (a line at 1:
    left of it beats PCA), and precision@10 of the codes (a dashed line at raw pixels')."""
    from plotly.subplots import make_subplots
    pixels = "" if pixel_precision is None else f" (dashed: pixels {pixel_precision:.2f})"
    figure = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04,
                           subplot_titles=("Test error ÷ PCA's (< 1 beats PCA)", f"P@10 of the codes{pixels}"))
    figure.add_trace(go.Bar(y=labels, x=ratios, orientation="h", name="error ÷ PCA", text=[f"{r:.2f}" for r in ratios],
                            marker_color=["#2ca02c" if r < 1 else "#d62728" for r in ratios]), row=1, col=1)
    figure.add_vline(x=1.0, line_dash="dot", line_color="grey", row=1, col=1)
    figure.add_trace(go.Bar(y=labels, x=[p if p is not None else 0.0 for p in precision], orientation="h",
                            text=[f"{p:.2f}" if p is not None else "n/a" for p in precision], name="P@10",
                            marker_color="#1f77b4"), row=1, col=2)
    if pixel_precision is not None:
        # Named in the panel's title: a note on the line sat on the top bar's label.
        figure.add_vline(x=pixel_precision, line_dash="dash", line_color="black", row=1, col=2)
    figure.update_xaxes(title_text="ratio", row=1, col=1)
    figure.update_xaxes(title_text="precision@10", range=[0, 1], row=1, col=2)
    figure.update_yaxes(title_text="model", autorange="reversed", row=1, col=1)
    figure.update_layout(title="Every model against PCA", height=height, showlegend=False,
                         margin=dict(l=10, r=10, t=70, b=10))
    return figure


# --- denoise, anomaly, rbm pages ----------------------------------------------------------------

def _small_layout(figure: go.Figure, x_title: str, y_title: str, height: int) -> go.Figure:
    """Axis titles, and the legend in rows between the title and the plot: below the plot a wrapped
    legend ran into the x axis's title in a narrow column."""
    figure.update_layout(xaxis_title=x_title, yaxis_title=y_title, height=height,
                         title=dict(y=0.98, yanchor="top"), margin=dict(l=10, r=10, t=90, b=10),
                         legend=dict(orientation="h", x=0, y=1.02, yanchor="bottom"))
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
