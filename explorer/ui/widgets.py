"""Reusable widgets: forms generated from config fields, the sidebar, image mosaics."""
from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.config import Config
from explorer.plots import mosaic
from explorer.ui import cache, state


def config_form(config_cls: type[Config], defaults: Config, key: str) -> dict:
    """One widget per config field, with its bounds and help; returns the chosen values."""
    values = {}
    for spec in config_cls.field_specs():
        default, widget_key = getattr(defaults, spec.name), f"{key}.{spec.name}"
        label = spec.name.replace("_", " ")
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
    """Dataset choice and the current model's summary, on every page."""
    with st.sidebar:
        names = [s.name for s in cache.dataset_statuses()] + list(st.session_state.uploads)
        available = {s.name: s.available for s in cache.dataset_statuses()}
        if st.session_state.dataset not in names:
            names.append(st.session_state.dataset)
        st.selectbox("Dataset", names, key="dataset", on_change=state.switch_dataset,
                     format_func=lambda n: n if available.get(n, True) else f"{n} (not installed)")
        model = state.current()
        if model is None:
            st.info("No model yet: load, upload or train one on the **Model** page.")
            return
        st.markdown(f"**Model:** `{model.variant}` · code {model.model.latent_dim}  \n*{model.origin}*")
        try:
            errors = cache.errors_against_pca(model.key, model.model, state.dataset())
        except Exception as error:  # an unreadable dataset is reported on the page itself
            st.caption(str(error))
            return
        colour = "green" if errors["ratio_to_pca"] < 1 else "red"
        st.markdown(f"Test error **{errors['test_sq_err_per_image']:.2f}** per image  \n"
                    f":{colour}[{errors['ratio_to_pca']:.2f}× PCA-{model.model.latent_dim} "
                    f"({errors['pca_sq_err_per_image']:.2f})]")
        if model.model.side_information:
            st.caption(f"Reconstructs with {model.model.side_information} as well as the code, "
                       "so this is not a same-size comparison with PCA.")
