"""Model: pick a dataset and a variant, then load, upload or train a model."""
import streamlit as st

from explorer import metrics
from explorer.registry import get_variant, list_variants
from explorer.ui import cache, lesson, model_panels, replay_panels, state

st.title("Model")
missing = state.missing_dataset()
if missing is not None:
    st.warning(f"**{missing.name}** is not installed here. {missing.hint}")
    model_panels.gallery_without_data(missing)

with st.expander("Use your own data (.npz, a .zip of images, or an IDX pair)"):
    model_panels.data_upload()

names = [spec.name for spec in list_variants()]
st.selectbox("Variant", names, index=names.index(state.variant()), **state.box("variant"),
             help="Picking a variant loads its shipped model for this dataset, when there is one.")
spec = get_variant(state.variant())
st.markdown(f"{spec.description}  \n*{spec.paper}*")

if missing is None:
    model_panels.none_loaded(spec.name)
    if (current := state.current()) is not None:   # the sidebar's figures, read as the page's lesson
        errors = cache.errors_against_pca(current.key, current.model, state.dataset())
        lesson.notice(metrics.errors_notice(errors, current.variant, current.model.latent_dim))
    pretrained, train, step, upload_ckpt = st.tabs(["Load pretrained", "Train", "Step through training",
                                                    "Upload a checkpoint"])
    with pretrained:
        model_panels.pretrained_tab(spec.name)
    with train:
        model_panels.train_tab(spec.name)
    with step:
        replay_panels.step_tab(spec.name)
    with upload_ckpt:
        model_panels.upload_tab()
    model_panels.training_view()
    model_panels.result_view()
    replay_panels.replay_view()
