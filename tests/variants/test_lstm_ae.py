"""lstm_ae: images read row by row, any sequence length, and better than the mean sequence."""
import pytest
import torch

from explorer.registry import build, make_config
from explorer.training import train
from tests.conftest import squared_error


def test_an_image_is_read_row_by_row_with_channels_side_by_side():
    model = build("lstm_ae", make_config("lstm_ae", latent_dim=2, hidden_size=4), input_shape=(3, 5, 4))
    x = torch.arange(2 * 3 * 5 * 4, dtype=torch.float32).reshape(2, 3, 5, 4)
    sequence = model.to_sequence(x)
    assert sequence.shape == (2, 5, 12)                       # T = H, F = C * W
    assert torch.equal(sequence[1, 3, 2 * 4 + 1], x[1, 2, 3, 1])  # step 3 holds row 3: channel 2, column 1
    assert torch.equal(model.from_sequence(sequence), x)          # how decode_logits lays out its steps


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("steps, features", [(4, 3), (8, 8), (28, 5)])
def test_any_sequence_length_encodes_decodes_and_backpropagates(steps, features, bidirectional):
    torch.manual_seed(0)
    config = make_config("lstm_ae", latent_dim=3, hidden_size=16, bidirectional=bidirectional)
    model = build("lstm_ae", config, input_shape=(1, steps, features))
    sequences = torch.rand(10, steps, features)               # (N, T, F) passed directly
    z = model.encode(sequences)
    assert z.shape == (10, 3)
    assert torch.equal(z, model.encode(sequences[:, None]))   # same as the (N, 1, T, F) image view
    assert model.decode_sequence(z).shape == (10, steps, features)
    assert model.decode(z).shape == (10, 1, steps, features)
    read = sequences.clone().requires_grad_(True)
    model.encode(read).sum().backward()
    assert bool((read.grad.abs().sum((0, 2)) > 0).all())      # the code depends on every step
    model.loss(sequences)["recon"].backward()
    assert all(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in model.parameters())


def test_beats_always_predicting_the_mean_training_sequence(digits):
    model = train(digits, make_config("lstm_ae", latent_dim=8, epochs=60), device="cpu", seed=0).model
    lstm_error = model.reconstruction_errors(digits.x_test).mean()
    mean_error = squared_error(digits.x_test, digits.x_train.mean(0))
    assert lstm_error < 0.5 * mean_error


def test_reading_both_ways_puts_the_first_row_as_near_the_code_as_the_last():
    torch.manual_seed(0)
    model = build("lstm_ae", make_config("lstm_ae", latent_dim=4, hidden_size=8, bidirectional=True),
                  input_shape=(1, 28, 5))
    assert model.to_code.in_features == 16  # both directions' last states
    read = torch.rand(6, 28, 5, requires_grad=True)
    model.encode(read).pow(2).sum().backward()
    first, last = read.grad[:, 0].abs().sum(), read.grad[:, -1].abs().sum()
    assert first > 0.1 * last  # one way only, row 0's gradient has come through 27 steps of forgetting
