"""The parts of the Model page: the three ways to get a model, the live training view, the result."""
from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.checkpoint import load_bytes, load_zip
from explorer.devices import PRECISIONS, available_devices, bf16_is_fast
from explorer.errors import ExplorerError
from explorer.gallery import list_pretrained
from explorer.jobs import TrainingJob
from explorer.plots import latent_scatter, loss_chart
from explorer.registry import get_variant
from explorer.ui import cache, state, widgets


def pretrained_tab(variant: str) -> None:
    entries = [e for e in list_pretrained(st.session_state.dataset) if e.variant == variant]
    if not entries:
        st.info(f"No shipped `{variant}` for {st.session_state.dataset}: train one, or pick another variant.")
        return
    entry = st.selectbox("Shipped model", entries, format_func=lambda e: e.label, key="pretrained_choice")
    card = entry.card
    if card:
        st.caption(f"Trained with `{card.get('command', '?')}` in {card.get('train_seconds', '?')} s "
                   f"on {card.get('device', '?')}.")
    if st.button("Load pretrained", type="primary", key="load_pretrained"):
        state.try_load_pretrained(entry.latent_dim)
        st.rerun()


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
    files = st.file_uploader("A zipped checkpoint folder, or its model.safetensors and config.json",
                             type=["zip", "safetensors", "json"], accept_multiple_files=True, key="ckpt_upload")
    if not files or not st.button("Load checkpoint", key="load_checkpoint"):
        return
    try:
        by_name = {f.name: f.getvalue() for f in files}
        zips = [n for n in by_name if n.endswith(".zip")]
        if zips:
            checkpoint = load_zip(by_name[zips[0]], zips[0])
        elif {"model.safetensors", "config.json"} <= set(by_name):
            checkpoint = load_bytes(by_name["model.safetensors"], by_name["config.json"], "upload")
        else:
            raise ExplorerError("upload a .zip, or both model.safetensors and config.json")
        if checkpoint.dataset.get("name") != st.session_state.dataset:
            st.session_state.dataset = checkpoint.dataset["name"]
        state.set_current(state.CurrentModel(checkpoint.model, st.session_state.dataset, "uploaded",
                                             checkpoint.history))
        st.session_state.variant = checkpoint.variant
        st.rerun()
    except ExplorerError as error:
        st.error(str(error))


def train_tab(variant: str) -> None:
    dataset = state.dataset()
    spec = get_variant(variant)
    defaults = spec.config_cls()
    if hasattr(defaults, "scaled_to"):
        defaults = defaults.scaled_to(len(dataset.x_train))
    with st.form(f"train_form_{variant}"):
        values = widgets.config_form(spec.config_cls, defaults, key=f"cfg.{variant}")
        devices = available_devices()
        device = st.selectbox("Device", devices, index=len(devices) - 1, key="train_device")
        precision = st.radio("Precision", PRECISIONS, horizontal=True, key="train_precision",
                             help="bf16 autocasts matmuls to bfloat16: about 2x faster where the hardware has "
                                  f"it{' (this CPU does)' if bf16_is_fast('cpu') else ' (this CPU does not)'}, "
                                  "with weights kept in float32; fp32 is exact and reproducible.")
        seed = st.number_input("Seed", value=0, min_value=0, max_value=2**31 - 1, step=1, key="train_seed")
        submitted = st.form_submit_button("Train", type="primary", disabled=_job_running())
    if submitted:
        try:
            config = spec.config_cls(**values)
            st.session_state.job = TrainingJob(dataset, config, device=device, seed=int(seed),
                                               precision=precision).start()
        except ExplorerError as error:
            st.error(str(error))


def _job_running() -> bool:
    job = st.session_state.get("job")
    return job is not None and not job.done


@st.fragment(run_every=0.5)
def training_view() -> None:
    """Polls this session's job; the worker thread itself never calls st.*."""
    job = st.session_state.get("job")
    if job is None:
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
    st.button("Stop", key="stop_training", on_click=job.stop, help="Keeps the model trained so far.")
    left, right = st.columns(2)
    if snap.history:
        left.plotly_chart(loss_chart(snap.history), key="live_loss")
    if snap.preview is not None:
        right.plotly_chart(latent_scatter(snap.preview, snap.preview_labels, job.dataset.class_names,
                                          "codes of 400 test images, this epoch", height=300), key="live_map")


def _collect(job: TrainingJob) -> None:
    st.session_state.job = None
    if job.snapshot.status == "failed":
        st.session_state.job_message = ("error", job.snapshot.message)
    else:
        state.set_current(state.CurrentModel(job.model, job.dataset.name, "trained here", job.snapshot.history))
        st.session_state.job_message = ("warning" if job.snapshot.message else "success",
                                        job.snapshot.message or "Training finished.")
    st.rerun(scope="app")


def _eta(seconds: float) -> str:
    return "?" if not np.isfinite(seconds) else f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def result_view() -> None:
    model, dataset = state.current(), state.dataset()
    if model is None:
        return
    kind, message = st.session_state.pop("job_message", (None, None))
    if kind:
        getattr(st, kind)(message)
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
        st.plotly_chart(loss_chart(model.history), key="final_loss")
    # A callable: the zip (seconds of deflate for the larger models) is built on click, not every rerun.
    st.download_button("Download checkpoint (.zip)", lambda: model.checkpoint_zip(dataset),
                       file_name=f"{dataset.name}-{model.variant}-{model.model.latent_dim}.zip",
                       mime="application/zip", key="download_checkpoint")
