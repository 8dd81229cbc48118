"""Replays: the recorder's frames are the model's codes at each epoch, bounded in size, aligned for larger
codes, and they travel with the checkpoint (folder, zip) unchanged."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from explorer.checkpoint import REPLAY, checkpoint_files, dataset_record, load, load_zip, save, zip_bytes
from explorer.plots import CLASS_COLOURS
from explorer.registry import build
from explorer.replay import (REPLAY_FRAMES, REPLAY_POINTS, AlignedMap, Replay, ReplayRecorder, kept_epoch,
                             replay_bytes, replay_figure, replay_rows, thinned)
from explorer.training import Callback, Trainer, seed_everything, train
from tests.conftest import make_image_dataset, tiny_config


class CodesEachEpoch(Callback):
    """The followed test images' codes before training and after every epoch, as the recorder sees them."""

    def __init__(self, x):
        self.x, self.codes = x, []

    def on_train_start(self, trainer):
        self.codes.append(trainer.model.encode_array(self.x))

    def on_epoch_end(self, trainer, record):
        self.codes.append(trainer.model.encode_array(self.x))


@pytest.fixture(scope="module")
def bars():
    return make_image_dataset(n_train=160, n_test=48)


def test_positions_are_the_2d_model_codes_at_each_epoch_with_its_test_error(bars):
    rows = replay_rows(len(bars.x_test), seed=3)
    codes = CodesEachEpoch(bars.x_test[rows])
    trainer = train(bars, tiny_config("deep_ae", latent_dim=2, epochs=4), device="cpu", seed=3, callbacks=[codes])
    replay = trainer.replay
    assert replay is trainer.model.replay_ and len(rows) == len(bars.x_test) == 48  # a small split: every image
    assert replay.epochs.tolist() == [0, 1, 2, 3, 4] and replay.positions.shape == (5, 48, 2)
    assert replay.positions.dtype == np.float16
    np.testing.assert_allclose(replay.positions.astype(np.float32), np.stack(codes.codes), rtol=1e-3, atol=1e-3)
    assert replay.test_error[1:].tolist() == pytest.approx([r["test_sq_err"] for r in trainer.history], rel=1e-6)
    assert replay.test_error[0] > replay.test_error[-1]  # it learned something
    assert replay.labels.tolist() == bars.y_test[rows].tolist()


def test_a_seeded_few_hundred_of_a_large_split():
    rows = replay_rows(10_000, seed=0)
    assert len(rows) == REPLAY_POINTS == 400 and np.all(np.diff(rows) > 0)
    assert rows.tolist() == replay_rows(10_000, seed=0).tolist() != replay_rows(10_000, seed=1).tolist()


def test_thinning_keeps_every_early_epoch_the_last_and_about_the_bound():
    picks = thinned(401, REPLAY_FRAMES)
    assert REPLAY_FRAMES <= len(picks) <= REPLAY_FRAMES + 2 and picks[0] == 0 and picks[-1] == 400
    assert picks[:40].tolist() == list(range(40))  # geometric: the first epochs all stay
    assert np.all(np.diff(picks) > 0) and thinned(50, REPLAY_FRAMES).tolist() == list(range(50))


def test_a_long_run_is_thinned_when_it_ends(bars):
    seed_everything(0)
    model = build("ae", tiny_config("ae", latent_dim=2, epochs=12), input_shape=bars.input_shape)
    recorder = ReplayRecorder(bars.x_test, bars.y_test, most=6)
    Trainer(model, device="cpu", callbacks=[recorder]).fit(bars)
    assert len(recorder.frames) == 13 and 6 <= len(recorder.replay.epochs) <= 8
    assert recorder.replay.epochs[0] == 0 and recorder.replay.epochs[-1] == 12


def test_the_kept_epoch_keeps_its_frame(bars):
    """The frame of the weights the model ends with (the best validation epoch) survives the thinning."""
    recorder = ReplayRecorder(bars.x_test, bars.y_test, most=5)
    for epoch in range(41):
        recorder.epochs.append(epoch)
        recorder.frames.append(np.full((len(recorder.rows), 2), epoch, np.float32))
        recorder.errors.append(1.0)
    history = [{"stage": "train", "epoch": e, **({"kept": 1} if e == 23 else {})} for e in range(1, 41)]
    trainer = SimpleNamespace(progress=object(), history=history, model=SimpleNamespace())
    recorder.on_train_end(trainer)
    assert kept_epoch(history) == 23 and 23 not in thinned(41, 5) and 23 in trainer.replay.epochs
    index = list(trainer.replay.epochs).index(23)
    assert trainer.model.replay_ is trainer.replay and trainer.replay.positions[index, 0, 0] == 23
    assert trainer.replay.caption(index, 23).endswith("<br>the weights kept")


