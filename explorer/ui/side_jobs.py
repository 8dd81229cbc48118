"""Helper models trained in the background from any page (the denoise page's plain AE, the anomaly
page's held-out-class model), and the offers a page makes when it does not apply.

Jobs are :class:`explorer.jobs.TrainingJob` s kept in this session's state under a slot name, so
they never mix with the Model page's job or with another session's.
"""
from __future__ import annotations

import streamlit as st

from explorer.errors import ExplorerError
from explorer.jobs import TrainingJob
from explorer.ui import shell, state


def _jobs() -> dict:
    return st.session_state.setdefault("side_jobs", {})


def _results() -> dict:
    return st.session_state.setdefault("side_results", {})


def result(slot: str) -> state.CurrentModel | None:
    return _results().get(slot)


def set_result(slot: str, model: state.CurrentModel) -> None:
    _results()[slot] = model


def running(slot: str) -> bool:
    return slot in _jobs()


def start(slot: str, variant: str, dataset, config, seed: int = 0) -> None:
    try:
        _jobs()[slot] = TrainingJob(variant, dataset, config, seed=seed).start()
    except ExplorerError as error:
        st.error(str(error))


def show(slot: str, origin: str) -> None:
    """Progress and Stop for the slot's job while it runs; on finishing, its model becomes the result."""
    if slot in _jobs():
        _progress(slot, origin)


@st.fragment(run_every=0.5)
def _progress(slot: str, origin: str) -> None:
    job = _jobs().get(slot)
    if job is None:
        return
    if job.done:
        del _jobs()[slot]
        if job.snapshot.status == "failed":
            st.session_state[f"{slot}.message"] = job.snapshot.message
        else:
            model = state.CurrentModel(job.model, job.dataset.name, origin, job.snapshot.history)
            set_result(slot, model)
            state.remember(model)  # offered on the Compare page when trained on the session's dataset
        st.rerun(scope="app")
    progress = job.snapshot.progress
    text = "starting…" if progress is None else f"{progress.stage}: epoch {progress.epoch}/{progress.total_epochs}"
    st.progress(0.0 if progress is None else progress.fraction, text=f"Training {job.variant}: {text}")
    st.button("Stop", key=f"{slot}.stop", on_click=job.stop, help="Keeps the model trained so far.")


def failure(slot: str) -> None:
    message = st.session_state.pop(f"{slot}.message", None)
    if message:
        st.error(message)


def use_variant(variant: str) -> None:
    """Make ``variant`` the session's variant: load its shipped model, else go and train one."""
    st.session_state.variant = variant
    if not state.try_load_pretrained():
        st.switch_page(shell.page_file("model"))
    st.rerun()


def offer_variants(reason: str, variants: list[str], key: str) -> None:
    """Say why the page does not apply, and a button per variant it does apply to."""
    st.info(reason)
    if not variants:
        return
    columns = st.columns(min(len(variants), 6))
    for i, variant in enumerate(variants):
        if columns[i % len(columns)].button(f"Use `{variant}`", key=f"{key}.use.{variant}"):
            use_variant(variant)


def need_data(page: str) -> bool:
    """Whether the session's dataset is here; if not, says how to get it and points to the Model page."""
    missing = state.missing_dataset()
    if missing is not None:
        st.warning(f"The {page} page shows {missing.name}'s images, and {missing.name} is not installed "
                   f"here. {missing.hint}")
        st.page_link(shell.page_file("model"), label="Pick another dataset on the Model page",
                     icon=":material/model_training:")
    return missing is None


def need_model(page: str) -> state.CurrentModel | None:
    """The current model, or a pointer to the Model page when there is none (or no data to show)."""
    if not need_data(page):
        return None
    model = state.current()
    if model is None:
        st.info(f"The {page} page works on a model: load, upload or train one first.")
        st.page_link(shell.page_file("model"), label="Go to the Model page", icon=":material/model_training:")
    return model
