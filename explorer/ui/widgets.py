"""Reusable widgets: forms generated from config fields, the sidebar, image mosaics."""
from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.config import Config
from explorer.errors import ExplorerError
from explorer.plots import mosaic
from explorer.ui import cache, state


def config_form(config_cls: type[Config], defaults: Config, key: str) -> dict:
    """One widget per config field, with its bounds and help; returns the chosen values."""
    values = {}
    for spec in config_cls.field_specs():
        default, widget_key, label = getattr(defaults, spec.name), f"{key}.{spec.name}", spec.label
        if spec.choices:
            values[spec.name] = st.selectbox(label, spec.choices, index=spec.choices.index(default),
                                             help=spec.help, key=widget_key)
        elif spec.type is bool:
            values[spec.name] = st.checkbox(label, value=default, help=spec.help, key=widget_key)
        elif spec.type in (int, float):
            values[spec.name] = st.number_input(
                label, value=default, help=spec.help, key=widget_key,
                min_value=spec.type(spec.min) if spec.min is not None else None,
                max_value=spec.type(spec.max) if spec.max is not None else None,
                format="%g" if spec.type is float else "%d", step=None if spec.type is float else 1)
        else:
            values[spec.name] = st.text_input(label, value=default, help=spec.help, key=widget_key)
    return values


def show_images(images: np.ndarray, n_cols: int, caption: str | None = None, width: int | None = None) -> None:
    """A mosaic of (N, C, H, W) images, upscaled so 8x8 digits stay crisp."""
    scale = max(1, 96 // images.shape[-1])
    st.image(mosaic(images, n_cols, scale=scale, gap=1), caption=caption, width=width or "content",
             output_format="PNG")  # JPEG blurs 8x8 digits


def sidebar() -> None:
    """Dataset choice, the current model's summary and the data folder, on every page."""
    with st.sidebar:
        _dataset_box()
        _model_summary()
        with st.expander("Data folder"):
            st.text_input("Folder with IDX files", value=state.data_dir() or "", key="data_dir_input",
                          on_change=lambda: state.set_data_dir(st.session_state.data_dir_input),
                          help="Fashion-MNIST and MNIST are read from their four official IDX files: name a folder "
                               "on the machine running this app that holds them, or holds fashion-mnist/ or mnist/ "
                               "folders of them. It is searched before /usr/share/datasets and the download cache.")


def _dataset_box() -> None:
    statuses = state.dataset_statuses()
    names, available = [s.name for s in statuses], {s.name: s.available for s in statuses}
    st.selectbox("Dataset", names, index=names.index(state.dataset_name()), **state.box("dataset"),
                 format_func=lambda n: n if available[n] else f"{n} (not installed)")


def _model_summary() -> None:
    model = state.current()
    if model is None:
        st.info(f"No `{state.variant()}` model is loaded for {state.dataset_name()}: load, upload or train one "
                "on the **Model** page.")
        return
    st.markdown(f"**Model:** `{model.variant}` · code {model.model.latent_dim}  \n*{model.origin}*")
    missing = state.missing_dataset()
    if missing is not None:
        st.caption(f"{missing.name} is not installed here, so it cannot be measured.")
        return
    try:
        errors = cache.errors_against_pca(model.key, model.model, state.dataset())
    except ExplorerError as error:  # an unreadable dataset is reported on the page itself
        st.caption(str(error))
        return
    colour = "green" if errors["ratio_to_pca"] < 1 else "red"
    st.markdown(f"Test error **{errors['test_sq_err_per_image']:.2f}** per image  \n"
                f":{colour}[{errors['ratio_to_pca']:.2f}× PCA-{model.model.latent_dim} "
                f"({errors['pca_sq_err_per_image']:.2f})]",
                help="Squared error per test image, summed over its pixels: lower means closer copies. "
                     "×PCA divides it by the error of PCA with as many components as the code has numbers; "
                     "below 1 the autoencoder beats that linear baseline.")
    if model.model.side_information:
        st.caption(f"Reconstructs with {model.model.side_information} as well as the code, "
                   "so this is not a same-size comparison with PCA.")


def messages() -> None:
    """What was opened instead of what the URL asked for (until the next switch), and the outcome of the
    last action (once)."""
    for kind, text in state.notices() + state.pop_flashes():
        getattr(st, kind)(text)
