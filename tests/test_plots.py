"""Pure figure and layout functions: what the pages draw, checked without Streamlit."""
from __future__ import annotations

import numpy as np

from explorer.plots import compare_bars, loss_chart, paired_rows


def test_paired_rows_put_each_original_over_its_reconstruction_and_pad_the_last_row():
    originals = np.arange(5, dtype=np.float32).reshape(5, 1, 1, 1) / 10
    reconstructions = originals + 2.0  # clipped to 1
    laid_out = paired_rows(originals, reconstructions, per_row=3)[:, 0, 0, 0]
    assert np.allclose(laid_out, [0.0, 0.1, 0.2, 1, 1, 1, 0.3, 0.4, 1, 1, 1, 1])
    assert paired_rows(originals[:2], reconstructions[:2], per_row=3).shape[0] == 4  # one short row: no padding


def test_loss_chart_keeps_loss_terms_and_test_error_on_separate_axes_with_plain_names():
    history = [{"stage": "train", "epoch": e, "recon": 250.0 - e, "kl": 10.0, "test_sq_err": 12.0 - e, "seconds": 1}
               for e in (1, 2)]
    figure = loss_chart(history)
    axes = {trace.name: trace.yaxis for trace in figure.data}
    assert axes == {"reconstruction": "y", "KL to the prior": "y", "test error": "y2"}
    assert figure.layout.title.text and figure.layout.xaxis2.title.text == "epoch"


def test_compare_bars_colour_models_by_whether_they_beat_pca():
    figure = compare_bars(["a", "b"], [0.5, 1.2], [0.8, None], 0.7)
    ratio, precision = figure.data
    assert list(ratio.marker.color) == ["#2ca02c", "#d62728"] and list(precision.x) == [0.8, 0.0]
    assert list(precision.text) == ["0.80", "n/a"]


def test_maps_and_their_class_key_give_each_class_the_same_colour():
    from explorer.plots import CLASS_COLOURS, class_key, latent_scatter
    labels = np.array([2, 0, 2, 1])
    figure = latent_scatter(np.zeros((4, 2)), labels, ("a", "b", "c<d"), legend=False)
    assert [(t.name, t.marker.color) for t in figure.data] == [("a", CLASS_COLOURS[0]), ("b", CLASS_COLOURS[1]),
                                                                ("c<d", CLASS_COLOURS[2])]
    assert figure.layout.showlegend is False and figure.layout.xaxis.title.text
    key = class_key(labels, ("a", "b", "c<d"))
    assert key.index(CLASS_COLOURS[0]) < key.index(CLASS_COLOURS[1]) < key.index(CLASS_COLOURS[2])
    assert "c&lt;d" in key  # names are escaped
