"""Traverse: move along each code dimension, see the manifold over two of them, interpolate two images;
with a second model beside the current one, the same controls drive both."""
import streamlit as st

from explorer import pairing, traverse
from explorer.ui import beside, lesson, side_jobs, state
from explorer.ui import traverse_panels as panels

st.title("Traverse")
current = side_jobs.need_model("Traverse")
if current is not None:
    dataset, model = state.dataset(), current.model
    partner = beside.choose(current, dataset, "traverse")
    first = panels.side(current.key, f"`{current.variant}` (code {model.latent_dim})", model, dataset)
    st.caption(f"One slider per code dimension of `{current.variant}`, sorted by "
               + ("average KL to the prior over the test images (near 0: the decoder ignores it)"
                  if first.score_name == "KL" else "the variance of the test codes")
               + ". Ranges: the codes' 1st-99th percentile" + (", and at least ±3 prior standard deviations."
                                                                if model.gaussian_latent else "."))
    index, token, known = panels.start_point(current, dataset)
    sides = [first.at(index)]
    if partner is not None:
        sides.append(panels.side(partner.key, partner.label, partner.model, dataset).at(index))
        st.caption(pairing.describe(first.name, partner.label))
    label = panels.generate_class(sides, dataset, known)
    panels.slider_view(sides, token, label)
    lesson.notice(traverse.notice(first.scores, first.score_name))
    st.subheader("Generate")
    panels.generate_view(sides, dataset, label)
    st.subheader("Manifold grid")
    panels.grid_view(sides, dataset, label)
    st.subheader("Interpolation")
    panels.interpolation_view(sides, dataset, label)
