"""The parts of the Model page: the three ways to get a model, the live training view, the result."""
from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.checkpoint import CONFIG, REPLAY, WEIGHTS, load_bytes, load_zip
from explorer.devices import PRECISIONS, available_devices, bf16_is_fast
from explorer.errors import CheckpointError, ExplorerError
from explorer.gallery import list_pretrained, pick_pretrained
from explorer.jobs import TrainingJob
from explorer.plots import latent_scatter, loss_chart
from explorer.recipes import config_for
from explorer.registry import get_variant
from explorer.ui import cache, side_jobs, state, widgets


def data_upload() -> None:
    """Own data, read by the core's rules whatever the file is called (an IDX file's official name has no
    extension to filter on); the button's callback switches the session before anything draws."""
    files = st.file_uploader("Data files", accept_multiple_files=True, key="data_upload",
                             help="An .npz with the images under x (and labels under y, if any), a .zip of PNG or "
                                  "JPEG images (class subfolders become labels), or an IDX images file such as "
                                  "train-images-idx3-ubyte together with its labels file.")
    st.button("Use this data", key="use_upload", disabled=not files, on_click=_use_upload, args=(files,))
    if state.is_upload(state.dataset_name()):
        st.caption(f"In use: {state.dataset().describe()}.")


def _use_upload(files: list) -> None:
    try:
        state.add_upload([(f.name, f.getvalue()) for f in files])
    except ExplorerError as error:
        state.flash("error", str(error))


def none_loaded(variant: str) -> None:
    """Says plainly when no model is on screen, and where to get one."""
    if state.current() is not None:
        return
    shipped = pick_pretrained(state.dataset_name(), variant) is not None
    st.info(f"No `{variant}` model is loaded for {state.dataset_name()}: "
            + ("load the shipped one under **Load pretrained**, or train one under **Train**." if shipped else
               "none is shipped for it, so train one under **Train**, or upload a checkpoint."))


def pretrained_tab(variant: str) -> None:
    entries = [e for e in list_pretrained(state.dataset_name()) if e.variant == variant]
    if not entries:
        st.info(f"No shipped `{variant}` for {state.dataset_name()}: train one, or pick another variant.")
        return
    model = state.current()
    loaded = next((e for e in entries if model is not None and e.key == model.key), None)
    shown = loaded or pick_pretrained(state.dataset_name(), variant, state.wanted_code())
    entry = st.selectbox("Shipped model", entries, index=entries.index(shown), format_func=lambda e: e.label,
                         key=f"pretrained_choice.{state.generation()}")  # a new box per model: it shows the loaded one
    card = entry.card
    if card:
        st.caption(f"`{entry.label}` was trained with `{card.get('command', '?')}` in "
                   f"{card.get('train_seconds', '?')} s on {card.get('device', '?')}.")
    st.button("Load pretrained", type="primary", key="load_pretrained", disabled=entry == loaded,
              on_click=state.load_shipped, args=(entry,),
              help="This one is on screen." if entry == loaded else None)


def gallery_without_data(status) -> None:
    """The shipped models of a dataset that is not installed, each with how to get the data."""
    entries = list_pretrained(status.name)
    if not entries:
        return
    st.markdown(f"**Shipped for {status.name}** (they load once the data is here):")
    lines = []
    for entry in entries:
        metrics = entry.card.get("metrics", {})
        error = (f"test error {metrics['test_sq_err_per_image']:.2f}, {metrics['ratio_to_pca']:.2f}× PCA"
                 if "ratio_to_pca" in metrics else "no card")
        lines.append(f"- `{entry.variant}` code {entry.latent_dim} ({error}): {status.hint}")
    st.markdown("\n".join(lines))


def upload_tab() -> None:
    files = st.file_uploader(f"A zipped checkpoint folder, or its {WEIGHTS} and {CONFIG} (and {REPLAY}, if there)",
                             type=["zip", "safetensors", "json"], accept_multiple_files=True, key="ckpt_upload")
    st.button("Load checkpoint", key="load_checkpoint", disabled=not files, on_click=_load_checkpoint, args=(files,))


def _load_checkpoint(files: list) -> None:
    by_name = {f.name: f.getvalue() for f in files}
    zips = [n for n in by_name if n.endswith(".zip")]
    try:
        if zips:
            checkpoint, filename = load_zip(by_name[zips[0]], zips[0]), zips[0]
        elif {WEIGHTS, CONFIG} <= set(by_name):
            checkpoint = load_bytes(by_name[WEIGHTS], by_name[CONFIG], WEIGHTS, replay=by_name.get(REPLAY))
            filename = WEIGHTS
        else:
            raise CheckpointError(f"upload a .zip, or both {WEIGHTS} and {CONFIG}")
        state.open_checkpoint(checkpoint, filename)
    except ExplorerError as error:
        state.flash("error", str(error))


