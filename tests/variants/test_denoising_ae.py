"""denoising_ae: corrupts only what it trains on, learns the clean target, and repairs damage."""
import pytest
import torch

from explorer.metrics import psnr
from explorer.noise import masking
from explorer.registry import build, make_config
from explorer.training import train


def dae(**config):
    torch.manual_seed(0)
    return build("denoising_ae", make_config("denoising_ae", latent_dim=4, **config), input_shape=(1, 8, 8))


@torch.no_grad()
def test_loss_reconstructs_the_clean_input_from_the_corrupted_one():
    x = torch.rand(8, 1, 8, 8)
    model = dae(noise="masking", noise_level=1.0)         # every pixel masked: the input is all zeros
    from_zeros = model.reconstruction_term(model.decode_logits(model.encode(torch.zeros_like(x))), x)
    assert float(model.loss(x)["recon"]) == pytest.approx(float(from_zeros), rel=1e-6)
    untouched = dae(noise="gaussian", noise_level=0.0)
    clean = untouched.reconstruction_term(untouched.decode_logits(untouched.encode(x)), x)
    assert float(untouched.loss(x)["recon"]) == pytest.approx(float(clean), rel=1e-6)


@torch.no_grad()
def test_training_noise_is_fresh_each_batch_but_never_at_evaluation():
    model = dae(noise="salt_and_pepper", noise_level=0.3)
    x = torch.rand(8, 1, 8, 8)
    assert not torch.equal(model.corrupt(x), model.corrupt(x))
    assert float(model.loss(x)["recon"]) != float(model.loss(x)["recon"])
    assert torch.equal(model.reconstruct(x), model.reconstruct(x))
    assert torch.equal(model.encode(x), model.encoder(x))   # no corruption on the way in


def test_repairs_masked_digits_better_than_aes_trained_on_clean_data(digits):
    # Same code size and epochs; deep_ae is the same network as denoising_ae without the noise.
    common = dict(latent_dim=8, epochs=60)
    models = {name: train(digits, make_config(name, **common), device="cpu", seed=0).model
              for name in ("denoising_ae", "ae", "deep_ae")}
    clean = torch.from_numpy(digits.x_test.copy())
    damaged = masking(clean, 0.25, torch.Generator().manual_seed(0)).numpy()
    quality = {name: float(psnr(digits.x_test, model.reconstruct_array(damaged)).mean())
               for name, model in models.items()}
    assert quality["denoising_ae"] > quality["ae"] + 1.0       # dB
    assert quality["denoising_ae"] > quality["deep_ae"] + 1.0
