"""The GPU path (issue 17, item 3): skipped where CUDA is not; run by benchmarks/gpu_checks.sh on a GPU machine."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.data import ImageDataset
from explorer.data.dataset import unit_images
from explorer.data.store import create_store, stored_dataset, training_images
from explorer.training import Callback, train
from tests.conftest import make_image_dataset, tiny_config

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
CUDA = torch.device("cuda:0")


def idx_like(n_train=200, n_test=50) -> ImageDataset:
    """Images whose pixels are k / 255, as IDX data (MNIST, Fashion-MNIST) are."""
    rng = np.random.default_rng(0)
    x = unit_images(rng.integers(0, 256, (n_train + n_test, 12, 12), dtype=np.uint8))
    return ImageDataset("idx-like", x[:n_train], None, x[n_train:], None, (), "tests")


def test_idx_images_live_on_the_gpu_as_uint8_and_train_as_on_the_cpu():
    data = idx_like()
    images = training_images(data.x_train, CUDA)
    assert images.home == CUDA and images.images.dtype == torch.uint8
    assert torch.equal(images.whole().cpu(), torch.from_numpy(data.x_train))
    config = tiny_config("deep_ae", epochs=2, batch_size=32)
    gpu, cpu = (train(data, config, device=device, seed=0) for device in ("cuda", "cpu"))
    assert gpu.model.device.type == "cuda"
    assert gpu.history[-1]["test_sq_err"] == pytest.approx(cpu.history[-1]["test_sq_err"], rel=1e-2)


def test_the_batch_loop_does_not_sync_with_the_host():
    seen = []

    class Watch(Callback):
        def on_batch_end(self, trainer, progress):
            if progress.batch == 2:
                torch.cuda.set_sync_debug_mode("error")  # from here to the epoch's last batch
            if progress.batch == progress.n_batches:
                torch.cuda.set_sync_debug_mode("default")
                seen.append(progress.batch)

    try:
        train(idx_like(n_train=2000), tiny_config("deep_ae", batch_size=64), device="cuda", callbacks=[Watch()])
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert seen and seen[0] > 2


def test_bf16_on_the_gpu_trains_to_about_the_fp32_error():
    data = make_image_dataset(shape=(1, 12, 12), n_train=400)
    config = tiny_config("deep_ae", epochs=3, batch_size=32)
    fp32, bf16 = (train(data, config, device="cuda", seed=0, precision=p) for p in ("fp32", "bf16"))
    assert bf16.status == "finished"
    assert bf16.history[-1]["test_sq_err"] == pytest.approx(fp32.history[-1]["test_sq_err"], rel=0.1)


def test_a_store_mapped_on_the_host_trains_on_the_gpu_batch_by_batch(tmp_path):
    codes = np.random.default_rng(1).integers(0, 256, (300, 12, 12), dtype=np.uint8)
    store = create_store(tmp_path / "s.npy", len(codes), codes.shape[1:])
    store[:] = codes
    store.flush()
    data = stored_dataset(tmp_path / "s.npy")
    images = training_images(data.x_train, CUDA)
    assert images.home.type == "cpu" and images.batch(torch.arange(4)).device.type == "cuda"
    trainer = train(data, tiny_config("deep_ae", batch_size=32), device="cuda")
    assert trainer.status == "finished" and trainer.model.device.type == "cuda"
