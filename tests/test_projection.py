"""PCA, UMAP and raw maps: fit/transform, placing new points without a refit, plain-array save/load, the lock."""
from __future__ import annotations

import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from explorer import metrics
from explorer.errors import ConfigError, DataError
from explorer.projection import (UMAP_COMPILED, UMAP_LOCK, PCAProjector, RawProjector, UMAPProjector,
                                 load_projection, make_projector, save_projection, warm_umap_in_background)


ROOT = Path(__file__).resolve().parents[1]


def blobs(n_per_class=40, n_classes=3, dim=10, seed=0):
    """Well separated Gaussian blobs: (N, dim) points and (N,) labels."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 8, (n_classes, dim))
    labels = np.repeat(np.arange(n_classes), n_per_class)
    return (centres[labels] + rng.normal(0, 1, (len(labels), dim))).astype(np.float32), labels


@pytest.fixture(scope="module")
def fitted_umap():
    x, labels = blobs()
    return UMAPProjector().fit(x), x, labels


def test_pca_matches_the_top_principal_axes_and_places_fitted_points_exactly():
    x, _ = blobs()
    pca = PCAProjector().fit(x)
    assert pca.embedding_.shape == (len(x), 2) and pca.components_.shape == (2, x.shape[1])
    np.testing.assert_allclose(pca.transform(x), pca.embedding_, atol=1e-5)
    covariance = np.cov(x.T)
    eigenvalues = np.linalg.eigvalsh(covariance)[::-1]
    np.testing.assert_allclose(pca.embedding_.var(0, ddof=1), eigenvalues[:2], rtol=1e-4)
    np.testing.assert_allclose(pca.explained_variance_ratio_, eigenvalues[:2] / eigenvalues.sum(), rtol=1e-4)
    assert pca.transform(x[:1] * 0 + pca.mean_).tolist() == [[0.0, 0.0]]
    assert pca.fit_seconds_ >= 0


def test_raw_codes_are_their_own_map_and_1d_codes_lie_on_a_line():
    flat = np.array([[1.5, -2.0], [0.0, 3.0]], np.float32)
    raw = RawProjector().fit(flat)
    np.testing.assert_array_equal(raw.embedding_, flat)
    np.testing.assert_array_equal(raw.transform([[4.0, 5.0]]), [[4.0, 5.0]])
    line = RawProjector().fit_transform(np.array([[1.0], [-2.0]]))
    np.testing.assert_array_equal(line, [[1.0, 0.0], [-2.0, 0.0]])
    with pytest.raises(ConfigError, match="3-D inputs are no map"):
        RawProjector().fit(np.zeros((4, 3)))
    with pytest.raises(ConfigError, match="fitted on 2 features"):
        raw.transform(np.zeros((1, 1)))
    assert type(make_projector("raw")) is RawProjector


def test_transform_before_fit_raises_a_clear_error():
    for projector in (PCAProjector(), UMAPProjector(), RawProjector()):
        with pytest.raises(ConfigError, match="not fitted yet"):
            projector.transform(np.zeros((2, 3)))
    with pytest.raises(ConfigError, match="unknown projection"):
        make_projector("tsne")


def test_umap_places_fitted_points_on_their_embedding_and_new_points_near_their_class(fitted_umap):
    umap, x, labels = fitted_umap
    assert umap.embedding_.shape == (len(x), 2) and umap.fit_seconds_ > 0
    np.testing.assert_allclose(umap.transform(x), umap.embedding_, atol=1e-6)  # copies land on themselves
    new, new_labels = blobs(n_per_class=5, seed=0)
    new = new + np.random.default_rng(1).normal(0, 0.3, new.shape).astype(np.float32)  # not copies
    placed = umap.transform(new)
    assert placed.shape == (len(new), 2) and np.isfinite(placed).all()
    centres = np.stack([umap.embedding_[labels == c].mean(0) for c in range(3)])
    nearest_centre = np.linalg.norm(placed[:, None] - centres[None], axis=2).argmin(1)
    assert (nearest_centre == new_labels).all()


def test_umap_transform_is_the_membership_weighted_mean_of_neighbour_embeddings(fitted_umap):
    umap, x, _ = fitted_umap
    point = (x[0] + x[1]) / 2
    distances = np.sort(np.linalg.norm(x - point, axis=1))[:umap.n_neighbors_]
    neighbours = np.argsort(np.linalg.norm(x - point, axis=1))[:umap.n_neighbors_]
    # sigma solves sum_{j>=2} exp(-d_j / sigma) = log2(k) (umap-learn's smooth_knn_dist, rho = 0)
    lo, hi = 1e-6, 1e6
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if np.exp(-distances[1:] / mid).sum() > np.log2(umap.n_neighbors_) else (mid, hi)
    weights = np.exp(-distances / mid)
    expected = (weights[:, None] * umap.embedding_[neighbours]).sum(0) / weights.sum()
    np.testing.assert_allclose(umap.transform(point[None])[0], expected, rtol=1e-4, atol=1e-4)


@pytest.mark.slow  # compiles umap-learn's transform (~15 s); the rule is also checked by hand above
def test_umap_transform_agrees_with_umap_learns_own_initialisation(fitted_umap):
    """Same rule as umap-learn's transform up to its SGD refinement: compare with the graph it builds."""
    umap_module = pytest.importorskip("umap")
    projector, x, _ = fitted_umap
    reference = umap_module.UMAP(n_neighbors=projector.n_neighbors_, random_state=42, transform_mode="graph")
    reference.fit(x)
    new = x[:10] + np.random.default_rng(2).normal(0, 0.5, x[:10].shape).astype(np.float32)
    graph = reference.transform(new).tocsr()
    expected = np.asarray(graph @ projector.embedding_) / np.asarray(graph.sum(1))
    np.testing.assert_allclose(projector.transform(new), expected, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("kind", ["raw", "pca", "umap"])
def test_save_load_round_trip_is_plain_arrays(kind, tmp_path, fitted_umap):
    x = fitted_umap[1][:, :2] if kind == "raw" else fitted_umap[1]
    projector = fitted_umap[0] if kind == "umap" else make_projector(kind).fit(x)
    path = tmp_path / f"{kind}.npz"
    save_projection(projector, path)
    with zipfile.ZipFile(path) as archive:  # every member is a plain .npy with no object dtype
        for name in archive.namelist():
            header = archive.read(name)[:200]
            assert b"'descr': '|O'" not in header
    loaded = load_projection(path)
    assert type(loaded) is type(projector)
    new = x[:7] + 0.25
    np.testing.assert_allclose(loaded.transform(new), projector.transform(new), atol=1e-6)
    np.testing.assert_allclose(loaded.embedding_, projector.embedding_)


def test_umap_saved_without_inputs_needs_the_same_inputs(fitted_umap, tmp_path):
    projector, x, _ = fitted_umap
    path = tmp_path / "umap.npz"
    save_projection(projector, path, include_inputs=False)
    with pytest.raises(DataError, match="without its inputs"):
        load_projection(path)
    with pytest.raises(DataError, match="not the ones"):
        load_projection(path, inputs=x + 1)
    np.testing.assert_allclose(load_projection(path, inputs=x).transform(x[:3]), projector.embedding_[:3])


def test_a_corrupt_file_is_a_data_error(tmp_path):
    path = tmp_path / "bad.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(DataError, match="not a readable projection"):
        load_projection(path)


def test_umap_fits_are_serialised_by_the_module_lock():
    assert isinstance(UMAP_LOCK, type(threading.Lock()))
    x, _ = blobs(n_per_class=15)
    results, errors = [], []

    def fit():
        try:
            results.append(UMAPProjector(n_neighbors=5).fit(x).embedding_)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    UMAP_LOCK.acquire()  # while held, no fit can start
    threads = [threading.Thread(target=fit) for _ in range(2)]
    for thread in threads:
        thread.start()
    threads[0].join(0.3)
    assert not results
    UMAP_LOCK.release()
    for thread in threads:
        thread.join(120)
    assert not errors and len(results) == 2
    np.testing.assert_array_equal(results[0], results[1])  # fixed random state: same map


def test_map_quality_scores_on_separated_and_shuffled_labels():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 50)
    points = np.array([[0, 0], [10, 0], [0, 10]])[labels] + rng.normal(0, 1, (150, 2))
    assert metrics.knn_accuracy_2d(points, labels) == 1.0
    assert metrics.silhouette_2d(points, labels) > 0.7
    shuffled = np.random.default_rng(0).permutation(labels)
    assert metrics.knn_accuracy_2d(points, shuffled) < 0.6
    assert abs(metrics.silhouette_2d(points, shuffled)) < 0.1
    assert np.isnan(metrics.silhouette_2d(points, np.zeros_like(labels)))
    inputs, _ = blobs(n_per_class=50, dim=10)
    assert metrics.trustworthiness_2d(inputs, PCAProjector().fit_transform(inputs)) > 0.9
    random_map = np.random.default_rng(0).normal(size=(len(inputs), 2))
    assert metrics.trustworthiness_2d(inputs, random_map) < 0.7
    assert len(metrics.map_subsample(10_000, 500)) == 500


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_map_scores_equal_scikit_learns(seed):
    """The numpy trustworthiness and silhouette (no sklearn import on the page) are sklearn's."""
    from sklearn.manifold import trustworthiness
    from sklearn.metrics import silhouette_score
    rng = np.random.default_rng(seed)
    inputs, labels = blobs(n_per_class=60, n_classes=4, dim=12, seed=seed)
    for points in (PCAProjector().fit_transform(inputs), rng.normal(size=(len(inputs), 2))):
        for k in (1, 5, 12):
            assert metrics.trustworthiness_2d(inputs, points, k=k) == pytest.approx(  # float32 distances: a
                trustworthiness(inputs, points, n_neighbors=k), abs=1e-5)        # near-tie flips by 4e-6 here
        assert metrics.silhouette_2d(points, labels) == pytest.approx(silhouette_score(points, labels), abs=1e-6)
    lonely = labels.copy()
    lonely[0] = 9  # a class of one point scores 0, as in sklearn
    assert metrics.silhouette_2d(points, lonely) == pytest.approx(silhouette_score(points, lonely), abs=1e-6)


def test_warm_up_fits_in_a_daemon_thread_and_marks_umap_compiled():
    thread = warm_umap_in_background(delay_s=0)
    assert thread.daemon and thread.name == "umap-warmup"
    thread.join(300)
    assert not thread.is_alive() and UMAP_COMPILED.is_set()


def test_warm_up_leaves_no_half_imported_module_for_a_page_to_see():
    """Regression: the warm-up thread's ``import umap`` used to import pandas while a page built a
    plotly figure, which reads ``sys.modules["pandas"]`` unlocked and saw it half-initialised. The
    modules it reads are imported before the thread starts (checked in a fresh process)."""
    script = ("import sys\nfrom explorer.projection import PEEKED_MODULES, warm_umap_in_background\n"
              "assert not set(PEEKED_MODULES) & set(sys.modules), 'imported too early for this check'\n"
              "warm_umap_in_background()\n"
              "assert all(hasattr(sys.modules[name], '__version__') for name in PEEKED_MODULES)\n"
              "import _plotly_utils.optional_imports as optional\n"
              "assert hasattr(optional.get_module('pandas', should_load=False), 'Series')\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
