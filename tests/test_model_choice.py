"""Which shipped model a page or a switch opens: the code size a page wants, read from what is shipped."""
from __future__ import annotations

import pytest

from explorer.checkpoint import WEIGHTS
from explorer.gallery import RETRIEVAL, pick_pretrained, retrieval_code, suiting_pretrained, suits

SHIPPED = {"digits": ["ae-2", "ae-8", "vae-2", "vae-8", "rbm-8"],
           "fashion": ["ae-30", "vae-2", "vae-16", "deep_ae-2", "deep_ae-30", "new-2"]}


@pytest.fixture
def root(tmp_path):
    for dataset, folders in SHIPPED.items():
        for folder in folders:
            (tmp_path / dataset / folder).mkdir(parents=True)
            (tmp_path / dataset / folder / WEIGHTS).write_bytes(b"")
    (tmp_path / "digits" / "sparse_ae-8").mkdir()  # no weights: not shipped
    return tmp_path


def test_the_retrieval_size_is_the_largest_shipped_code_above_a_map(root):
    assert retrieval_code("digits", "ae", root) == 8 and retrieval_code("digits", "rbm", root) == 8
    assert retrieval_code("fashion", "vae", root) == 16 and retrieval_code("fashion", "ae", root) == 30
    assert retrieval_code("fashion", "new", root) == 30   # only a map shipped: the dataset's largest
    assert retrieval_code("upload:x.npz", "ae", root) is None


@pytest.mark.parametrize("dataset, variant, code, latent", [
    ("digits", "ae", None, 2), ("digits", "ae", 8, 8), ("digits", "ae", 2, 2), ("digits", "ae", RETRIEVAL, 8),
    ("digits", "ae", 99, 8),           # a size not shipped: the largest, since it is more than a map
    ("fashion", "vae", 8, 16), ("fashion", "vae", RETRIEVAL, 16), ("fashion", "deep_ae", 16, 30),
    ("fashion", "ae", 2, 30),          # no map shipped: what there is
    ("digits", "rbm", 2, 8), ("digits", "sparse_ae", 8, None), ("upload:x.npz", "ae", 2, None),
])
def test_pick_pretrained_keeps_a_map_a_map_and_a_large_code_large(root, dataset, variant, code, latent):
    entry = pick_pretrained(dataset, variant, code, root)
    assert (entry.latent_dim if entry else None) == latent


def test_what_suits_a_page(root):
    assert suits(2, "digits", "ae", None, root) and suits(2, "digits", "ae", 2, root)
    assert not suits(8, "digits", "ae", 2, root)
    assert not suits(2, "digits", "ae", RETRIEVAL, root) and suits(8, "digits", "ae", RETRIEVAL, root)
    assert suits(64, "digits", "ae", RETRIEVAL, root) and not suits(8, "fashion", "vae", RETRIEVAL, root)
    assert not suits(2, "upload:x.npz", "ae", RETRIEVAL, root) and suits(3, "upload:x.npz", "ae", RETRIEVAL, root)


def test_the_offers_are_the_own_variant_when_it_suits_else_every_variant_that_does(root):
    assert [e.label for e in suiting_pretrained("fashion", "vae", RETRIEVAL, root)] == ["vae (code 16)"]
    assert [e.label for e in suiting_pretrained("fashion", "ae", 2, root)] == [
        "deep_ae (code 2)", "new (code 2)", "vae (code 2)"]
    assert suiting_pretrained("upload:x.npz", "ae", 2, root) == []
