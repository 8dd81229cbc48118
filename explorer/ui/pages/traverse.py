"""Traverse: move along each code dimension, see the manifold over two of them, interpolate two images."""
import streamlit as st

from explorer import traverse
from explorer.ui import cache, lesson, side_jobs, state
from explorer.ui import traverse_panels as panels

st.title("Traverse")
current = side_jobs.need_model("Traverse")
if current is not None:
    dataset, model = state.dataset(), current.model
    codes = cache.codes(current.key, "test", model, dataset)
    scores, score_name = panels.dimension_scores(current.key, model, dataset)
    order = traverse.informative_first(scores)
    low, high = traverse.slider_ranges(codes, model.gaussian_latent)
    st.caption(f"One slider per code dimension of `{current.variant}`, sorted by "
               + ("average KL to the prior over the test images (near 0: the decoder ignores it)"
                  if score_name == "KL" else "the variance of the test codes")
               + ". Ranges: the codes' 1st-99th percentile" + (", and at least ±3 prior standard deviations."
                                                                if model.gaussian_latent else "."))
    base, token, known = panels.start_point(current, dataset, codes)
    label = panels.generate_class(current, dataset, known)
    panels.slider_view(model, base, token, order, scores, score_name, low, high, label)
    lesson.notice(traverse.notice(scores, score_name))
    st.subheader("Generate")
    panels.generate_view(current, dataset, label)
    st.subheader("Manifold grid")
    panels.grid_view(model, dataset, base, order, low, high, label)
    st.subheader("Interpolation")
    panels.interpolation_view(model, dataset, codes, label)
