"""Per-session state: the session's dataset, variant and current model (mirrored in the URL), the
uploads, the data folder, and the notices about them.

Everything here lives in ``st.session_state``, which Streamlit keeps per browser session, so two
sessions never see each other's models or training jobs. The model state lives under keys no widget
owns (``dataset``, ``variant``, ``current``): Streamlit forbids writing a widget's key once the widget
is drawn and drops it when a page does not draw the widget. The Dataset and Variant boxes are keyed
by :func:`box`, which changes with every switch, and change the model only through their
callbacks: a click on a box drawn for an earlier model (one the browser had not redrawn yet) is ignored.
"""
from __future__ import annotations

import dataclasses
import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from explorer.checkpoint import Checkpoint, checkpoint_files, dataset_record, zip_bytes
from explorer.data import DatasetStatus, ImageDataset, load_user_data
from explorer.data.user import IDX_IMAGES
from explorer.errors import CheckpointError, DataError, ExplorerError
from explorer.gallery import PretrainedEntry, pick_pretrained
from explorer.registry import list_variants
from explorer.ui import cache

DEFAULT_DATASET, DEFAULT_VARIANT = "digits", "deep_ae"
SESSION_MODELS_KEPT = 24


@dataclass
class CurrentModel:
    """The model every page works on."""
    model: object
    dataset_name: str
    origin: str                       # "pretrained …", "trained here", "uploaded …"
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


# --- reading the session ---------------------------------------------------------------------

def dataset_name() -> str:
    return st.session_state.dataset


def variant() -> str:
    return st.session_state.variant


def current() -> CurrentModel | None:
    """The model on screen: always of the session's dataset and variant, or None."""
    return st.session_state.get("current")


def data_dir() -> str | None:
    """The folder named under **Data folder** in the sidebar, searched first for IDX datasets."""
    return st.session_state.get("data_dir")


def uploads() -> dict[str, ImageDataset]:
    return st.session_state.setdefault("uploads", {})


def is_upload(name: str) -> bool:
    return name in uploads()


def dataset(name: str | None = None) -> ImageDataset:
    """The session's dataset, or the one called ``name`` (a named one from the shared cache, or an upload)."""
    name = name or dataset_name()
    return uploads()[name] if is_upload(name) else cache.named_dataset(name, data_dir())


def dataset_statuses() -> list[DatasetStatus]:
    """Every dataset this session can pick: the named ones (installed or not), then its uploads."""
    return cache.dataset_statuses(data_dir()) + [DatasetStatus(name, True, data.source, "")
                                                 for name, data in uploads().items()]


def missing_dataset(name: str | None = None) -> DatasetStatus | None:
    """The status of the session's dataset (or ``name``) when it is not installed here, else None."""
    status = next(s for s in dataset_statuses() if s.name == (name or dataset_name()))
    return None if status.available else status


def generation() -> int:
    """Counts the switches of this session's model: widgets keyed with it are drawn afresh for each model."""
    return st.session_state.get("generation", 0)


def box(name: str) -> dict:
    """``key``, ``on_change`` and ``args`` for the ``name`` box ("dataset" or "variant") of the model now
    on screen: a new key per switch, so the box is drawn afresh from the session's state."""
    key = f"{name}.{generation()}"
    return {"key": key, "on_change": chosen_in_box, "args": (name, key, generation())}


def notices() -> list[tuple[str, str]]:
    """(kind, text) of what was opened instead of what was asked for; kept until the next switch."""
    return st.session_state.get("notices", [])


def pop_flashes() -> list[tuple[str, str]]:
    """(kind, text) of the outcomes of the last action (a failed upload, a finished training), shown once."""
    return st.session_state.pop("flashes", [])


def flash(kind: str, text: str) -> None:
    st.session_state.setdefault("flashes", []).append((kind, text))


def job():
    """This session's Model-page training job, if one runs or waits to be collected."""
    return st.session_state.get("job")


def set_job(training_job) -> None:
    st.session_state.job = training_job


def session_models() -> list[CurrentModel]:
    """The models this session trained, loaded or uploaded (what the Compare page offers), oldest first."""
    return list(st.session_state.get("session_models", {}).values())


