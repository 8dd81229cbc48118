"""Every registered variant, picked up from the registry: shapes, a finite loss, training that
changes the weights, and a save/load round trip with identical outputs."""
from __future__ import annotations

import pytest
import torch

from explorer.checkpoint import dataset_record, load, save
from explorer.data.store import training_images
from explorer.registry import build, list_variants
from explorer.training import Trainer, seed_everything
from tests.conftest import make_image_dataset, tiny_config

VARIANTS = [spec.name for spec in list_variants()]


def fitted(name: str, shape, latent_dim: int):
    dataset = make_image_dataset(shape=shape)
    seed_everything(0)
    model = build(name, tiny_config(name, latent_dim, epochs=2, batch_size=32), input_shape=dataset.input_shape, n_classes=dataset.n_classes)
    trainer = Trainer(model, device="cpu", seed=0).fit(dataset)
    return trainer, dataset


@pytest.mark.parametrize("name", VARIANTS)
@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28)])
@pytest.mark.parametrize("latent_dim", [2, 5])
def test_shapes_and_finite_loss(name, shape, latent_dim):
    dataset = make_image_dataset(shape=shape, n_train=16, n_test=8)
    model = build(name, tiny_config(name, latent_dim, epochs=2, batch_size=32), input_shape=shape, n_classes=dataset.n_classes)
    x, y = torch.from_numpy(dataset.x_test.copy()), torch.from_numpy(dataset.y_test.copy())
    model.fit_data(training_images(x, "cpu"), y)
    z = model.encode(x, y)
    assert z.shape == (8, latent_dim)
    x_hat = model.decode(z, y)
    assert x_hat.shape == (8, *shape)
    terms = model.loss(x, y)
    assert terms and all(torch.isfinite(v) and v.ndim == 0 for v in terms.values())


@pytest.mark.parametrize("name", VARIANTS)
def test_training_changes_weights_and_records_history(name):
    dataset = make_image_dataset()
    seed_everything(0)
    model = build(name, tiny_config(name, 3, epochs=2, batch_size=32), input_shape=dataset.input_shape, n_classes=dataset.n_classes)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    trainer = Trainer(model, device="cpu", seed=0).fit(dataset)
    assert trainer.status == "finished"
    assert trainer.history and all(torch.isfinite(torch.tensor(r["test_sq_err"])) for r in trainer.history)
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, before[k])]
    assert changed, f"{name}: no weight changed during training"


@pytest.mark.parametrize("name", VARIANTS)
def test_save_load_round_trip_gives_identical_outputs(name, tmp_path):
    trainer, dataset = fitted(name, (1, 8, 8), 3)
    folder = save(trainer.model, tmp_path / name, dataset_record(dataset), trainer.history, {"note": 1})
    checkpoint = load(folder)
    x, y = torch.from_numpy(dataset.x_test.copy()), torch.from_numpy(dataset.y_test.copy())
    original, restored = trainer.model.eval(), checkpoint.model
    with torch.inference_mode():
        assert torch.equal(original.encode(x, y), restored.encode(x, y))
        assert torch.equal(original.reconstruct(x, y), restored.reconstruct(x, y))
    assert checkpoint.history == trainer.history and checkpoint.metrics == {"note": 1}
    assert type(restored.config) is type(original.config) and restored.config == original.config


@pytest.mark.parametrize("spec", list_variants(), ids=lambda s: s.name)
def test_variant_is_described_and_configurable(spec):
    assert spec.description and spec.paper
    for field in spec.config_cls.field_specs():
        assert field.help, f"{spec.name}.{field.name} has no help text"
        if field.type in (int, float) and field.choices is None:
            assert field.min is not None and field.max is not None, f"{spec.name}.{field.name} has no bounds"
