"""Retrieval with damaged queries, without the page: the same seeded damage for codes and pixels, over
the clean averages' subsample, and a reading that follows the numbers."""
from __future__ import annotations

import numpy as np
import torch

from explorer import metrics
from explorer.denoise import add_noise
from explorer.registry import build, make_config
from explorer.robustness import Robustness, damaged_precision_by_k
from explorer.search import CodeIndex, precision_by_k


class Flatten:
    """A stand-in encoder whose code is the image's pixels; it keeps what it was asked to encode."""
    def __init__(self):
        self.seen = []

    def encode_array(self, x, y=None):
        self.seen.append((x.copy(), None if y is None else y.copy()))
        return x.reshape(len(x), -1)


def pixel_index(dataset) -> CodeIndex:
    return CodeIndex().fit(dataset.x_train.reshape(len(dataset.x_train), -1))


def test_codes_and_pixels_are_searched_with_the_same_seeded_damage_of_the_clean_subsample(tiny_dataset):
    d, index, encoder = tiny_dataset, pixel_index(tiny_dataset), Flatten()
    by_pixels = damaged_precision_by_k(index, d.y_train, d.x_test, d.y_test, "masking", 0.5, 6, None, 20, seed=3)
    by_codes = damaged_precision_by_k(index, d.y_train, d.x_test, d.y_test, "masking", 0.5, 6, encoder, 20, seed=3)
    picked = metrics.map_subsample(len(d.x_test), 20)
    damaged = add_noise(d.x_test[picked], "masking", 0.5, seed=3)
    (encoded, classes), = encoder.seen
    np.testing.assert_array_equal(encoded, damaged)              # these images, damaged this way
    np.testing.assert_array_equal(classes, d.y_test[picked])     # with their classes, for conditional models
    np.testing.assert_array_equal(by_codes, by_pixels)           # the codes are the pixels: the same damage
    np.testing.assert_allclose(by_pixels, precision_by_k(index, d.y_train, damaged.reshape(20, -1),
                                                         d.y_test[picked], 6))
    again = damaged_precision_by_k(index, d.y_train, d.x_test, d.y_test, "masking", 0.5, 6, None, 20, seed=3)
    np.testing.assert_array_equal(again, by_pixels)              # seeded
    assert (damaged == 0).mean() > (d.x_test[picked] == 0).mean()  # and damaged: half of the pixels masked


def test_no_damage_gives_the_clean_average_and_damage_lowers_it(tiny_dataset):
    d = tiny_dataset
    torch.manual_seed(0)
    model = build("ae", make_config("ae", latent_dim=3), input_shape=d.input_shape)
    index = CodeIndex().fit(model.encode_array(d.x_train))
    clean = precision_by_k(index, d.y_train, model.encode_array(d.x_test), d.y_test, 5, 24)
    undamaged = damaged_precision_by_k(index, d.y_train, d.x_test, d.y_test, "gaussian", 0.0, 5, model, 24)
    np.testing.assert_allclose(undamaged, clean, atol=1e-6)
    pixels = pixel_index(d)
    clean_pixels = precision_by_k(pixels, d.y_train, d.x_test.reshape(len(d.x_test), -1), d.y_test, 5)
    wiped = damaged_precision_by_k(pixels, d.y_train, d.x_test, d.y_test, "occlusion", 1.0, 5)
    assert wiped[-1] < clean_pixels[-1]                          # every query blank: the class is lost


def reading(code_clean, code_damaged, pixel_clean, pixel_damaged) -> str:
    return Robustness(10, "salt_and_pepper", 0.1, code_clean, code_damaged, pixel_clean, pixel_damaged).reading()


def test_the_reading_says_who_wins_clean_and_damaged_from_the_numbers():
    assert reading(0.90, 0.85, 0.80, 0.50) == (
        "With salt and pepper 0.1 damage, codes beat pixels on clean queries (codes 0.90, pixels 0.80) and on "
        "damaged ones (codes 0.85, pixels 0.50); the codes' precision@10 falls by 0.05 and the pixels' falls by 0.30.")
    assert "pixels beat codes on clean queries (codes 0.80, pixels 0.90) but codes beat pixels on damaged ones" \
        in reading(0.80, 0.75, 0.90, 0.50)
    assert "codes beat pixels on clean queries (codes 0.95, pixels 0.90) but pixels beat codes on damaged ones" \
        in reading(0.95, 0.50, 0.90, 0.85)
    both_lose = reading(0.93, 0.53, 0.96, 0.90)
    assert "pixels beat codes on clean queries" in both_lose and "and on damaged ones" in both_lose
    level = reading(0.905, 0.70, 0.90, 0.80)
    assert "codes and pixels are level on clean queries (codes 0.91, pixels 0.90) but pixels beat codes" in level
    assert "the pixels' barely changes" in reading(0.9, 0.8, 0.9, 0.895)
    assert "the codes' precision@10 rises by 0.05" in reading(0.8, 0.85, 0.9, 0.9)


def test_a_conditional_model_encodes_the_damaged_queries_given_their_classes(tiny_dataset):
    d = tiny_dataset
    torch.manual_seed(0)
    cvae = build("cvae", make_config("cvae", latent_dim=3), input_shape=d.input_shape, n_classes=3)
    index = CodeIndex().fit(cvae.encode_array(d.x_train, d.y_train))
    found = damaged_precision_by_k(index, d.y_train, d.x_test, d.y_test, "gaussian", 0.3, 4, cvae)
    damaged = add_noise(d.x_test, "gaussian", 0.3)
    expected = precision_by_k(index, d.y_train, cvae.encode_array(damaged, d.y_test), d.y_test, 4)
    np.testing.assert_allclose(found, expected)


def test_the_clean_reading_says_whichever_way_the_numbers_go():
    from explorer.robustness import clean_reading
    assert clean_reading(0.94, 0.97, 8, 8).startswith("Over the test images, pixels beat codes at precision@8 "
                                                      "(codes 0.94, pixels 0.97): 8 numbers per image")
    assert clean_reading(0.83, 0.81, 10, 30) == ("Over the test images, codes beat pixels at precision@10 "
                                                 "(codes 0.83, pixels 0.81).")
    assert "level" in clean_reading(0.900, 0.905, 10, 30)