# --- what the page prefers -------------------------------------------------------------------

def prefer_code(code: int | str | None) -> None:
    """The code size the page being drawn wants (see :func:`explorer.gallery.suits`); a switch made
    from that page's widgets loads the shipped model of that size."""
    st.session_state.page_code = code


def wanted_code() -> int | str | None:
    """The page's wish, else the current model's size (a map stays a map, a larger code stays large)."""
    wish = st.session_state.get("page_code")
    model = current()
    return wish if wish is not None else (model.model.latent_dim if model is not None else None)


# --- the session's start and the URL ---------------------------------------------------------

def init_session() -> None:
    """Every run starts here. On a session's first run, open what the URL names (``?dataset=…&variant=…
    &code=…``), saying what was opened instead of any value that cannot be honoured."""
    if "dataset" in st.session_state:
        st.session_state.page_code = None  # the page sets it again while it draws
        return
    params, said = st.query_params, []
    name = params.get("dataset", DEFAULT_DATASET)
    if name not in {s.name for s in dataset_statuses()}:
        said.append(f"There is no dataset `{name}` here (an upload stays in the session that made it): "
                    f"opened {DEFAULT_DATASET} instead.")
        name = DEFAULT_DATASET
    chosen = params.get("variant", DEFAULT_VARIANT)
    if chosen not in {spec.name for spec in list_variants()}:
        said.append(f"There is no variant `{chosen}`: opened `{DEFAULT_VARIANT}` instead.")
        chosen = DEFAULT_VARIANT
    code = params.get("code")
    if code is not None and not code.isdigit():
        said.append(f"The code size `{code}` is not a whole number: ignored it.")
    wanted = int(code) if code is not None and code.isdigit() else None
    _set(name, chosen, None)
    entry = pick_pretrained(name, chosen, wanted)
    if entry is not None:
        load_shipped(entry)
    if wanted is not None and (entry is None or entry.latent_dim != wanted):
        instead = f"opened code {entry.latent_dim} instead" if entry else "none is shipped: train one on the Model page"
        said.append(f"No shipped `{chosen}` on {name} has code size {wanted}: {instead}.")
    st.session_state.notices = [("warning", text) for text in said]


def publish_query_params() -> None:
    """Keep ``?dataset=…&variant=…&code=…`` naming the model on screen, so a view can be bookmarked or
    shared (the code size picks among the shipped models of that variant)."""
    wanted = {"dataset": dataset_name(), "variant": variant()}
    model = current()
    if model is not None:
        wanted["code"] = str(model.model.latent_dim)
    if {k: st.query_params.get(k) for k in wanted} != wanted:
        st.query_params.update(wanted)
    if "code" not in wanted and "code" in st.query_params:
        del st.query_params["code"]


# --- switching: the only writers of dataset, variant and current --------------------------------

def _set(name: str, chosen: str, model: CurrentModel | None) -> None:
    st.session_state.update(dataset=name, variant=chosen, current=model, notices=[])
    st.session_state.generation = generation() + 1  # new boxes for the new model


def encode_in_background() -> None:
    """Start encoding the model on screen's splits (:mod:`explorer.codes`), once per model, so the
    pages visited next find its codes ready."""
    model = current()
    if model is not None and missing_dataset() is None:
        cache.split_codes(model.key, model.model, dataset())


def open_model(model: CurrentModel) -> None:
    """Make ``model`` the one on screen; the session's dataset and variant follow it."""
    _set(model.dataset_name, model.variant, model)
    remember(model)


def remember(model: CurrentModel) -> None:
    """Keep ``model`` in this session's list (what the Compare page offers), newest last, bounded."""
    kept = st.session_state.setdefault("session_models", {})
    kept.pop(model.key, None)
    kept[model.key] = model
    while len(kept) > SESSION_MODELS_KEPT:
        kept.pop(next(iter(kept)))


def load_shipped(entry: PretrainedEntry) -> bool:
    """Open a shipped model; a checkpoint that will not load is said once, and nothing changes."""
    try:
        checkpoint = cache.pretrained_checkpoint(str(entry.path))
    except ExplorerError as error:
        flash("error", str(error))
        return False
    open_model(CurrentModel(checkpoint.model, entry.dataset, f"pretrained {entry.label}", checkpoint.history,
                            key=entry.key))
    return True


