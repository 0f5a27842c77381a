"""Clustering: k found on separated groups, keywords per cluster, medoids inside their cluster."""

import numpy as np

from curation.cluster import candidate_ks, class_tfidf_keywords, cluster_embeddings, robust_z


def _blobs(k=4, per=40, dim=24, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dim))
    points = np.concatenate([c + 0.25 * rng.normal(size=(per, dim)) for c in centres]).astype(np.float32)
    return points / np.linalg.norm(points, axis=1, keepdims=True), np.repeat(np.arange(k), per)


def test_auto_k_recovers_separated_groups():
    vectors, truth = _blobs()
    result = cluster_embeddings(vectors, seed=0)
    assert result.k == 4 and result.method == "silhouette"
    for c in result.clusters:  # each found cluster is one true group
        assert len(set(truth[c.members])) == 1
        assert c.medoid in c.members


def test_fixed_k_and_sizes_sorted():
    vectors, _ = _blobs(k=3)
    result = cluster_embeddings(vectors, k=5)
    sizes = [c.size for c in result.clusters]
    assert result.k == 5 and sizes == sorted(sizes, reverse=True) and sum(sizes) == len(vectors)


def test_keywords_are_distinctive_per_cluster():
    texts = ["refund my order please", "refund for broken order", "battery charging slow", "battery will not charge"]
    keywords = class_tfidf_keywords(texts, np.array([0, 0, 1, 1]), top=3)
    assert "refund" in keywords[0] and "battery" in keywords[1]
    assert "battery" not in keywords[0]


def test_candidate_ks_bounded_by_size():
    assert candidate_ks(10) == [2, 3, 4]
    assert max(candidate_ks(100_000)) == 30


def test_robust_z_flags_the_outlier_only():
    values = np.array([0.2, 0.21, 0.19, 0.22, 0.2, 0.18, 0.9])
    z = robust_z(values)
    assert z[-1] > 3.5 and (np.abs(z[:-1]) < 3.5).all()


def test_robust_z_floor_ignores_float_noise_when_most_values_are_equal():
    # most replies have exact twins (distance 0): differences in the 8th digit are not outliers
    values = np.array([0.0, 1e-8, 2e-8, 3e-8] * 5 + [3e-7, 6e-7, 0.2])
    assert (robust_z(values) > 3).sum() >= 2  # without a floor, noise reads as many deviations
    z = robust_z(values, floor=0.01)
    assert z[-1] > 3 and (np.abs(z[:-1]) < 3).all()