def train_tab(variant: str) -> None:
    dataset = state.dataset()
    spec = get_variant(variant)
    model = state.current()
    # The same config pretrain and report use for this data, so training here reproduces the shipped
    # card; at the code size on screen, so the form trains what is shown again.
    defaults = config_for(variant, dataset.input_shape, len(dataset.x_train),
                          model.model.latent_dim if model is not None else None)
    with st.form(f"train_form_{variant}"):
        values = widgets.config_form(spec.config_cls, defaults, key=f"cfg.{variant}")
        devices = available_devices()
        device = st.selectbox("Device", devices, index=len(devices) - 1, key="train_device",
                              help="Where training runs: the processor (cpu), or a graphics card when this machine "
                                   "has one.")
        precision = st.radio("Precision", PRECISIONS, horizontal=True, key="train_precision",
                             help="bf16 autocasts matmuls to bfloat16: about 2x faster where the hardware has "
                                  f"it{' (this CPU does)' if bf16_is_fast('cpu') else ' (this CPU does not)'}, "
                                  "with weights kept in float32; fp32 is exact and reproducible.")
        seed = st.number_input("Seed", value=0, min_value=0, max_value=2**31 - 1, step=1, key="train_seed",
                               help="Fixes the random starting weights and batch order: the same seed trains the same "
                                    "model again.")
        submitted = st.form_submit_button("Train", type="primary", disabled=_job_running())
    if submitted and _job_running():  # a second press before the form redrew disabled: one job per session
        st.warning("Your training is already queued or running: stop it first to start another.")
    elif submitted:
        try:
            config = spec.config_cls(**values)
            state.set_job(TrainingJob(dataset, config, device=device, seed=int(seed),
                                      precision=precision).start())
        except ExplorerError as error:
            st.error(str(error))


def _job_running() -> bool:
    job = state.job()
    return job is not None and not job.done


def training_view() -> None:
    """This session's job: its place in the training queue while it waits, then the live view (polling
    twice a second); nothing when there is none, so an idle Model page never reruns by itself."""
    job = state.job()
    if job is not None and job.position is not None:
        side_jobs.queued_view(state.job, "stop_training")
    elif job is not None:
        _live_job()


@st.fragment(run_every=0.5)
def _live_job() -> None:
    """Polls this session's job; the worker thread itself never calls st.*."""
    job = state.job()
    if job is None:  # a poll the browser had queued before the job was collected
        return
    snap = job.snapshot
    if job.done:
        _collect(job)
        return
    progress = snap.progress
    if progress is not None:
        st.progress(progress.fraction, text=f"{progress.stage}: epoch {progress.epoch}/{progress.total_epochs}, "
                    f"batch {progress.batch}/{progress.n_batches} · {progress.samples_per_second:,.0f} img/s · "
                    f"{_eta(progress.seconds_left)} left")
    else:
        st.progress(0.0, text="starting…")
    side_jobs.stop_button(job, "stop_training")
    left, right = st.columns(2)
    loss, latent_map = _live_charts(job)
    if loss is not None:
        left.plotly_chart(loss, key="live_loss")
    if latent_map is not None:
        right.plotly_chart(latent_map, key="live_map")


def _live_charts(job: TrainingJob) -> tuple:
    """The loss chart and the live map, built once an epoch (when they change) rather than on each of the
    twice-a-second polls: building them took ~130 ms a poll, a classroom's worth of server time."""
    snap, built = job.snapshot, st.session_state.get("live_charts")
    epoch = (id(job), len(snap.history))
    if built is None or built[0] != epoch:
        loss = loss_chart(snap.history) if snap.history else None
        latent_map = None if snap.preview is None else latent_scatter(
            snap.preview, snap.preview_labels, job.dataset.class_names, "codes of 400 test images, this epoch",
            height=300)
        built = st.session_state["live_charts"] = (epoch, loss, latent_map)
    return built[1], built[2]


def _collect(job: TrainingJob) -> None:
    state.set_job(None)
    st.session_state.pop("live_charts", None)
    if job.snapshot.status == "failed":
        state.flash("error", job.snapshot.message)
    elif job.snapshot.status == "cancelled":
        state.flash("info", job.snapshot.message)
    else:
        state.open_model(state.CurrentModel(job.model, job.dataset.name, "trained here", job.snapshot.history))
        finished, message = job.snapshot.status == "finished", job.snapshot.message
        text = f"Training finished: {message}." if finished else message[:1].upper() + message[1:]
        state.flash("success" if finished else "warning", text if message else "Training finished.")
    st.rerun(scope="app")


def _eta(seconds: float) -> str:
    return "?" if not np.isfinite(seconds) else f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def result_view() -> None:
    model, dataset = state.current(), state.dataset()
    if model is None:
        return
    errors = cache.errors_against_pca(model.key, model.model, dataset)
    st.subheader(f"Test images and their reconstructions by `{model.variant}`")
    st.caption(f"Squared error per image {errors['test_sq_err_per_image']:.3f}; "
               f"PCA with {model.model.latent_dim} components: {errors['pca_sq_err_per_image']:.3f} "
               f"({errors['ratio_to_pca']:.2f}×).")
    count = 16
    reconstructions = cache.test_reconstructions(model.key, model.model, dataset)
    widgets.show_images(np.concatenate([dataset.x_test[:count], reconstructions[:count]]), count,
                        caption="top row: test images · bottom row: reconstructions")
    if model.history:
        st.plotly_chart(cache.shared_figure(("loss", model.key), lambda: loss_chart(model.history)), key="final_loss")
    # A callable: the zip (seconds of deflate for the larger models) is built on click, not every rerun.
    st.download_button("Download checkpoint (.zip)", lambda: model.checkpoint_zip(dataset),
                       file_name=f"{dataset.name}-{model.variant}-{model.model.latent_dim}.zip",
                       mime="application/zip", key="download_checkpoint")