def test_the_file_is_small():
    """120 frames of 400 points, the most the recorder keeps: float16 positions, about 190 KB."""
    rng = np.random.default_rng(0)
    replay = Replay(np.arange(REPLAY_FRAMES), rng.normal(size=(REPLAY_FRAMES, REPLAY_POINTS, 2)).astype(np.float16),
                    rng.uniform(1, 2, REPLAY_FRAMES).astype(np.float32), rng.integers(0, 10, REPLAY_POINTS))
    assert len(replay_bytes(replay)) < 200_000


def test_larger_codes_neither_flip_nor_turn_between_frames():
    """The same codes turned by any orthogonal matrix (a rotation with a reflection) land where they were."""
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(300, 8)) * np.linspace(3, 0.5, 8)
    turn, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    aligned = AlignedMap()
    first, second = aligned(codes), aligned(codes @ turn * -1)
    np.testing.assert_allclose(second, first, atol=1e-4)
    centred = codes - codes.mean(0)
    assert np.var(first, 0).sum() == pytest.approx(np.linalg.svd(centred, compute_uv=False)[:2].__pow__(2).sum()
                                                   / len(codes), rel=1e-4)  # the principal plane, unstretched


def test_a_closed_form_fit_has_no_replay(bars):
    trainer = train(bars, tiny_config("pca", latent_dim=2), device="cpu")
    assert trainer.replay is None and getattr(trainer.model, "replay_", None) is None


def test_the_replay_travels_with_the_checkpoint(bars, tmp_path):
    trainer = train(bars, tiny_config("vae", latent_dim=3, epochs=2), device="cpu")
    folder = save(trainer.model, tmp_path / "m", dataset_record(bars), trainer.history)
    zipped = load_zip(zip_bytes(checkpoint_files(trainer.model, dataset_record(bars), trainer.history)))
    for loaded in (load(folder).model.replay_, zipped.model.replay_):
        for name in ("epochs", "positions", "test_error", "labels"):
            assert np.array_equal(getattr(loaded, name), getattr(trainer.replay, name)), name
    del trainer.model.replay_
    files = checkpoint_files(trainer.model, dataset_record(bars))
    assert REPLAY not in files and not hasattr(load_zip(zip_bytes(files)).model, "replay_")


def test_a_replay_the_config_does_not_name_is_not_read(bars, tmp_path):
    trainer = train(bars, tiny_config("deep_ae", latent_dim=2, epochs=1), device="cpu")
    replay = trainer.model.replay_
    del trainer.model.replay_
    folder = save(trainer.model, tmp_path / "m", dataset_record(bars))
    (folder / REPLAY).write_bytes(replay_bytes(replay))
    assert not hasattr(load(folder).model, "replay_")


def test_the_figure_keeps_its_axes_and_the_class_colours(bars):
    trainer = train(bars, tiny_config("deep_ae", latent_dim=2, epochs=3), device="cpu")
    replay = trainer.replay
    figures = [replay_figure(replay, i, bars.class_names, 2) for i in range(len(replay.epochs))]
    ranges = {(tuple(f.layout.xaxis.range), tuple(f.layout.yaxis.range)) for f in figures}
    assert len(ranges) == 1
    (x0, x1), (y0, y1) = ranges.pop()
    points = replay.positions.reshape(-1, 2).astype(np.float32)
    assert x0 < points[:, 0].min() and points[:, 0].max() < x1 and y0 < points[:, 1].min() and points[:, 1].max() < y1
    assert [t.marker.color for t in figures[0].data] == list(CLASS_COLOURS[:3])
    assert figures[2].layout.title.text == f"Epoch 2 of 3 · test error {replay.test_error[2]:.2f}"
    assert figures[0].layout.title.text.endswith("before training")
    assert replay.frame(2) == 2 and replay.frame(99) == 3 and replay.frame(-1) == 0
    zoomed = replay_figure(replay, 0, bars.class_names, 2, zoom=True).layout.xaxis.range
    first = replay.positions[0, :, 0].astype(np.float32)
    assert zoomed[0] < first.min() and first.max() < zoomed[1] and zoomed[1] - zoomed[0] < 1.2 * np.ptp(first) + 0.01
