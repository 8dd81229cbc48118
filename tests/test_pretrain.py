"""The gallery generator: cards, float16 round trip, resume, README table."""
from __future__ import annotations

import json

import pytest

from explorer import pretrain, recipes
from explorer.checkpoint import load
from explorer.gallery import list_pretrained
from explorer.registry import make_config

DATA_SHAPES = {"digits": ((1, 8, 8), 1437), "fashion-mnist": ((1, 28, 28), 60_000)}  # the documented splits


@pytest.fixture
def tiny_plan(monkeypatch):
    plan = [pretrain.PlanEntry("digits", "ae", 2), pretrain.PlanEntry("digits", "pca", 3)]
    monkeypatch.setattr(pretrain, "build_plan", lambda: plan)
    monkeypatch.setattr(pretrain, "config_for", lambda variant, shape, n_train, latent_dim: make_config(
        variant, latent_dim=latent_dim, **({"epochs": 2} if variant == "ae" else {})))
    return plan


def test_pretrain_writes_cards_and_resumes(tiny_plan, tmp_path, digits):
    lines = []
    pretrain.run(root=tmp_path, device="cpu", log=lines.append)
    card = json.loads((tmp_path / "digits" / "ae-2" / "card.json").read_text())
    assert card["seed"] == 0 and card["epochs"] == 2 and card["device"] == "cpu"
    assert card["fingerprint"] == digits.fingerprint and card["weights_dtype"] == "float16"
    assert card["command"].startswith("python -m explorer pretrain --dataset digits --variant ae")
    assert card["metrics"]["variant"] == "ae" and card["metrics"]["latent_dim"] == 2
    checkpoint = load(tmp_path / "digits" / "ae-2")
    assert checkpoint.model.latent_dim == 2
    readme = (tmp_path / "README.md").read_text()
    assert "| digits | ae | 2 | 2 |" in readme and "| digits | pca | 3 |" in readme
    n = len(digits.x_test)
    assert {p.name for p in (tmp_path / "digits").glob("*.npz")} == {
        f"projection-pixels-pca-{n}.npz", f"projection-pixels-umap-{n}.npz"}
    assert not list((tmp_path / "digits" / "ae-2").glob("*.npz"))  # 2-D codes are plotted as they are
    assert {p.name for p in (tmp_path / "digits" / "pca-3").glob("*.npz")} == {
        f"projection-codes-pca-{n}.npz", f"projection-codes-umap-{n}.npz"}

    lines.clear()
    pretrain.run(root=tmp_path, device="cpu", log=lines.append)
    assert lines == ["digits/ae-2: up to date", "digits/pca-3: up to date"]


def test_selection_by_variant(tiny_plan, tmp_path):
    lines = []
    pretrain.run(variant="pca", root=tmp_path, device="cpu", log=lines.append)
    assert lines[0].startswith("digits/pca-3:") and all("projection-" in line for line in lines[1:-2])
    assert lines[-2:] == ["digits/pca-baseline: PCA baseline written",  # fitted with the largest shipped code
                          "digits/pixel-search.json: pixel search's test precisions written"]
    assert load(tmp_path / "digits" / "pca-baseline").model.latent_dim == 3
    shipped = json.loads((tmp_path / "digits" / "pixel-search.json").read_text())["test_precision"]
    metrics = json.loads((tmp_path / "digits" / "pca-3" / "card.json").read_text())["metrics"]
    card = metrics["test_precision"]
    assert set(shipped) == set(card) == {"euclidean", "cosine"} and len(shipped["cosine"]) == 16
    # digits has fewer test images than the page's 1,000 queries: P@10 over all of them, as eval's
    assert shipped["euclidean"][9] == pytest.approx(metrics["precision_at_10_pixels"], abs=2e-3)  # ties in order
    assert card["euclidean"][9] == pytest.approx(metrics["precision_at_10"], abs=2e-3)
    assert not (tmp_path / "digits" / "ae-2").exists()


def test_plan_covers_the_gallery():
    plan = pretrain.build_plan()
    digits = {(e.variant, e.latent_dim) for e in plan if e.dataset == "digits"}
    fashion = {(e.variant, e.latent_dim) for e in plan if e.dataset == "fashion-mnist"}
    variants = {e.variant for e in plan}
    assert "pca" not in variants
    assert digits == {(v, k) for v in variants for k in (2, 8)}
    assert {v for v, _ in fashion} == variants
    assert {("deep_ae", 2), ("vae", 2), ("cvae", 2), ("aae", 2), ("dbn_ae", 2)} <= fashion


def test_every_shipped_card_was_trained_with_todays_recipe():
    """The plan's configs (the recipes that ``report`` trains with too) are the shipped ones, so
    ``pretrain`` on a fresh clone finds the gallery up to date and retrains nothing."""
    shipped = {(e.dataset, e.variant, e.latent_dim): e.card for e in list_pretrained()}
    for entry in pretrain.build_plan():
        card = shipped[(entry.dataset, entry.variant, entry.latent_dim)]
        shape, n_train = DATA_SHAPES[entry.dataset]
        config = recipes.config_for(entry.variant, shape, n_train, entry.latent_dim)
        assert pretrain.shipped_config(card, type(config)) == config.to_dict(), entry


def test_report_and_gallery_train_alike_and_epochs_scale_reaches_tuned_epochs():
    grey_28, grey_8 = (1, 28, 28), (1, 8, 8)
    gallery = recipes.config_for("aae", grey_28, 60_000, 16)
    assert gallery.epochs == 5 and gallery.hidden == "512"
    halved = recipes.config_for("aae", grey_28, 60_000, 16, epochs_scale=0.4)
    assert halved.epochs == 2 and halved.hidden == "512"
    assert recipes.config_for("deep_ae", grey_28, 60_000, 2).hidden == "500,250,125"  # the 2-D map model
    assert recipes.config_for("deep_ae", grey_8, 1437, 8).epochs == 200  # digits: the defaults
    assert recipes.config_for("lstm_ae", grey_28, 60_000, 30).bidirectional
    assert not recipes.config_for("lstm_ae", grey_8, 1437, 8).bidirectional
    # chosen by shape, not name: half the images, twice the epochs (as many updates), same widths
    smaller = recipes.config_for("dbn_ae", grey_28, 30_000, 30)
    assert smaller.epochs == 60 and smaller.pretrain_epochs == 10 and smaller.lr == 2e-3
    tiny = recipes.config_for("dbn_ae", grey_28, 12, 30)  # a dozen images: as many updates would be 75,000 epochs
    assert tiny.epochs == tiny.pretrain_epochs == 10_000  # the field's bound
