"""RBM: a restricted Boltzmann machine's filters, its Gibbs chains and the free energy it assigns."""
import streamlit as st

from explorer import boltzmann
from explorer.ui import lesson, side_jobs, state
from explorer.ui import rbm_panels as panels

st.title("RBM")
current = side_jobs.need_model("RBM")
layer = boltzmann.first_rbm_layer(current.model) if current is not None else None
if current is not None and layer is None:
    side_jobs.offer_variants(f"This page looks inside a restricted Boltzmann machine (its filters, Gibbs chains "
                             f"and free energy), and `{current.variant}` has none. It applies to "
                             f"{', '.join(f'`{v}`' for v in boltzmann.rbm_variants())}; a button below loads its "
                             "shipped model, or links to the Model page to train one where none is shipped.",
                             list(boltzmann.rbm_variants()), key="rbm")
elif layer is not None:
    dataset = state.dataset()
    which = "the RBM" if current.variant == "rbm" else (
        "its first RBM layer, the one that sees pixels. Its weights are also the encoder's first layer, which "
        "fine-tuning adjusts, so as an RBM it may differ from the one pretraining found")
    st.caption(f"`{current.variant}`: {which}; {layer.weight.shape[1]} visible and {layer.weight.shape[0]} "
               "hidden units.")
    filters_col, energy_col = st.columns([2, 3], gap="large")
    with filters_col:
        st.subheader("Filters")
        panels.filters_view(layer, dataset)
    with energy_col:
        st.subheader("Free energy")
        medians = panels.energy_view(current, layer, dataset)
    lesson.notice(boltzmann.notice(medians))
    st.subheader("Gibbs chain")
    panels.chain_view(current, layer, dataset)
