"""Every page, for every registered variant: a tiny model (one epoch on digits) is put in the
session, every page in ``shell.PAGES`` is visited, and none raises or shows an error. Pages that do
not apply to a variant must say why and offer the ones they apply to. New pages and new variants
are covered by themselves."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from explorer.registry import list_variants
from explorer.training import train
from explorer.ui import shell
from explorer.ui.state import CurrentModel
from tests.conftest import tiny_config

APP = str(Path(__file__).resolve().parents[2] / "app.py")
VARIANTS = [spec.name for spec in list_variants()]
PAGES = [(f"explorer/ui/pages/{file}", title, path) for file, title, _, path in shell.PAGES]


@pytest.fixture(scope="module")
def tiny_models(digits) -> dict[str, CurrentModel]:
    return {name: CurrentModel(train(digits, tiny_config(name), device="cpu").model, "digits", "tiny (test)")
            for name in VARIANTS}


def open_with(model: CurrentModel | None, **state) -> AppTest:
    """The app with ``model`` already current (no shipped model is loaded over it)."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["dataset"] = "digits"
    at.session_state["variant"] = model.variant if model is not None else "deep_ae"
    at.session_state["uploads"] = {}
    at.session_state["current"] = model
    at.session_state["compare.table"] = False  # the table is measured once, in its own test
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def visit(at: AppTest, page_file: str) -> AppTest:
    return at.switch_page(page_file).run()


def problems(at: AppTest) -> list[str]:
    return [e.value for e in at.exception] + [e.value for e in at.error]


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_page_opens_for_every_variant(variant, tiny_models):
    at = open_with(tiny_models[variant])
    for page_file, title, _ in PAGES:
        visit(at, page_file)
        assert not problems(at), (variant, page_file, problems(at))
        assert title in [t.value for t in at.title], (variant, page_file)


def test_every_page_without_a_model_points_to_the_model_page():
    at = open_with(None)
    for page_file, _, path in PAGES[1:]:
        visit(at, page_file)
        assert not problems(at), (page_file, problems(at))
        assert at.info, f"{path}: an empty page, with no word on what to do"


# --- what each page shows, driven through its plain widgets ---------------------------------------

def page(path: str) -> str:
    return next(file for file, _, p in PAGES if p == path)


def markdown_number(at: AppTest, prefix: str) -> list[float]:
    """The bold numbers after ``prefix`` in the page's markdown, in page order."""
    import re
    pattern = re.compile(re.escape(prefix) + r" \*\*([-\d.]+)\*\*")
    return [float(m.group(1)) for md in at.markdown for m in pattern.finditer(md.value)]


def test_denoise_scores_are_the_core_scores_and_fall_with_noise(tiny_models, digits):
    from explorer import denoise
    from explorer.ui.denoise_panels import sample_indices
    at = visit(open_with(tiny_models["ae"]), page("denoise"))
    at.selectbox(key="denoise.noise").set_value("gaussian").run()
    psnrs = {}
    for level in (0.1, 0.6):
        at.slider(key="denoise.level.gaussian").set_value(level).run()
        assert not problems(at)
        psnrs[level] = markdown_number(at, "PSNR")   # noisy, ae, PCA (and a shipped ae if any)
    x = digits.x_test[sample_indices(len(digits.x_test))]
    expected_noisy = denoise.quality(x, denoise.add_noise(x, "gaussian", 0.6)).psnr
    assert psnrs[0.6][0] == pytest.approx(expected_noisy, abs=0.05)
    assert psnrs[0.6][0] < psnrs[0.1][0] - 5           # more noise, a worse noisy image
    assert len(psnrs[0.6]) >= 3 and at.get("plotly_chart")


