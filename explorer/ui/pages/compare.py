"""Compare: every variant at the same code size, against PCA: the report table and the same test
images reconstructed by each (Hinton & Salakhutdinov 2006, Fig. 2)."""
from collections import Counter

import streamlit as st

from explorer import compare
from explorer.ui import compare_panels as panels
from explorer.ui import lesson, shell, side_jobs, state

st.title("Compare")
if not side_jobs.need_data("Compare"):
    st.stop()
dataset = state.dataset()
found = panels.entries(dataset)
if not found:
    st.info(f"No models for {dataset.name} yet: nothing is shipped for it and none was trained in this "
            "session. Train a few variants on the Model page; each appears here.")
    st.page_link(shell.page_file("model"), label="Go to the Model page", icon=":material/model_training:")
else:
    sizes = Counter(e.latent_dim for e in found)
    st.caption("Shipped models for this dataset (by variant name) and every model trained, loaded or uploaded "
               "in this session (with where it came from): "
               + ", ".join(f"{n} with code size {size}" for size, n in sorted(sizes.items())) + ".")
    k = panels.code_size(found)
    at_size = [e for e in found if e.latent_dim == k]
    labels = [e.label for e in at_size]
    # Pills wrap onto as many rows as they need; a multiselect's chips scroll out of sight at 1024 px.
    picked = st.pills("Models", labels, selection_mode="multi", default=labels, key=f"compare.models.{k}")
    chosen = [e for e in at_size if e.label in picked]
    notice = st.container()   # above the tabs, filled once the grid is drawn
    grid_tab, table_tab = st.tabs(["Reconstructions", "Table"])
    with grid_tab:
        st.caption(f"Rows: the test images, PCA with {k} components, then each model; numbers are the squared "
                   "error per image on these images.")
        rows = panels.grid(chosen, dataset, k)
    with notice:
        lesson.notice(compare.notice(rows, k))
    with table_tab:
        if st.toggle("Compute the table", value=len(dataset.x_train) <= 10_000, key="compare.table",
                     help="On large datasets the first computation takes a few seconds per model."):
            panels.table(chosen, dataset, k)
