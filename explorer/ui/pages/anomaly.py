"""Anomaly: reconstruction error as a detector of the unusual, and of a class never seen in training."""
import streamlit as st

from explorer import anomaly
from explorer.ui import anomaly_panels as panels
from explorer.ui import lesson, side_jobs, state

st.title("Anomaly")
st.caption("An autoencoder reconstructs best what resembles its training images, so its reconstruction "
           "error is an anomaly score: the worst-reconstructed test images are the odd ones out.")
current = side_jobs.need_model("Anomaly", code="retrieval")
if current is not None:
    dataset = state.dataset()
    errors = panels.per_image_errors(current.key, current.model, dataset)
    notice = st.container()   # above the tabs, filled once the threshold is read
    threshold_tab, worst_tab, holdout_tab = st.tabs(["Threshold", "Worst reconstructed", "Held-out class"])
    with threshold_tab:
        summary = panels.threshold_view(current, dataset, errors)
    with worst_tab:
        panels.worst_view(current, dataset, errors)
    with notice:
        lesson.notice(anomaly.notice(summary, dataset.class_names if dataset.y_test is not None else None))
    with holdout_tab:
        if dataset.y_test is None:
            st.info(f"{dataset.name} has no labels, so no class can be held out. Pick a labelled dataset "
                    "(digits, fashion-mnist) in the sidebar.")
        else:
            st.markdown(f"Train `{current.variant}` (code {current.model.latent_dim}) on every class but one, "
                        "then score the test set by reconstruction error: how well does it single out the "
                        "class it never saw? PCA fitted on the same images is the baseline detector.")
            label = st.selectbox("Class to hold out", range(dataset.n_classes),
                                 format_func=lambda c: dataset.class_names[c], key="anomaly.class")
            held_out = panels.holdout_model(current, dataset, label)
            if held_out is not None:
                panels.holdout_view(held_out, dataset, label)
