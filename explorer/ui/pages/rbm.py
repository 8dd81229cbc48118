"""RBM: a restricted Boltzmann machine's filters, its Gibbs chains and the free energy it assigns."""
import streamlit as st

from explorer.boltzmann import first_rbm_layer, rbm_variants
from explorer.ui import rbm_panels as panels
from explorer.ui import side_jobs, state

st.title("RBM")
current = side_jobs.need_model("RBM")
layer = first_rbm_layer(current.model) if current is not None else None
if current is not None and layer is None:
    side_jobs.offer_variants(f"This page looks inside a restricted Boltzmann machine; `{current.variant}` has "
                             "none. It applies to the RBM and to the deep belief net's first layer:",
                             list(rbm_variants()), key="rbm")
elif layer is not None:
    dataset = state.dataset()
    which = "its first RBM layer (the one that sees pixels)" if current.variant != "rbm" else "the RBM"
    st.caption(f"`{current.variant}`: {which}, {layer.weight.shape[1]} visible and {layer.weight.shape[0]} "
               "hidden units.")
    filters_tab, chain_tab, energy_tab = st.tabs(["Filters", "Gibbs chain", "Free energy"])
    with filters_tab:
        panels.filters_view(layer, dataset)
    with chain_tab:
        panels.chain_view(current, layer, dataset)
    with energy_tab:
        panels.energy_view(current, layer, dataset)
