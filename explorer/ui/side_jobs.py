"""Helper models trained in the background from any page (the denoise page's plain AE, the anomaly
page's held-out-class model), and the offers a page makes when it does not apply.

Jobs are :class:`explorer.jobs.TrainingJob` s kept in this session's state under a slot name, so
they never mix with the Model page's job or with another session's; like it, they wait their turn
in the process's training pool, and say so.
"""
from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from explorer.errors import ExplorerError
from explorer.gallery import MAP_CODE, RETRIEVAL, retrieval_code, suits
from explorer.jobs import TrainingJob
from explorer.ui import cache, shell, state

# A queued job's place changes only when a training ends, seconds apart: its view polls this often, a
# quarter of the live view's rate, so a class of waiting students costs the server little.
QUEUE_POLL_S = 2.0


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


def start(slot: str, dataset, config, seed: int = 0) -> None:
    try:
        _jobs()[slot] = TrainingJob(dataset, config, seed=seed).start()
    except ExplorerError as error:
        st.error(str(error))


def show(slot: str, origin: str) -> None:
    """The slot's job: its place in the training queue while it waits, then progress and Stop while it
    runs; on finishing, its model becomes the result."""
    job = _jobs().get(slot)
    if job is not None and job.position is not None:
        queued_view(lambda: _jobs().get(slot), f"{slot}.stop")
    elif job is not None:
        _progress(slot, origin)


@st.fragment(run_every=QUEUE_POLL_S)
def queued_view(job_of: Callable[[], TrainingJob | None], key: str) -> None:
    """A queued job's place and its Cancel button, polled every ``QUEUE_POLL_S``; once the job leaves the
    queue (it trains, or was cancelled) the whole page reruns and draws what follows."""
    job = job_of()
    waiting = None if job is None else job.queue_text()
    if waiting is None:
        st.rerun(scope="app")
    st.info(f"`{job.variant}`: {waiting}", icon=":material/hourglass_top:")
    stop_button(job, key)


@st.fragment(run_every=0.5)
def _progress(slot: str, origin: str) -> None:
    job = _jobs().get(slot)
    if job is None:
        return
    if job.done:
        del _jobs()[slot]
        if job.snapshot.status in ("failed", "cancelled"):
            kind = "error" if job.snapshot.status == "failed" else "info"
            st.session_state[f"{slot}.message"] = (kind, job.snapshot.message)
        else:
            model = state.CurrentModel(job.model, job.dataset.name, origin, job.snapshot.history)
            set_result(slot, model)
            state.remember(model)  # offered on the Compare page when trained on the session's dataset
        st.rerun(scope="app")
    progress = job.snapshot.progress
    text = "starting…" if progress is None else f"{progress.stage}: epoch {progress.epoch}/{progress.total_epochs}"
    st.progress(0.0 if progress is None else progress.fraction, text=f"Training {job.variant}: {text}")
    stop_button(job, f"{slot}.stop")


def stop_button(job: TrainingJob, key: str) -> None:
    """Cancel while the job waits for a slot, Stop while it trains: both call ``job.stop``, on this
    session's own job (the only one it holds)."""
    if job.position is not None:
        st.button("Cancel", key=key, on_click=job.stop, help="Takes this training out of the queue.")
    else:
        st.button("Stop", key=key, on_click=job.stop, help="Keeps the model trained so far.")


def failure(slot: str) -> None:
    kind, message = st.session_state.pop(f"{slot}.message", (None, None))
    if message:
        getattr(st, kind)(message)


def offer_variants(reason: str, variants: list[str], key: str) -> None:
    """Say why the page does not apply, and a button per variant it does apply to (each loads that
    variant's shipped model, or names it with no model loaded, to be trained on the Model page)."""
    st.info(reason)
    columns = st.columns(min(len(variants), 6)) if variants else []
    for i, variant in enumerate(variants):
        columns[i % len(columns)].button(f"Use `{variant}`", key=f"{key}.use.{variant}",
                                         on_click=state.pick_variant, args=(variant,))


def need_data(page: str) -> bool:
    """Whether the session's dataset is here; if not, says how to get it and points to the Model page."""
    missing = state.missing_dataset()
    if missing is not None:
        st.warning(f"The {page} page shows {missing.name}'s images, and {missing.name} is not installed "
                   f"here. {missing.hint}")
        st.page_link(shell.page_file("model"), label="Pick another dataset on the Model page",
                     icon=":material/model_training:")
    return missing is None


def need_model(page: str, code: int | str | None = None) -> state.CurrentModel | None:
    """The current model, or a pointer to the Model page when there is none (or no data to show).

    ``code`` is the code size the page's lesson needs: a number, ``"retrieval"`` (the size the gallery
    ships for retrieval on this dataset) or None for any. When the model's code is not that, the page
    says why and offers the shipped models that suit, one click each; it still draws, with the warning above.
    """
    state.prefer_code(code)
    if not need_data(page):
        return None
    model = state.current()
    if model is None:
        st.info(f"The {page} page works on a model, and no `{state.variant()}` is loaded for "
                f"{state.dataset_name()}: load, upload or train one first.")
        st.page_link(shell.page_file("model"), label="Go to the Model page", icon=":material/model_training:")
    elif not suits(model.model.latent_dim, state.dataset_name(), model.variant, code):
        _offer_suiting(page, model, code)
    return model


def _offer_suiting(page: str, model: state.CurrentModel, code: int | str) -> None:
    size = model.model.latent_dim
    if code == RETRIEVAL:
        wanted = retrieval_code(state.dataset_name(), model.variant) or MAP_CODE + 1
        why = (f"The {page} page needs a code that keeps each image's details, and this `{model.variant}` keeps "
               f"only {size} number{'s' if size > 1 else ''} per image (the shipped models for "
               f"{state.dataset_name()} use {wanted}): what you see below is mostly the limit of so small a code.")
    else:
        wanted = code
        why = (f"The {page} page draws the code itself as a map, which takes a code of {code}; this "
               f"`{model.variant}` has {size} dimensions, so below you see them squeezed to {code} by PCA or UMAP.")
    offers = cache.suiting_pretrained(state.dataset_name(), model.variant, code)
    st.warning(why + ("" if offers else f" Nothing shipped suits: train one with code size {wanted} on the "
                                        "Model page."))
    columns = st.columns(min(len(offers), 6)) if offers else []
    for i, entry in enumerate(offers):
        columns[i % len(columns)].button(f"Switch to `{entry.variant}` code {entry.latent_dim}",
                                         key=f"need.{entry.key}", on_click=state.load_shipped, args=(entry,))
