"""The Model page's training you can watch again and step: the replay of how the latent map organised
itself (a slider over the recorded epochs), and step mode (one batch, a few, or an epoch per click).

Both draw inside fragments, so moving the slider or clicking a step reruns only its own panel. The
numbers come from the core (:mod:`explorer.replay`, :mod:`explorer.stepping`); these functions render.
"""
from __future__ import annotations

import copy

import numpy as np
import streamlit as st

from explorer.errors import ExplorerError
from explorer.recipes import config_for
from explorer.replay import fixed_map, kept_epoch, replay_figure
from explorer.stepping import MAX_BATCHES_PER_CLICK, MAX_EPOCH_STEP_IMAGES, Stepper
from explorer.ui import cache, lesson, state, widgets

REPLAY_KEY = "replay.epoch"
STEPPER_KEY = "stepper"
STEP_ERROR_KEY = "stepper.error"
FEW_BATCHES = 10


def replay_view() -> None:
    """The current model's replay, when it carries one (trained here, or shipped with it)."""
    current = state.current()
    replay = None if current is None else getattr(current.model, "replay_", None)
    if replay is None:
        return
    st.subheader("How the map organised itself while it trained")
    st.caption(f"The codes of {replay.positions.shape[1]} test images after each epoch, coloured by class; "
               "move the slider to replay training. The axes stay fixed, so the map grows as it organises."
               + (" Larger codes: each epoch's two principal axes, turned to match the epoch before."
                  if current.model.latent_dim > 2 else ""))
    _replay_frame(current.key)


@st.fragment
def _replay_frame(model_key: str) -> None:
    current = state.current()
    if current is None or current.key != model_key:  # a fragment rerun after the model changed
        return
    replay, dataset, kept = current.model.replay_, state.dataset(), kept_epoch(current.history)
    epochs = [int(e) for e in replay.epochs]
    epoch = st.select_slider("Epoch", epochs, value=_slider_value(model_key, epochs, kept),
                             key=f"{REPLAY_KEY}.{model_key}",
                             help="0 is the map before training: the weights as they were drawn at random. The "
                                  "slider starts at the epoch whose weights the model kept (the best on the "
                                  "validation images).")
    lesson.shows(replay=epoch)
    index = replay.frame(epoch)
    left, right = st.columns([3, 1])
    with right:
        st.metric(f"Epoch (of {epochs[-1]})", epoch,  # the value alone: "136 of 200" is cut short at 1024 px
                  help=None if kept is None else f"The model kept epoch {kept}.")
        st.metric("Test error", f"{float(replay.test_error[index]):.2f}",
                  delta=None if index == 0 else f"{float(replay.test_error[index] - replay.test_error[0]):+.2f}",
                  delta_color="inverse", help="Squared error per test image; the arrow: its change since epoch 0.")
        zoom = st.toggle("Zoom in", key="replay.zoom",
                         help="Axes fitted to this epoch's map alone: an early map is a small cloud on the axes "
                              "of the whole run.")
    figure = cache.shared_figure(("replay", model_key, index, kept, zoom), lambda: replay_figure(
        replay, index, dataset.class_names, current.model.latent_dim, kept, zoom))  # a shipped model's: everyone's
    left.plotly_chart(figure, key="replay_map")


def _slider_value(model_key: str, epochs: list[int], kept: int | None) -> int:
    """The slider's epoch: the one already chosen for this model, else the lesson link's (``replay=12``: the
    last recorded epoch at or before it), else the kept one (the map the model has), else the last."""
    chosen = st.session_state.get(f"{REPLAY_KEY}.{model_key}")
    asked = lesson.setting("replay", None)
    linked = None if asked is None else epochs[max(0, sum(epoch <= asked for epoch in epochs) - 1)]
    return next(epoch for epoch in (chosen, linked, kept, epochs[-1]) if epoch in epochs)


def step_tab(variant: str) -> None:
    """Step mode for ``variant`` on the session's dataset: a fresh model, trained a click at a time."""
    st.caption("Train a fresh model one batch at a time and watch the map and the reconstructions change. "
               "It starts from the settings the **Train** form starts from, so its first steps are the first "
               "batches of that training. An epoch per click where an epoch is at most "
               f"{MAX_EPOCH_STEP_IMAGES:,} images; larger data steps by batches (up to {MAX_BATCHES_PER_CLICK} a "
               "click), as an epoch there takes tens of seconds.")
    _step_panel(variant)


@st.fragment
def _step_panel(variant: str) -> None:
    stepper = st.session_state.get(STEPPER_KEY)
    if (error := st.session_state.pop(STEP_ERROR_KEY, None)) is not None:
        st.error(error)
    if stepper is None or (stepper.variant, stepper.dataset.name) != (variant, state.dataset_name()):
        st.button("Start step mode", key="step_start", type="primary", on_click=_start, args=(variant,))
        return
    one, few, epoch = st.columns(3)
    one.button("Step 1 batch", key="step_batch", on_click=_step, args=(stepper.step_batch,))
    few.button(f"Step {FEW_BATCHES} batches", key="step_batches", on_click=_step,
               args=(lambda: stepper.step_batches(FEW_BATCHES),))
    epoch.button("Step 1 epoch", key="step_epoch", on_click=_step, args=(stepper.step_epoch,),
                 disabled=not stepper.epoch_fits_a_click,
                 help=None if stepper.epoch_fits_a_click else "An epoch of this data is too long for one click.")
    st.markdown(f"#### {stepper.status()}")
    points = stepper.map_positions()
    left, right = st.columns([3, 2])
    left.plotly_chart(fixed_map(points, stepper.map_y, stepper.dataset.class_names,
                                f"After {stepper.updates_said}", stepper.ranges, stepper.model.latent_dim),
                      key="step_map")
    images, reconstructions = stepper.reconstructions()
    with right:
        widgets.show_images(np.concatenate([images, reconstructions]), len(images),
                            caption="top: test images · bottom: their reconstructions now")
        st.button("Start over", key="step_restart", on_click=_start, args=(variant,))
        if st.button("Use this model", key="step_keep", disabled=not stepper.updates,
                     help="Make the model stepped so far the one every page shows (stepping goes on from here)."):
            _keep(stepper)
            st.rerun(scope="app")  # the sidebar and the result below show the model now on screen


def _start(variant: str) -> None:
    dataset, current = state.dataset(), state.current()
    code = current.model.latent_dim if current is not None and current.variant == variant else None
    config = config_for(variant, dataset.input_shape, len(dataset.x_train), code)
    try:
        st.session_state[STEPPER_KEY] = Stepper(dataset, config, seed=int(st.session_state.get("train_seed", 0)))
    except ExplorerError as error:
        st.session_state.pop(STEPPER_KEY, None)
        st.session_state[STEP_ERROR_KEY] = str(error)


def _step(action) -> None:
    try:
        action()
    except ExplorerError as error:
        st.session_state[STEP_ERROR_KEY] = str(error)


def _keep(stepper: Stepper) -> None:
    """A copy goes on screen: the pages cache by the weights it had when opened, and stepping goes on."""
    state.open_model(state.CurrentModel(copy.deepcopy(stepper.model).eval(), stepper.dataset.name,
                                        f"stepped here ({stepper.updates_said})", list(stepper.history)))
