"""The stacked autoencoder's defining properties (Bengio et al. 2007; Vincent et al. 2010): each greedy
stage trains its own layer only, and fine-tuning the stack end to end improves on the greedy result."""
from __future__ import annotations

import pytest

from explorer.metrics import evaluate
from explorer.registry import build, make_config
from explorer.training import Trainer, seed_everything, train
from tests.conftest import greedy_stage_changes, make_image_dataset

pytestmark = pytest.mark.usefixtures("one_thread")


def layer_parameters(layer: int) -> set[str]:
    return {f"{part}.{layer}.0.{name}" for part in ("encoders", "decoders") for name in ("weight", "bias")}


def test_each_greedy_stage_changes_only_its_own_layer_then_fine_tuning_changes_all():
    model, changes = greedy_stage_changes("stacked_ae", latent_dim=3, hidden="16,8", pretrain_epochs=2, epochs=2)
    assert [stage for stage, _ in changes.epochs] == ["layer1"] * 2 + ["layer2"] * 2 + ["layer3"] * 2 + ["finetune"] * 2
    everything = {name for name, _ in model.named_parameters()}
    assert everything == layer_parameters(0) | layer_parameters(1) | layer_parameters(2)
    for stage, changed in changes.epochs:
        expected = everything if stage == "finetune" else layer_parameters(int(stage.removeprefix("layer")) - 1)
        assert changed == expected, stage


def test_upper_layers_learn_to_reconstruct_the_codes_below():
    """Layer 2's greedy loss is the squared error of reconstructing z1 = f1(x), and training lowers it."""
    dataset = make_image_dataset()
    seed_everything(0)
    config = make_config("stacked_ae", latent_dim=3, hidden="16,8", pretrain_epochs=30, epochs=0)
    trainer = Trainer(build("stacked_ae", config, input_shape=dataset.input_shape), device="cpu", seed=0).fit(dataset)
    layer2 = [r["code_recon"] for r in trainer.history if r["stage"] == "layer2"]
    assert layer2[-1] < 0.5 * layer2[0]


def test_fine_tuning_improves_on_the_greedy_stack_and_beats_pca(digits):
    trainer = train(digits, make_config("stacked_ae", latent_dim=8), device="cpu", seed=0)
    stages = [r["stage"] for r in trainer.history]
    assert stages == [f"layer{i}" for i in range(1, 5) for _ in range(10)] + ["finetune"] * 80  # 64-128-64-32-8
    greedy_error = [r for r in trainer.history if r["stage"] != "finetune"][-1]["test_sq_err"]
    metrics = evaluate(trainer.model, digits)
    assert metrics["test_sq_err_per_image"] <= 0.5 * greedy_error  # measured 2.6 -> 0.69
    assert metrics["ratio_to_pca"] < 0.7  # measured 0.46 at seed 0
    assert metrics["precision_at_10"] >= 0.9  # measured 0.94
