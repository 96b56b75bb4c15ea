import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import SpectralClustering
from sklearn.metrics import adjusted_rand_score

from policygradex.clustering import cluster, quality, relabel, similarity, spectral
from policygradex.errors import ArtifactError
from policygradex.io import affinity_matrix, read_affinity, read_clusters
from policygradex.subsets import linear_affinity

NAMES = ["a", "b", "c"]


def _scores(rows):
    return pd.DataFrame(rows, columns=["subset_id", "subset", "task", "score"])


def test_affinity_averages_scores_of_subsets_holding_both_tasks():
    scores = _scores(
        [
            (0, "a;b", "a", 1.0),
            (0, "a;b", "b", 2.0),
            (1, "a;c", "a", 3.0),
            (1, "a;c", "c", 4.0),
            (2, "b;c", "b", 5.0),
            (2, "b;c", "c", 6.0),
            (3, "a;b", "a", 7.0),
            (3, "a;b", "b", 8.0),
        ]
    )
    t = affinity_matrix(scores, NAMES)
    assert t.loc["a", "b"] == 4.0  # subsets 0 and 3
    assert t.loc["a", "c"] == 3.0
    assert t.loc["b", "a"] == 5.0
    assert t.loc["a", "a"] == pytest.approx((1 + 3 + 7) / 3)
    assert list(t.index) == NAMES and list(t.columns) == NAMES


def test_affinity_fails_on_a_pair_that_never_shares_a_subset():
    scores = _scores([(0, "a;b", "a", 1.0), (0, "a;b", "b", 1.0), (1, "a;c", "a", 1.0), (1, "a;c", "c", 1.0)])
    with pytest.raises(ArtifactError, match="b and c never share a subset"):
        affinity_matrix(scores, NAMES)


def test_read_affinity_rejects_non_square(tmp_path):
    path = tmp_path / "affinity.csv"
    pd.DataFrame(np.ones((3, 2)), index=NAMES, columns=["a", "b"]).to_csv(path)
    with pytest.raises(ArtifactError, match="same tasks"):
        read_affinity(path)
    pd.DataFrame([[1, np.nan, 1]] * 3, index=NAMES, columns=NAMES).to_csv(path)
    with pytest.raises(ArtifactError, match="NaN"):
        read_affinity(path)


def planted_block_matrix(sizes, seed, noise=0.3):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(sizes)), sizes)
    order = rng.permutation(len(labels))
    labels = labels[order]
    t = (labels[:, None] == labels[None, :]).astype(float) + noise * rng.normal(size=(len(labels),) * 2)
    t += rng.normal(size=(len(labels), 1)) * 5  # rows on different scales, as real scores are
    return t, labels


@pytest.mark.parametrize("method", ["spectral", "sdp"])
@pytest.mark.parametrize("seed", [0, 1])
def test_clustering_recovers_planted_blocks(method, seed):
    t, labels = planted_block_matrix([3, 4, 5], seed)
    found = cluster(t, k=3, method=method)
    assert quality(found, labels)["ari"] == 1.0


def test_spectral_gives_scikit_learns_partition():
    """cluster.spectral is scikit-learn's SpectralClustering with cluster_qr labels, written out for speed: the same
    partition on 40 block matrices of random sizes, from clean to so noisy that the blocks are barely there. Both
    are seeded (scikit-learn's eigensolver starts from a random vector), and each matrix has an eigengap, so that
    neither a draw nor the rounding of two eigensolvers decides which of two near-equal eigenvectors is taken."""
    rng = np.random.default_rng(0)
    compared = 0
    while compared < 40:
        k = int(rng.integers(2, 6))
        sizes = rng.integers(2, 7, size=k)
        t, _ = planted_block_matrix(sizes, int(rng.integers(1 << 31)), noise=float(rng.uniform(0.1, 1.5)))
        sim = similarity(t)
        adjacency = sim - np.diag(np.diag(sim))  # self-loops ignored, as both implementations do
        degree = np.sqrt(adjacency.sum(1))
        eigenvalues = np.linalg.eigvalsh(adjacency / np.outer(degree, degree))[::-1]
        if eigenvalues[k - 1] - eigenvalues[k] < 1e-3:
            continue
        compared += 1
        reference = SpectralClustering(
            k, affinity="precomputed", assign_labels="cluster_qr", random_state=0
        ).fit_predict(sim)
        assert adjusted_rand_score(reference, spectral(sim, k)) == 1.0


def test_similarity_ignores_each_tasks_scale_and_favours_mutual_best_partners():
    """Rows of T are tasks' scores on their own scales: rescaling or shifting a row changes nothing, and a pair
    that ranks each other first gets the largest similarity."""
    t, _ = planted_block_matrix([3, 3], 0)
    rescaled = t * np.array([[1.0], [100.0], [0.01], [3.0], [1.0], [7.0]]) + np.arange(6)[:, None] * 50
    np.testing.assert_allclose(similarity(rescaled), similarity(t))
    t = np.zeros((4, 4))
    t[0, 1] = t[1, 0] = 1.0  # 0 and 1 are each other's best partner
    s = similarity(t)
    np.testing.assert_allclose(s, s.T)
    off = ~np.eye(4, dtype=bool)
    assert s[0, 1] == s[off].max() and s[0, 1] > s[2, 3]


def test_relabel_orders_groups_by_first_appearance():
    np.testing.assert_array_equal(relabel([2, 2, 0, 1, 0]), [0, 0, 1, 2, 1])


def test_read_clusters_validates(tmp_path):
    path = tmp_path / "clusters.csv"
    pd.DataFrame({"task": ["a", "b", "zz"], "group": [0, 1, 1]}).to_csv(path, index=False)
    with pytest.raises(ArtifactError, match="unknown tasks zz"):
        read_clusters(path, NAMES)
    pd.DataFrame({"task": ["a", "b", "c"], "group": [0, 2, 2]}).to_csv(path, index=False)
    with pytest.raises(ArtifactError, match=r"0..g-1"):
        read_clusters(path, NAMES)
    pd.DataFrame({"task": ["a", "b", "c"], "group": [0, 1, 1]}).to_csv(path, index=False)
    assert list(read_clusters(path, NAMES)["group"]) == [0, 1, 1]


def test_the_linear_affinity_ranks_partners_by_their_gradients():
    grads = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    members = np.array([[True, True, False, False], [True, False, True, False], [False, True, False, True]])
    affinity = linear_affinity(grads, members)
    assert affinity[0, 1] > affinity[0, 2]  # task 0 gains more beside its near-parallel partner
    assert np.isnan(affinity[0, 3])  # no subset holds 0 and 3
