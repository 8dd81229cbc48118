"""Model: pick a dataset and a variant, then load, upload or train a model."""
import streamlit as st

from explorer.data import dataset_status
from explorer.errors import ExplorerError
from explorer.registry import list_variants
from explorer.ui import model_panels, state

st.title("Model")
status = dataset_status(st.session_state.dataset) if not st.session_state.dataset.startswith("upload:") else None
if status is not None and not status.available:
    st.warning(f"**{status.name}** is not installed here. {status.hint}")
    model_panels.gallery_without_data(status)

with st.expander("Use your own data (.npz, a .zip of images, or IDX)"):
    upload = st.file_uploader("Data file", type=["npz", "zip", "gz", "idx3-ubyte"], key="data_upload")
    if upload is not None and st.button("Use this data", key="use_upload"):
        try:
            st.session_state.dataset = state.add_upload(upload.name, upload.getvalue())
            st.rerun()
        except ExplorerError as error:
            st.error(str(error))

variants = [spec for spec in list_variants()]
names = [spec.name for spec in variants]
st.selectbox("Variant", names, key="variant")
spec = variants[names.index(st.session_state.variant)]
st.markdown(f"{spec.description}  \n*{spec.paper}*")

if status is None or status.available:
    pretrained, train, upload_ckpt = st.tabs(["Load pretrained", "Train", "Upload a checkpoint"])
    with pretrained:
        model_panels.pretrained_tab(spec.name)
    with train:
        model_panels.train_tab(spec.name)
    with upload_ckpt:
        model_panels.upload_tab()
    model_panels.training_view()
    model_panels.result_view()
