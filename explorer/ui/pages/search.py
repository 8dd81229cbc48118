"""Search: the training images nearest to a query, by the model's code and by raw pixels."""
import streamlit as st

from explorer.ui import query, side_jobs, state
from explorer.ui import search_panels as panels

st.title("Search")
current = side_jobs.need_model("Search")
if current is not None:
    dataset = state.dataset()
    st.caption("A query image is encoded and compared with the codes of every training image; beside it, "
               "the same search on raw pixels. Precision@k: the fraction of the k found images of the "
               "query's class." + (" This model is given the class, so its code holds the style: code "
                                   "neighbours share the style more than the class." if current.model.conditional
                                   else ""))
    left, right = st.columns([1, 2])
    with left:
        q = panels.pick_query(current, dataset)
        label = panels.ask_label(current, dataset, q) if q is not None else None
        if q is not None:
            shape = " x ".join(map(str, q.image.shape))
            query.preview(q.image, f"{q.description}, as the model sees it ({shape})")
    with right:
        metric, k = panels.metric_and_k()
    if q is not None:
        code_average = pixel_average = None
        if dataset.y_train is not None:
            code_matches, pixel_matches = panels.test_matches(current, dataset, metric)
            code_average = panels.average_precision(code_matches, k)
            pixel_average = panels.average_precision(pixel_matches, k)
        panels.result_row(f"By code ({metric}, {current.model.latent_dim}-D)", dataset,
                          panels.by_code(current, dataset, q, label, metric, k, q.train_index), label,
                          code_average, "codes")
        panels.result_row(f"By pixels ({metric})", dataset, panels.by_pixels(dataset, q, metric, k, q.train_index),
                          label, pixel_average, "pixels")
        st.caption(f"Under each image: its class and distance. Test averages over "
                   f"{min(len(dataset.x_test), panels.AVERAGE_QUERIES)} test images. "
                   "**search** makes that training image the query.")
        if dataset.y_train is not None:  # after the results are out: the other distance's averages, so
            for other in panels.METRICS:   # switching to it answers from the cache (~1 s of pixel search)
                panels.test_matches(current, dataset, other)
