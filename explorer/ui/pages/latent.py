"""Latent space: the test images mapped three ways (the model's codes, PCA and UMAP of the pixels),
scored, selectable, with new images placed on the fitted maps and 2-D codes decodable anywhere; a second
model's code map can sit beside the first, over the same test images."""
import streamlit as st

from explorer import maps as core_maps
from explorer.ui import beside, cache, lesson, maps, side_jobs, state
from explorer.ui import latent_panels as panels

st.title("Latent space")
current = side_jobs.need_model("Latent space", code=2)
if current is not None:
    dataset = state.dataset()
    st.caption("The same test images, mapped three ways and coloured by class: does the model's code "
               "separate the classes better than the pixels do?"
               + (" A conditional model is given the class, so its code holds the style, not the class."
                  if current.model.conditional else ""))
    if dataset.y_test is None:
        st.info("This dataset has no labels: the maps are not coloured and only trustworthiness is scored.")
    partner = beside.choose(current, dataset, "latent")
    method, n_points = panels.controls(current, dataset, partner.model.latent_dim if partner else None)
    shown, all_maps = maps.maps_for(current, dataset, method, n_points, partner)
    map_area = st.container()

    marks = [[] for _ in all_maps]
    new_tab, selected_tab, decode_tab, export_tab = st.tabs(["New image", "Selected images", "Decode a point",
                                                             "Export"])
    with new_tab:
        new = panels.new_image(current, dataset)
        if new is not None:
            for mark, position in zip(marks, panels.place(current, dataset, new, all_maps, partner)):
                mark.append(("new image", position, "star"))
    with selected_tab:
        panels.selection_view(current, dataset)
    with decode_tab:
        if current.model.latent_dim == 2:
            point = panels.decode_point(current, dataset, cache.codes(current.key, "test", current.model, dataset))
            marks[0].append(("decoded point", point, "x"))
        else:
            st.info(f"Decoding a point of the map needs a 2-D code; this `{current.variant}` has "
                    f"{current.model.latent_dim} dimensions (a point of a PCA or UMAP map is no code). "
                    "Train one with latent_dim = 2, or use the Traverse page.")
    with export_tab:
        panels.exports(current, dataset, all_maps, shown)
    with map_area:
        qualities = panels.map_row(all_maps, shown, dataset, marks, decodes=current.model.latent_dim == 2)
        lesson.notice(core_maps.notice([m.title for m in all_maps], qualities, len(shown.indices)))
