"""Search: the training images nearest to a query, by the model's code and by raw pixels; or the
items of an index folder (``python -m explorer index``) nearest to a query by its model's code."""
import streamlit as st

from explorer import robustness, search
from explorer.ui import index_panels, lesson, query, side_jobs, state
from explorer.ui import search_panels as panels

st.title("Search")
if index_panels.index_chosen():
    index_panels.index_search()
elif (current := side_jobs.need_model("Search", code="retrieval")) is not None:
    dataset = state.dataset()
    st.caption("A query image is encoded and compared with the codes of every training image; beside it, "
               "the same search on raw pixels. Precision@k: the fraction of the k found images of the "
               "query's class." + (" This model is given the class, so its code holds the style: code "
                                   "neighbours share the style more than the class." if current.model.conditional
                                   else ""))
    left, right = st.columns([1, 2])
    with right:
        metric, k = panels.metric_and_k()
        damage = panels.damage_choice()
    with left:
        q = panels.pick_query(current, dataset)
        label = panels.ask_label(current, dataset, q) if q is not None else None
        if q is not None:
            q = panels.damaged(q, damage)
            shape = " x ".join(map(str, q.image.shape))
            query.preview(q.image, f"{q.description}, as the model sees it ({shape})")
    if q is not None:
        rows = [row for row in (panels.code_row(current, dataset, q, label, metric, k, damage),
                                panels.pixel_row(dataset, q, label, metric, k, damage)) if row is not None]
        st.caption("Under each image: its class (✓ the query's, ✗ another, when the query's class is known) "
                   f"and its distance. Test averages over {min(len(dataset.x_test), search.TEST_QUERIES)} "
                   "test images" + (", damaged by the same noise at the same level" if damage else "")
                   + ". :material/search: under an image makes it the query.")
        if dataset.y_train is not None:  # after the results are drawn, for the distance on screen only
            averages = [row.add_average() for row in rows]
            if damage is None and len(rows) == 2:  # the clean lesson, told whichever way it goes
                lesson.notice(robustness.clean_reading(*averages, k, current.model.latent_dim))
            if damage is not None and len(rows) == 2:  # not when this distance is refused for the code
                panels.robustness_table(current, dataset, metric, k, damage)
