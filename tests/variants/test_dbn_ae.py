"""The DBN autoencoder's defining properties (Hinton & Salakhutdinov 2006): RBMs pretrained greedily,
unrolled into an autoencoder that already reconstructs, then fine-tuned past PCA."""
from __future__ import annotations

import pytest
import torch

from explorer.metrics import evaluate
from explorer.registry import build, make_config
from explorer.training import Trainer, seed_everything, train
from tests.conftest import greedy_stage_changes

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def trained_on_digits(one_thread, digits) -> Trainer:
    """The defaults at latent 8 (64-128-64-32-8 on digits), seed 0."""
    return train(digits, make_config("dbn_ae", latent_dim=8), device="cpu", seed=0)


def test_rbms_pretrain_one_at_a_time_then_unroll_into_the_decoder():
    model, changes = greedy_stage_changes("dbn_ae", latent_dim=3, hidden="16,8", pretrain_epochs=2, epochs=0)
    assert [rbm.linear_hidden for rbm in model.rbms] == [False, False, True]  # a linear code layer
    decoder_of_rbm = {0: "decoder.4", 1: "decoder.2", 2: "decoder.0"}  # decoder = (3 -> 8 -> 16 -> 64)
    for stage, changed in changes.epochs:
        layer = int(stage.removeprefix("rbm")) - 1
        # RBM i trains on the frozen layers below; its mirror in the decoder follows it.
        assert changed == {f"rbms.{layer}.{name}" for name in ("weight", "hidden_bias", "visible_bias")} | \
               {f"{decoder_of_rbm[layer]}.{name}" for name in ("weight", "bias")}
    assert [stage for stage, _ in changes.epochs] == ["rbm1", "rbm1", "rbm2", "rbm2", "rbm3", "rbm3"]
    for layer, decoder in decoder_of_rbm.items():  # unrolled: W^T and the visible biases
        linear = model.get_submodule(decoder)
        assert torch.equal(linear.weight, model.rbms[layer].weight.T)
        assert torch.equal(linear.bias, model.rbms[layer].visible_bias)


def test_the_unrolled_rbm_stack_reconstructs_before_any_fine_tuning(trained_on_digits, digits):
    """The last pretraining epoch's test error is the unrolled stack's: the decoder mirrors each RBM."""
    pretrained_error = [r for r in trained_on_digits.history if r["stage"] != "finetune"][-1]["test_sq_err"]
    seed_everything(0)
    untrained = build("dbn_ae", make_config("dbn_ae", latent_dim=8), input_shape=digits.input_shape)
    x_test, mean_image = torch.from_numpy(digits.x_test.copy()), torch.from_numpy(digits.x_train.mean(0))
    random_error = float(untrained.reconstruction_errors(x_test).mean())  # measured 11.1 against 2.1 pretrained
    mean_image_error = float((x_test - mean_image).square().flatten(1).sum(1).mean())  # 4.65
    assert pretrained_error < 0.5 * random_error
    assert pretrained_error < 0.6 * mean_image_error  # it codes the digit, not just the average digit


def test_fine_tuning_beats_pca_with_codes_that_keep_classes_apart(trained_on_digits, digits):
    history = trained_on_digits.history
    pretrained_error = [r for r in history if r["stage"] != "finetune"][-1]["test_sq_err"]
    metrics = evaluate(trained_on_digits.model, digits)
    assert metrics["test_sq_err_per_image"] < 0.5 * pretrained_error
    assert metrics["ratio_to_pca"] < 0.7  # measured 0.48 at seed 0
    assert metrics["precision_at_10"] >= 0.9  # measured 0.94
