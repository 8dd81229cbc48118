"""The parts of the Anomaly page: test errors and the threshold, the worst images, and the
held-out-class experiment (train here in the background, or upload such a checkpoint)."""
from __future__ import annotations

import numpy as np
import streamlit as st

from explorer import anomaly
from explorer.checkpoint import load_zip
from explorer.errors import ExplorerError
from explorer.plots import histograms, paired_rows, roc_curves
from explorer.ui import cache, lesson, side_jobs, state, widgets

MAX_SHOWN = 32
PER_ROW = 16


@st.cache_data(show_spinner="Measuring every test image's reconstruction error…", max_entries=32)
def per_image_errors(model_key: str, _model, _dataset) -> np.ndarray:
    """(N_test,) squared error per image."""
    return _model.reconstruction_errors(_dataset.x_test, _dataset.y_test)


@st.cache_data(show_spinner="Scoring the held-out class…", max_entries=16)
def holdout(model_key: str, fingerprint: str, label: int, _model, _dataset) -> anomaly.HoldoutResult:
    return anomaly.holdout_auc(_model, _dataset, label)


def _label(dataset, index: int) -> str:
    return dataset.class_names[dataset.y_test[index]] if dataset.y_test is not None else f"#{index}"


def pairs(dataset, reconstructions: np.ndarray, indices: np.ndarray, errors: np.ndarray, caption: str) -> None:
    """Originals over their reconstructions, 16 to a row pair, as one picture."""
    widgets.show_images(paired_rows(dataset.x_test[indices], reconstructions[indices], PER_ROW),
                        min(PER_ROW, len(indices)))
    st.caption(caption + " · " + ", ".join(f"{_label(dataset, i)} ({errors[i]:.1f})" for i in indices[:16])
               + (" …" if len(indices) > 16 else ""))


def threshold_view(current: state.CurrentModel, dataset, errors: np.ndarray) -> anomaly.ThresholdSummary:
    """The threshold slider, its histogram and the images above it; returns what it flags."""
    low, high = float(errors.min()), float(errors.max())
    default = anomaly.default_threshold(errors)
    hist, controls = st.columns([3, 2])
    with controls:
        threshold = st.slider("Threshold (squared error)", low, high, lesson.setting("threshold", default, (low, high)),
                              step=(high - low) / 200 or 1.0, key=f"anomaly.threshold.{current.key}", format="%.2f")
        lesson.shows(threshold=round(threshold, 4))
        summary = anomaly.above_threshold(errors, threshold, dataset.y_test)
        st.metric("Images above the threshold", f"{summary.count} of {summary.out_of}",
                  f"{100 * summary.fraction:.1f}%", delta_color="off", delta_arrow="off")
        if summary.per_class:
            counts = sorted(summary.per_class.items(), key=lambda item: -item[1])
            st.markdown("By class: " + ", ".join(f"{dataset.class_names[c]} (**{n}**)" for c, n in counts))
    with hist:
        groups = {"test images": errors}
        st.plotly_chart(histograms(groups, "squared error per image", "Reconstruction error of every test image",
                                   threshold=threshold, height=300), key="anomaly.histogram")
    if summary.count:
        shown = summary.flagged[:MAX_SHOWN]
        pairs(dataset, cache.test_reconstructions(current.key, current.model, dataset), shown, errors,
              f"above the threshold, largest error first ({len(shown)} of {summary.count} shown; "
              "top: image, bottom: reconstruction)")
    return summary


def worst_view(current: state.CurrentModel, dataset, errors: np.ndarray) -> None:
    n = st.slider("How many", 4, MAX_SHOWN, 16, step=4, key="anomaly.n_worst")
    worst = anomaly.worst(errors, n)
    pairs(dataset, cache.test_reconstructions(current.key, current.model, dataset), worst, errors,
          "top: image, bottom: reconstruction; label (error)")


def _slot(current: state.CurrentModel, dataset, label: int) -> str:
    return f"holdout:{dataset.fingerprint[:16]}:{current.variant}:{current.model.latent_dim}:{label}"


def holdout_model(current: state.CurrentModel, dataset, label: int) -> state.CurrentModel | None:
    """A model of the current variant and size trained without class ``label``: trained on this
    page, or uploaded; offers both while there is none."""
    slot = _slot(current, dataset, label)
    found = side_jobs.result(slot)
    side_jobs.failure(slot)
    if found is not None or side_jobs.running(slot):
        side_jobs.show(slot, f"trained here without class {dataset.class_names[label]}")
        return found
    train, upload = st.columns(2)
    with train:
        config = current.model.config
        if hasattr(config, "epochs"):
            epochs = st.number_input("Epochs", 0, 10_000, int(config.epochs), key="anomaly.epochs",
                                     help="The current model's setting; fewer is quicker, and still shows the effect.")
            config = config.replace(epochs=int(epochs))
        if st.button(f"Train `{current.variant}` without {dataset.class_names[label]}", type="primary",
                     key="anomaly.train"):
            side_jobs.start(slot, anomaly.without_class(dataset, label), config)
            st.rerun()
    with upload:
        _upload(slot, dataset, label)
    return None


def _upload(slot: str, dataset, label: int) -> None:
    file = st.file_uploader("…or a checkpoint (.zip) trained without it", type=["zip"], key="anomaly.upload")
    if file is None:
        return
    try:
        checkpoint = load_zip(file.getvalue(), file.name)
        held_out = anomaly.held_out_class(dataset, checkpoint.dataset.get("fingerprint", ""))
        if held_out != label:
            raise ExplorerError(f"{file.name} was not trained on {dataset.name} without class "
                                f"{dataset.class_names[label]} (download one from this page after training)")
        reduced_name = anomaly.without_class(dataset, label).name
        side_jobs.set_result(slot, state.CurrentModel(checkpoint.model, reduced_name, f"uploaded {file.name}",
                                                      checkpoint.history))
        st.rerun()
    except ExplorerError as error:
        st.error(str(error))


def holdout_view(model: state.CurrentModel, dataset, label: int) -> None:
    result = holdout(model.key, dataset.fingerprint, label, model.model, dataset)
    name = dataset.class_names[label]
    k = model.model.latent_dim
    left, middle, right = st.columns([1, 2, 2])
    left.metric(f"ROC AUC, {model.variant}", f"{result.model_auc:.3f}", f"{result.model_auc - result.pca_auc:+.3f}",
                delta_description="against PCA")
    left.metric(f"ROC AUC, PCA-{k}", f"{result.pca_auc:.3f}")
    left.download_button("Download this model (.zip)", lambda: model.checkpoint_zip(anomaly.without_class(dataset, label)),
                         file_name=f"{dataset.name}-{model.variant}-{k}-without-{label}.zip",
                         mime="application/zip", key="anomaly.download")
    curves = {f"{model.variant} ({result.model_auc:.3f})": (result.model_roc.fpr, result.model_roc.tpr),
              f"PCA-{k} ({result.pca_auc:.3f})": (result.pca_roc.fpr, result.pca_roc.tpr)}
    middle.plotly_chart(roc_curves(curves, f"Class {name} as the anomaly"), key="anomaly.roc")
    groups = {f"class {name} (never seen)": result.model_errors[result.is_anomaly],
              "the other classes": result.model_errors[~result.is_anomaly]}
    right.plotly_chart(histograms(groups, "squared error per image", f"{model.variant}'s error"), key="anomaly.split")
