"""k-means with k chosen by silhouette: the silhouette itself, recovery of planted blobs,
determinism, size-ordered labels."""

from __future__ import annotations

import numpy as np

from lakehouse.segments.clustering import choose, fit, relabel, sample_rows, silhouette


def blobs(sizes=(120, 90, 60, 30), seed=1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0, 0], [8, 0, 0], [0, 8, 0], [0, 0, 8]], dtype=float)
    points = [rng.normal(c, 0.5, size=(n, 3)) for c, n in zip(centres, sizes, strict=False)]
    truth = np.repeat(np.arange(len(sizes)), sizes)
    return np.vstack(points), truth


def test_silhouette_matches_a_hand_computation():
    x = np.array([[0.0], [1.0], [4.0], [5.0]])
    labels = np.array([0, 0, 1, 1])
    # point 0: a = 1, b = (4 + 5) / 2 = 4.5 -> 3.5 / 4.5; point 1: a = 1, b = 3.5 -> 2.5 / 3.5
    expected = (3.5 / 4.5 + 2.5 / 3.5 + 2.5 / 3.5 + 3.5 / 4.5) / 4
    assert np.isclose(silhouette(x, labels), expected)
    # a point alone in its cluster scores 0
    assert np.isclose(silhouette(np.array([[0.0], [1.0], [9.0]]), np.array([0, 0, 1])),
                      (1 - 1 / 9 + 1 - 1 / 8 + 0) / 3)


def test_choose_recovers_planted_clusters_and_numbers_them_by_size():
    x, truth = blobs()
    best, tried = choose(x, seed=0)
    assert best.k == 4
    assert [f.k for f in tried] == [3, 4, 5, 6, 7, 8]
    assert best.silhouette == max(f.silhouette for f in tried)
    # cluster i is planted blob i: the blobs were made largest first
    assert np.array_equal(best.labels, truth)


def test_same_seed_same_clusters():
    x, _ = blobs(seed=4)
    a, b = fit(x, 5, seed=7), fit(x, 5, seed=7)
    assert np.array_equal(a.labels, b.labels) and np.array_equal(a.centroids, b.centroids)
    sizes = np.bincount(a.labels)
    assert list(sizes) == sorted(sizes, reverse=True)


def test_relabel_orders_by_size_and_drops_empty_clusters():
    labels = np.array([2, 2, 0, 2, 0, 3])
    centroids = np.array([[0.0], [1.0], [2.0], [3.0]])  # cluster 1 is empty
    new, kept = relabel(labels, centroids)
    assert new.tolist() == [0, 0, 1, 0, 1, 2]
    assert kept.ravel().tolist() == [2.0, 0.0, 3.0]


def test_fixed_k_and_the_silhouette_sample():
    x, _ = blobs()
    best, tried = choose(x, k=3)
    assert best.k == 3 and len(tried) == 1
    rows = sample_rows(10_000, seed=0, size=500)
    assert len(rows) == 500 and np.array_equal(rows, sample_rows(10_000, seed=0, size=500))
    assert np.array_equal(sample_rows(300, size=500), np.arange(300))


def test_a_k_that_isolates_a_handful_of_outliers_is_not_chosen():
    x, _ = blobs(sizes=(100, 100, 100), seed=2)
    x = np.vstack([x, [[20.0, 20.0, 20.0], [20.5, 20.0, 20.0]]])  # two unusual customers
    best, tried = choose(x, seed=0)
    by_k = {f.k: f for f in tried}
    assert by_k[4].silhouette > by_k[3].silhouette  # the outlier cluster scores best ...
    assert best.k == 3  # ... but two persons are not a segment (MIN_SHARE)
    assert np.bincount(best.labels).min() >= 0.02 * len(x)


def test_many_rows_search_k_on_a_sample_and_refine_on_every_row(monkeypatch):
    """Past FIT_SAMPLE rows the k search fits a sample; the chosen k is refined on all rows
    and still finds the planted blobs, deterministically."""
    import lakehouse.segments.clustering as clustering

    x, truth = blobs(sizes=(400, 300, 200, 100), seed=3)
    monkeypatch.setattr(clustering, "FIT_SAMPLE", 150)
    calls = []
    real_fit = clustering.fit
    monkeypatch.setattr(clustering, "fit",
                        lambda v, k, seed=0: calls.append(len(v)) or real_fit(v, k, seed))
    best, tried = choose(x, seed=0)
    assert set(calls) == {150}  # every k was searched on the sample only
    assert best.k == 4 and np.array_equal(best.labels, truth)  # refined over all 1,000 rows
    assert all(len(f.labels) == len(x) for f in tried)
    again, _ = choose(x, seed=0)
    assert np.array_equal(again.labels, best.labels)
