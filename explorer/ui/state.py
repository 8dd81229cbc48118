"""Per-session state: the chosen dataset and variant (mirrored in the URL) and the current model.

Everything here lives in ``st.session_state``, which Streamlit keeps per browser session, so two
sessions never see each other's models or training jobs.
"""
from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from explorer.checkpoint import checkpoint_files, dataset_record, zip_bytes
from explorer.data import ImageDataset, load_user_data
from explorer.errors import ExplorerError
from explorer.gallery import find_pretrained
from explorer.registry import list_variants
from explorer.ui import cache

DEFAULT_DATASET, DEFAULT_VARIANT = "digits", "deep_ae"


@dataclass
class CurrentModel:
    """The model every page works on."""
    model: object
    dataset_name: str
    origin: str                       # "pretrained", "trained here", "uploaded"
    history: list = field(default_factory=list)
    key: str = ""                     # identity for caches: same weights, same key

    def __post_init__(self):
        if not self.key:
            digest = hashlib.sha256()
            for name, tensor in self.model.state_dict().items():
                digest.update(name.encode())
                digest.update(tensor.detach().cpu().numpy().tobytes())
            self.key = f"{self.model.variant_name}-{digest.hexdigest()[:16]}"

    @property
    def variant(self) -> str:
        return self.model.variant_name

    def checkpoint_zip(self, dataset: ImageDataset) -> bytes:
        return zip_bytes(checkpoint_files(self.model, dataset_record(dataset), self.history))


def init_session() -> None:
    """First run of a session: restore dataset and variant from the URL, then load a shipped model."""
    if "dataset" in st.session_state:
        restore_variant()
        return
    params = st.query_params
    variants = {spec.name for spec in list_variants()}
    st.session_state.dataset = params.get("dataset", DEFAULT_DATASET)
    st.session_state.variant = params.get("variant") if params.get("variant") in variants else DEFAULT_VARIANT
    st.session_state.uploads = {}
    code = params.get("code", "")
    if not (code.isdigit() and try_load_pretrained(int(code))):
        try_load_pretrained()


def restore_variant() -> None:
    """Streamlit drops a widget's key when the user moves to a page that does not draw the widget
    (the Variant box is on the Model page only): restore it from the copy publish_query_params keeps."""
    if "variant" not in st.session_state:
        st.session_state.variant = st.session_state.get("kept_variant", DEFAULT_VARIANT)


def switch_dataset() -> None:
    """The Dataset box's callback: go on with this session's latest model for the new dataset, else
    with its shipped model of the chosen variant, as a first visit to that dataset would."""
    restore_variant()  # a callback runs before init_session, on any page
    if current() is not None:
        return
    kept = [m for m in st.session_state.get("session_models", {}).values()
            if m.dataset_name == st.session_state.dataset]
    if kept:
        set_current(kept[-1])
    else:
        try_load_pretrained()


def publish_query_params() -> None:
    """Keep ``?dataset=…&variant=…&code=…`` in the URL so a view can be bookmarked or shared (the
    code size picks among the shipped models of that variant)."""
    st.session_state.kept_variant = st.session_state.variant
    wanted = {"dataset": st.session_state.dataset, "variant": st.session_state.variant}
    model = current()
    if model is not None and model.variant == st.session_state.variant:
        wanted["code"] = str(model.model.latent_dim)
    if {k: st.query_params.get(k) for k in wanted} != wanted:
        st.query_params.update(wanted)
    if "code" not in wanted and "code" in st.query_params:
        del st.query_params["code"]


def dataset() -> ImageDataset:
    """The session's dataset (a named one from the shared cache, or this session's upload)."""
    name = st.session_state.dataset
    if name in st.session_state.uploads:
        return st.session_state.uploads[name]
    return cache.named_dataset(name, st.session_state.get("data_dir") or None)


def missing_dataset():
    """The status of the session's named dataset when it is not installed here (with its hint), else None."""
    name = st.session_state.dataset
    if name in st.session_state.uploads:
        return None
    status = next((s for s in cache.dataset_statuses(st.session_state.get("data_dir") or None) if s.name == name),
                  None)
    return status if status is not None and not status.available else None


def add_upload(filename: str, data: bytes) -> str:
    """Read an uploaded data file (kept under its own name so the dataset is 'upload:<name>')."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(filename).name
        path.write_bytes(data)
        uploaded = load_user_data(path)
    st.session_state.uploads[uploaded.name] = uploaded
    return uploaded.name


def current() -> CurrentModel | None:
    """The current model, if it was made for the session's dataset."""
    model = st.session_state.get("current")
    return model if model is not None and model.dataset_name == st.session_state.dataset else None


SESSION_MODELS_KEPT = 24


def set_current(model: CurrentModel) -> None:
    st.session_state.current = model
    remember(model)


def remember(model: CurrentModel) -> None:
    """Keep ``model`` in this session's list (what the Compare page offers), newest last, bounded."""
    kept = st.session_state.setdefault("session_models", {})
    kept.pop(model.key, None)
    kept[model.key] = model
    while len(kept) > SESSION_MODELS_KEPT:
        kept.pop(next(iter(kept)))


def try_load_pretrained(latent_dim: int | None = None) -> bool:
    """Make the shipped model for the session's dataset and variant current, if there is one."""
    entry = find_pretrained(st.session_state.dataset, st.session_state.variant, latent_dim)
    if entry is None:
        return False
    try:
        checkpoint = cache.pretrained_checkpoint(str(entry.path))
    except ExplorerError as error:
        st.error(str(error))
        return False
    set_current(CurrentModel(checkpoint.model, entry.dataset, f"pretrained {entry.label}", checkpoint.history,
                             key=entry.key))
    return True
