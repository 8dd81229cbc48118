"""The CVAE's defining property: the label, not z, decides the class of what it draws."""
from __future__ import annotations

import pytest
import torch
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from explorer.errors import ConfigError
from explorer.registry import build, make_config
from explorer.training import train

N_STYLES = 20  # fixed z's, each decoded under every class
pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: small nets train faster on one thread


@pytest.fixture(scope="module")
def cvae(digits):
    # 100 of the default 400 epochs: label control is complete (1.0) from 50 on; the rest buys ELBO.
    return train(digits, make_config("cvae", latent_dim=8, epochs=100), device="cpu", seed=0).model


@pytest.fixture(scope="module")
def styles_by_class(cvae):
    """(N_STYLES * 10, 1, 8, 8) images: every fixed z decoded under labels 0..9, and those labels."""
    z = torch.randn(N_STYLES, cvae.latent_dim, generator=torch.Generator().manual_seed(1))
    labels = torch.arange(10).repeat(N_STYLES)  # z_0 under 0..9, then z_1 under 0..9, ...
    return cvae.generate(labels, z.repeat_interleave(10, dim=0)), labels


def test_changing_the_label_of_a_fixed_z_changes_the_predicted_class(digits, styles_by_class):
    pixels = digits.x_train.reshape(len(digits.x_train), -1)
    with threadpool_limits(1):  # BLAS on two threads of the shared 2-core machine measured 100x slower
        classifier = LogisticRegression(max_iter=2000).fit(pixels, digits.y_train)
    assert classifier.score(digits.x_test.reshape(len(digits.x_test), -1), digits.y_test) > 0.9
    images, labels = styles_by_class
    predicted = classifier.predict(images.reshape(len(images), -1).numpy())
    assert (predicted == labels.numpy()).mean() >= 0.8  # measured 1.0 (200 of 200)


def test_z_changes_the_image_within_a_class(styles_by_class):
    """Not one template per class: within a class, different z's draw different digits (measured
    0.04-0.10 per-pixel std per class; digits' own within-class std is 0.17)."""
    images, labels = styles_by_class
    by_class = images.reshape(N_STYLES, 10, -1)  # (z, class, pixels)
    assert by_class.std(0).mean() > 0.03


def test_generate_samples_z_from_the_prior_when_not_given():
    torch.manual_seed(0)
    model = build("cvae", make_config("cvae", latent_dim=2), input_shape=(1, 28, 28), n_classes=3)
    images = model.generate(torch.tensor([0, 1, 2, 2]))
    assert images.shape == (4, 1, 28, 28) and bool(((images >= 0) & (images <= 1)).all())
    assert not torch.equal(images[2], images[3])  # same class, different prior draws


def test_labels_are_required():
    with pytest.raises(ConfigError, match="labelled"):
        build("cvae", make_config("cvae"), input_shape=(1, 8, 8), n_classes=0)
    model = build("cvae", make_config("cvae"), input_shape=(1, 8, 8), n_classes=10)
    with pytest.raises(ConfigError, match="labels"):
        model.encode(torch.rand(2, 1, 8, 8))
