"""The comparison table: every row on equal terms with PCA, markdown and JSON."""
from __future__ import annotations

import json

from explorer.cli import main
from explorer.report import COLUMNS, build_report, markdown_table, write_report


def test_rows_carry_eval_keys_and_code_quality(digits):
    rows = build_report(digits, 4, variants=["ae", "pca"], epochs_scale=0.1, device="cpu")
    assert [r["variant"] for r in rows] == ["ae", "pca"]
    ae, pca = rows
    assert pca["ratio_to_pca"] == 1.0 and pca["test_sq_err_per_image"] == ae["pca_sq_err_per_image"]
    for row in rows:
        assert 0.5 < row["knn_accuracy"] <= 1 and 0.5 < row["linear_probe_accuracy"] <= 1
        assert row["precision_at_10_pixels"] == rows[0]["precision_at_10_pixels"]
    assert ae["train_seconds"] > 0


def test_markdown_and_json_written_side_by_side(tmp_path):
    rows = [{"variant": "x", "latent_dim": 2, "test_sq_err_per_image": 1.0, "ratio_to_pca": 0.5,
             "precision_at_10": None, "precision_at_10_pixels": 0.9, "knn_accuracy": 0.8,
             "linear_probe_accuracy": 0.7, "train_seconds": 3.0}]
    table = markdown_table(rows)
    assert table.count("\n") == 2 and "| x | 2 | 1.000 | 0.50 | – | 0.900 |" in table
    assert len(table.splitlines()[0].split("|")) == len(COLUMNS) + 2
    md, js = write_report(rows, tmp_path / "r.md", "t")
    assert md.read_text().startswith("# t") and json.loads(js.read_text()) == rows


def test_report_command_json(capsys):
    code = main(["report", "--dataset", "digits", "--latent-dim", "3", "--variants", "pca", "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert code == 0 and rows[0]["variant"] == "pca" and rows[0]["latent_dim"] == 3
    assert {"knn_accuracy", "linear_probe_accuracy", "train_seconds", "test_sq_err_per_image",
            "precision_at_10"} <= set(rows[0])


def test_shipped_models_are_loaded_with_the_training_time_on_their_card(digits):
    from explorer.gallery import find_pretrained
    row, = build_report(digits, 8, variants=["deep_ae"], source="pretrained")
    card = find_pretrained("digits", "deep_ae", 8).card
    assert row["train_seconds"] == card["train_seconds"] > 0
    assert row["test_sq_err_per_image"] == card["metrics"]["test_sq_err_per_image"]  # loaded, not retrained


def test_a_variant_above_pca_says_why_with_its_measured_ratio():
    rows = [{"variant": "rbm (trained here)", "latent_dim": 30, "ratio_to_pca": 2.09},
            {"variant": "lstm_ae", "latent_dim": 30, "ratio_to_pca": 0.79},  # below PCA: nothing to explain
            {"variant": "deep_ae", "latent_dim": 30, "ratio_to_pca": 1.2}]   # no known reason: no sentence
    table = markdown_table([{key: row.get(key) for key, _, _ in COLUMNS} | row for row in rows])
    assert "rbm (trained here) reconstructs at 2.09× PCA-30's error: contrastive divergence" in table
    assert "lstm_ae reconstructs" not in table and "deep_ae reconstructs" not in table
