"""Split codes encoded in the background: the same codes as in the foreground, test split first."""
from __future__ import annotations

import numpy as np
import pytest

from explorer.codes import SplitCodes
from explorer.registry import build, make_config
from tests.conftest import make_image_dataset


def test_background_codes_equal_the_foreground_ones():
    dataset = make_image_dataset()
    model = build("ae", make_config("ae", latent_dim=3), input_shape=dataset.input_shape)
    store = SplitCodes(model, dataset).start()
    assert np.array_equal(store.get("test"), model.encode_array(dataset.x_test))
    assert np.array_equal(store.get("train"), model.encode_array(dataset.x_train))
    assert store.ready("train") and store.ready("test")


def test_an_encoding_error_reaches_the_caller():
    dataset = make_image_dataset()
    model = build("ae", make_config("ae", latent_dim=3), input_shape=(1, 4, 4))  # not this data's shape
    store = SplitCodes(model, dataset).start()
    with pytest.raises(RuntimeError):
        store.get("train")