def test_anomaly_threshold_flags_exactly_the_images_above_it(tiny_models, digits):
    model = tiny_models["deep_ae"]
    at = visit(open_with(model), page("anomaly"))
    errors = model.model.reconstruction_errors(digits.x_test)
    threshold = float(np.quantile(errors, 0.8))
    at.slider(key=f"anomaly.threshold.{model.key}").set_value(threshold).run()
    flagged = int((errors > at.slider(key=f"anomaly.threshold.{model.key}").value).sum())
    assert at.metric[0].value == f"{flagged} of {len(errors)}" and 60 <= flagged <= 80


def test_anomaly_holdout_trains_without_the_class_and_scores_it_against_pca(tiny_models, digits):
    from explorer.anomaly import holdout_auc
    at = visit(open_with(tiny_models["ae"]), page("anomaly"))
    at.selectbox(key="anomaly.class").set_value(0).run()
    at.number_input(key="anomaly.epochs").set_value(3).run()
    at.button(key="anomaly.train").click().run()
    for job in list(at.session_state["side_jobs"].values()):  # done already, if training was quick
        job.join(120)
    at.run()
    assert not problems(at)
    (slot, held_out), = at.session_state["side_results"].items()
    assert held_out.dataset_name == "digits-without-0" and held_out.variant == "ae"
    assert held_out.history and len(held_out.history) == 3
    expected = holdout_auc(held_out.model, digits, 0)
    shown = {m.label: float(m.value) for m in at.metric if m.label.startswith("ROC AUC")}
    assert shown == pytest.approx({"ROC AUC, ae": expected.model_auc, "ROC AUC, PCA-8": expected.pca_auc}, abs=1e-3)
    assert 0.5 < expected.pca_auc <= 1


def test_rbm_page_shows_filters_chain_and_free_energies(tiny_models, digits):
    from explorer.boltzmann import first_rbm_layer, free_energies
    model = tiny_models["rbm"]
    at = visit(open_with(model), page("rbm"))
    at.slider(key="rbm.steps").set_value(5).run()
    at.radio(key="rbm.start").set_value("noise").run()
    assert not problems(at)
    assert any("steps 0, 1, 2, 3, 4, 5 " in c.value for c in at.caption)
    median = np.median(free_energies(first_rbm_layer(model.model), digits.x_test))
    medians = next(md.value for md in at.markdown if md.value.startswith("Median free energy"))
    assert f"test images **{median:.1f}**" in medians and "uniform noise **" in medians


def test_rbm_page_offers_the_rbm_variants_to_other_models(tiny_models):
    at = visit(open_with(tiny_models["ae"]), page("rbm"))
    offered = [b.label for b in at.button if b.label.startswith("Use")]
    assert "Use `rbm`" in offered and all(v in VARIANTS for v in (label[5:-1] for label in offered))
    at.button(key="rbm.use.rbm").click().run()
    assert not problems(at) and at.session_state["variant"] == "rbm"
    assert at.session_state["current"].variant == "rbm" or "Model" in [t.value for t in at.title]


def test_compare_grid_and_table_put_every_model_beside_pca(tiny_models, digits):
    from explorer.report import report_row
    model = tiny_models["ae"]
    # Only the tiny model (shipped models, if any, are offered too): the table measures what is chosen.
    at = open_with(model, **{"compare.table": True, "compare.models.8": ["ae (tiny (test))"]})
    at = visit(at, page("compare"))
    assert not problems(at)
    assert "ae (tiny (test))" in [option.content for option in at.button_group(key="compare.models.8").proto.options]
    bars = next(chart for chart in at.get("plotly_chart") if "compare.bars" in chart.proto.id)
    assert '"ae (tiny (test))"' in bars.proto.spec
    labels = [md.value.split("**")[1] for md in at.markdown if md.value.startswith("**")]
    assert labels[:3] == ["original", "PCA-8", "ae (tiny (test))"]
    table = next(md.value for md in at.markdown if md.value.startswith("| variant"))
    expected = report_row(model.model, digits)
    assert f"| ae (tiny (test)) | 8 | {expected['test_sq_err_per_image']:.3f} | {expected['ratio_to_pca']:.2f} |" in table
    assert "| PCA-8 (baseline) | 8 |" in table and "| 1.00 |" in table
