"""conv_ae: sizes, unpooling at the stored indices, a stateless decode(z), and beating ae on 28x28."""
import pytest
import torch
import torch.nn.functional as F

from explorer.data import DataError, ImageDataset, load_dataset
from explorer.registry import build, make_config
from explorer.training import train
from explorer.variants.conv_ae import Upsample2x
from tests.conftest import squared_error


def conv_model(shape, upsampling="unpool", latent_dim=3):
    torch.manual_seed(0)
    config = make_config("conv_ae", latent_dim=latent_dim, channels=4, upsampling=upsampling)
    return build("conv_ae", config, input_shape=shape)


@pytest.mark.parametrize("upsampling", ["unpool", "transposed"])
@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 10, 13), (1, 9, 8)])
def test_any_size_from_eight_pixels_round_trips_its_shape(shape, upsampling):
    model = conv_model(shape, upsampling)
    x = torch.rand(5, *shape)
    z = model.encode(x)
    assert z.shape == (5, 3)
    assert model.decode(z).shape == (5, *shape)
    assert model.reconstruct(x).shape == (5, *shape)
    assert all(torch.isfinite(v) for v in model.loss(x).values())


def test_unpooling_puts_each_value_back_where_its_maximum_was():
    image = torch.tensor([[[[0., 1., 0., 0.],
                            [5., 0., 0., 7.]]]])              # (1, 1, 2, 4): two 2x2 windows
    pooled, indices = F.max_pool2d(image, 2, return_indices=True)
    assert pooled.flatten().tolist() == [5.0, 7.0] and indices.flatten().tolist() == [4, 7]
    unpool = Upsample2x(1, "unpool")
    expected = torch.tensor([[[[0., 0., 0., 0.],
                               [5., 0., 0., 7.]]]])
    assert torch.equal(unpool(pooled, indices), expected)
    # Without indices: the mean over the four possible positions of each maximum.
    spread = torch.tensor([[[[1.25, 1.25, 1.75, 1.75],
                             [1.25, 1.25, 1.75, 1.75]]]])
    assert torch.equal(unpool(pooled, None), spread)


def test_reconstruct_uses_the_encoder_indices_and_decode_is_stateless():
    model = conv_model((1, 8, 8))
    x, other = torch.rand(4, 1, 8, 8), torch.rand(4, 1, 8, 8)
    z, indices = model.encode_with_indices(x)
    assert torch.equal(model.encode(x), z)  # the code alone skips recording the indices, nothing else
    assert torch.equal(model.reconstruct(x), model.decode_logits(z, indices=indices).sigmoid())
    decoded = model.decode(z)
    model.reconstruct(other)                                   # nothing from this batch is kept
    assert torch.equal(model.decode(z), decoded)
    assert not torch.equal(decoded, model.reconstruct(x))


def fashion_subset(n_train=3000, n_test=500) -> ImageDataset:
    try:
        fashion = load_dataset("fashion-mnist")
    except DataError as error:
        pytest.skip(f"Fashion-MNIST is not available: {error}")
    return ImageDataset("fashion-subset", fashion.x_train[:n_train], fashion.y_train[:n_train],
                        fashion.x_test[:n_test], fashion.y_test[:n_test], fashion.class_names, "tests")


def test_beats_ae_on_fashion_mnist_at_the_same_code_size():
    data = fashion_subset()
    # 3 epochs of conv_ae against ae trained to convergence (30 epochs; ae is also below PCA-8 there).
    conv = train(data, make_config("conv_ae", latent_dim=8, epochs=3, batch_size=32),
                 device="cpu", seed=0).model
    ae = train(data, make_config("ae", latent_dim=8, epochs=30, batch_size=32), device="cpu", seed=0).model
    conv_error = conv.reconstruction_errors(data.x_test).mean()
    ae_error = ae.reconstruction_errors(data.x_test).mean()
    assert conv_error < 0.7 * ae_error
    code_only = conv.decode_array(conv.encode_array(data.x_test))  # the code alone, no pooling indices
    mean_image = data.x_train.mean(0)
    assert squared_error(data.x_test, code_only) < 0.5 * squared_error(data.x_test, mean_image)