def pick_variant(chosen: str, code: int | str | None = None, name: str | None = None) -> bool:
    """Open the shipped ``chosen`` at ``code`` (else at the size the page wants) on the session's dataset
    (or ``name``); without one, the session names ``chosen`` with no model loaded. Whether one is loaded."""
    name = name or dataset_name()
    entry = pick_pretrained(name, chosen, code if code is not None else wanted_code())
    if entry is not None and load_shipped(entry):
        return True
    _set(name, chosen, None)
    return False


def switch_dataset(name: str) -> None:
    """Go on with this session's latest model for ``name``, else with its shipped model of the session's
    variant, as a first visit to that dataset would."""
    kept = [m for m in session_models() if m.dataset_name == name]
    if kept:
        open_model(kept[-1])
        return
    pick_variant(variant(), wanted_code(), name)


def chosen_in_box(name: str, key: str, drawn_for: int) -> None:
    """The Dataset or Variant box's callback; a box drawn for an earlier model changes nothing."""
    if drawn_for != generation():
        return
    value = st.session_state[key]
    if name == "dataset" and value != dataset_name():
        switch_dataset(value)
    elif name == "variant" and value != variant():
        pick_variant(value)


def set_data_dir(folder: str) -> None:
    """Search ``folder`` first for IDX datasets ("" stops); a dataset found there gets its shipped model."""
    folder = folder.strip()
    if folder and not Path(folder).expanduser().is_dir():
        flash("error", f"`{folder}` is not a folder on the machine that runs this app; name a folder that holds "
                       "the four IDX files, or a fashion-mnist/ or mnist/ folder of them.")
        return
    st.session_state.data_dir = str(Path(folder).expanduser()) if folder else None
    if current() is None and missing_dataset() is None:
        pick_variant(variant())


# --- uploads ---------------------------------------------------------------------------------

def add_upload(files: list[tuple[str, bytes]]) -> None:
    """Read uploaded data (an .npz, a .zip of images, or an IDX images file with its labels file) and
    switch the session to it, as ``upload:<file name>``."""
    names = [Path(name).name for name, _ in files]
    images = [n for n in names if IDX_IMAGES.search(n)]
    if len(names) > 1 and len(images) != 1:
        raise DataError(f"{len(names)} files: upload one .npz or .zip, or one IDX images file with its "
                        "labels file")
    main = images[0] if images else names[0]
    with tempfile.TemporaryDirectory() as folder:
        for name, (_, data) in zip(names, files):
            (Path(folder) / name).write_bytes(data)
        try:
            uploaded = load_user_data(Path(folder) / main)
        except DataError as error:  # the message names the file, never the server's temporary folder
            raise DataError(str(error).replace(f"{folder}/", "")) from None
    uploaded = dataclasses.replace(uploaded, source=f"your upload {main}")
    uploads()[uploaded.name] = uploaded
    switch_dataset(uploaded.name)


def open_checkpoint(checkpoint: Checkpoint, filename: str) -> None:
    """Make an uploaded checkpoint current, on the dataset it was trained on (this session's upload of
    the same data, whatever its file name, or a named dataset)."""
    record, model = checkpoint.dataset, checkpoint.model
    same_data = [name for name, data in uploads().items() if data.fingerprint == record.get("fingerprint")]
    name = same_data[0] if same_data else record.get("name", "?")
    if not same_data and name not in {s.name for s in dataset_statuses()}:
        raise CheckpointError(f"{filename} was trained on {name}, which this session does not have: upload that "
                              "data under 'Use your own data' first, then the checkpoint")
    shape = None if missing_dataset(name) is not None else dataset(name).input_shape
    if shape is not None and shape != tuple(model.input_shape):
        raise CheckpointError(f"{filename} expects images of shape {tuple(model.input_shape)}, and {name} has "
                              f"{shape}")
    open_model(CurrentModel(model, name, f"uploaded {filename}", checkpoint.history))
