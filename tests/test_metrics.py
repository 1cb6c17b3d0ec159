"""Tests of the FD, KID and class-histogram metrics and of the committed classifiers.

The reference values come from formulas computed here with NumPy, never from
common.metrics itself. Tests that score images load the weights in classifiers/ and
the small dataset samples in tests/data.
"""

import json
from pathlib import Path

import common  # noqa: F401  (quiets TensorFlow's C++ logs, so it comes first)
import numpy as np
import pytest
import scipy.linalg

from common import metrics
from common.metrics import (
    Scorer,
    class_histogram,
    classes_covered,
    format_scores,
    frechet_distance,
    kernel_distance,
)

DATA_DIR = Path(__file__).resolve().parent / "data"
CLASSIFIER_DIR = Path(__file__).resolve().parents[1] / "classifiers"
DATASETS = ("mnist", "emnist", "cifar10")


def samples_with_moments(rng, count, mean, std):
    """Draw `count` rows whose sample mean and sample covariance are exactly mean, diag(std^2)."""
    noise = rng.normal(size=(count, len(mean)))
    noise -= noise.mean(axis=0)
    # Whitening with the Cholesky factor of the sample covariance makes it the identity.
    cholesky = np.linalg.cholesky(np.cov(noise, rowvar=False))
    white = np.linalg.solve(cholesky, noise.T).T
    return white * std + mean


def reference_fd(a, b):
    """Compute FD through eigenvalues, independently of scipy.linalg.sqrtm.

    tr(sqrt(A B)) equals the sum of square roots of the eigenvalues of the symmetric
    matrix A^1/2 B A^1/2, which eigh handles even when A and B are singular.
    """
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    middle = np.linalg.eigvalsh(root_a @ cov_b @ root_a)
    diff = a.mean(axis=0) - b.mean(axis=0)
    return diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2 * np.sqrt(np.clip(middle, 0, None)).sum()


def reference_mmd2(x, y):
    """Compute the unbiased MMD^2 with the cubic kernel by explicit loops."""
    d = x.shape[1]

    def k(u, v):
        return (float(np.dot(u, v)) / d + 1.0) ** 3

    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


# Fréchet distance


def test_fd_matches_closed_form_for_diagonal_gaussians():
    rng = np.random.default_rng(1)
    mean_a, std_a = np.array([0.0, 1.0, -2.0, 0.5]), np.array([1.0, 2.0, 0.5, 1.5])
    mean_b, std_b = np.array([1.0, 1.0, 0.0, -0.5]), np.array([3.0, 1.0, 0.5, 0.25])
    a = samples_with_moments(rng, 200, mean_a, std_a)
    b = samples_with_moments(rng, 300, mean_b, std_b)
    # For diagonal covariances FD = |mean_a - mean_b|^2 + sum (std_a - std_b)^2.
    expected = np.sum((mean_a - mean_b) ** 2) + np.sum((std_a - std_b) ** 2)
    assert expected == pytest.approx(6.0 + 6.5625)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)


def test_fd_of_large_samples_approaches_the_population_value():
    rng = np.random.default_rng(2)
    a = rng.normal([0.0, 0.0, 0.0], [1.0, 2.0, 1.0], size=(20000, 3))
    b = rng.normal([1.0, 0.0, 0.0], [1.0, 1.0, 3.0], size=(20000, 3))
    assert frechet_distance(a, b) == pytest.approx(1.0 + 1.0 + 4.0, rel=0.03)


def test_fd_matches_eigenvalue_formula_for_correlated_features():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(400, 6)) @ rng.normal(size=(6, 6))
    b = rng.normal(size=(300, 6)) @ rng.normal(size=(6, 6)) + 0.3
    assert frechet_distance(a, b) == pytest.approx(reference_fd(a, b), rel=1e-8)


def test_fd_of_a_set_with_itself_is_zero():
    features = np.random.default_rng(4).normal(size=(100, 8))
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-8)


def test_fd_with_fewer_samples_than_dimensions():
    rng = np.random.default_rng(5)
    a = rng.normal(size=(10, 32))  # Rank-9 covariances, so their product is singular.
    b = rng.normal(size=(12, 32)) + 0.5
    distance = frechet_distance(a, b)
    assert np.isfinite(distance)
    assert distance == pytest.approx(reference_fd(a, b), rel=1e-4)


def test_fd_retries_after_infinite_sqrtm(monkeypatch):
    real_sqrtm = scipy.linalg.sqrtm
    calls = []

    def failing_once(matrix):
        calls.append(matrix)
        return np.full_like(matrix, np.inf) if len(calls) == 1 else real_sqrtm(matrix)

    monkeypatch.setattr(metrics.scipy.linalg, "sqrtm", failing_once)
    rng = np.random.default_rng(6)
    a, b = rng.normal(size=(50, 4)), rng.normal(size=(60, 4)) * 2
    distance = frechet_distance(a, b)
    assert len(calls) == 2
    # The second product carries epsilon on the covariance diagonals.
    assert not np.allclose(calls[0], calls[1], rtol=0, atol=metrics.SQRTM_EPSILON / 10)
    assert distance == pytest.approx(reference_fd(a, b), rel=1e-4)


def test_fd_raises_when_sqrtm_fails_twice(monkeypatch):
    monkeypatch.setattr(metrics.scipy.linalg, "sqrtm", lambda matrix: np.full_like(matrix, np.nan))
    rng = np.random.default_rng(7)
    with pytest.raises(ValueError, match="square root"):
        frechet_distance(rng.normal(size=(20, 3)), rng.normal(size=(20, 3)))


def test_fd_drops_a_small_imaginary_part(monkeypatch):
    real_sqrtm = scipy.linalg.sqrtm
    monkeypatch.setattr(metrics.scipy.linalg, "sqrtm", lambda matrix: real_sqrtm(matrix) + 1e-9j)
    rng = np.random.default_rng(8)
    a, b = rng.normal(size=(40, 3)), rng.normal(size=(40, 3)) + 1
    assert frechet_distance(a, b) == pytest.approx(reference_fd(a, b), rel=1e-8)


def test_fd_rejects_a_large_imaginary_part():
    # A covariance that is not positive semi-definite has a complex square root.
    with pytest.raises(ValueError, match="imaginary"):
        metrics.frechet_distance_from_moments(np.zeros(2), np.diag([1.0, -1.0]), np.zeros(2), np.eye(2))


@pytest.mark.parametrize("a, b, message", [
    (np.zeros((10, 3)), np.zeros((10, 4)), "differ in width"),
    (np.zeros(10), np.zeros((10, 1)), "expected \\(N, D\\)"),
    (np.zeros((1, 3)), np.zeros((10, 3)), "at least 2"),
    (np.full((5, 2), np.nan), np.zeros((5, 2)), "NaN"),
])
def test_fd_rejects_bad_features(a, b, message):
    with pytest.raises(ValueError, match=message):
        frechet_distance(a, b)


# Kernel distance


def test_kid_matches_direct_unbiased_estimator():
    rng = np.random.default_rng(10)
    x = rng.normal(size=(12, 5))
    y = rng.normal(size=(12, 5)) + 0.4
    # A subset of every row is a permutation of the set, which leaves MMD^2 unchanged.
    mean, std = kernel_distance(x, y, subsets=3, subset_size=100, seed=0)
    assert mean == pytest.approx(reference_mmd2(x, y), rel=1e-10)
    assert std == pytest.approx(0.0, abs=1e-10)


def test_kid_of_unequal_sets_matches_direct_estimator():
    rng = np.random.default_rng(11)
    x, y = rng.normal(size=(9, 4)), rng.normal(size=(14, 4)) * 1.5
    assert metrics.unbiased_mmd2(x, y) == pytest.approx(reference_mmd2(x, y), rel=1e-10)


def test_kid_separates_shifted_distributions():
    rng = np.random.default_rng(12)
    a, b = rng.normal(size=(600, 16)), rng.normal(size=(600, 16))
    shifted = rng.normal(size=(600, 16)) + 0.5
    same, same_std = kernel_distance(a, b, subsets=10, subset_size=300)
    different, _ = kernel_distance(a, shifted, subsets=10, subset_size=300)
    assert abs(same) < 3 * same_std + 0.01
    assert different > 20 * max(abs(same), same_std)


def test_kid_subsets_depend_on_the_seed_only():
    rng = np.random.default_rng(13)
    a, b = rng.normal(size=(200, 4)), rng.normal(size=(150, 4)) + 0.2
    first = kernel_distance(a, b, subsets=5, subset_size=50, seed=3)
    assert kernel_distance(a, b, subsets=5, subset_size=50, seed=3) == first
    assert kernel_distance(a, b, subsets=5, subset_size=50, seed=4) != first


def test_kid_rejects_bad_subset_settings():
    with pytest.raises(ValueError, match="subsets"):
        kernel_distance(np.zeros((5, 2)), np.zeros((5, 2)), subsets=0)


# Class histogram


def test_class_histogram_counts_each_class():
    histogram = class_histogram(np.array([3, 0, 3, 1, 3]), num_classes=5)
    assert histogram.tolist() == [1, 1, 0, 3, 0]
    assert class_histogram(np.array([], dtype=int), 3).tolist() == [0, 0, 0]


@pytest.mark.parametrize("labels", [np.array([0, 4]), np.array([-1, 0]), np.array([0.0, 1.0]), np.zeros((2, 2), int)])
def test_class_histogram_rejects_bad_labels(labels):
    with pytest.raises(ValueError):
        class_histogram(labels, num_classes=4)


def test_classes_covered_counts_classes_above_the_threshold():
    # 100 samples over 4 classes: the even share is 25, the default threshold 6.25.
    assert classes_covered([70, 20, 7, 3]) == 3
    assert classes_covered([100, 0, 0, 0]) == 1
    assert classes_covered([25, 25, 25, 25], min_fraction_of_uniform=1.0) == 4
    assert classes_covered([0, 0]) == 0


# The committed classifiers and the scorer


@pytest.fixture(scope="module")
def scoring_models():
    from common.classifier import load_scoring_model

    return {dataset: load_scoring_model(dataset, CLASSIFIER_DIR) for dataset in DATASETS}


def labelled_sample(dataset):
    from common.classifier import load_labelled_data

    return load_labelled_data(dataset, DATA_DIR)


@pytest.mark.parametrize("dataset", DATASETS)
def test_committed_classifier_records(dataset):
    record = json.loads((CLASSIFIER_DIR / f"{dataset}.json").read_text())
    size = (CLASSIFIER_DIR / f"{dataset}.weights.h5").stat().st_size
    assert size < 1_000_000
    assert record["dataset"] == dataset
    assert record["feature_dim"] == 128
    if dataset == "mnist":
        assert record["test_accuracy"] > 0.99
        assert record["test_count"] == 10000
    if dataset == "emnist":
        assert record["test_classes_missing"] == list("tuvwxyz")


@pytest.mark.parametrize("dataset, min_accuracy", [("mnist", 0.95), ("emnist", 0.75), ("cifar10", 0.3)])
def test_committed_classifier_labels_the_sample_images(scoring_models, dataset, min_accuracy):
    data = labelled_sample(dataset)
    images = np.concatenate([data.x_train, data.x_test])
    labels = np.concatenate([data.y_train, data.y_test])
    features, probabilities = scoring_models[dataset].predict(images, verbose=0)
    assert features.shape == (len(images), 128)
    assert np.mean(probabilities.argmax(axis=1) == labels) > min_accuracy


@pytest.mark.parametrize("dataset", DATASETS)
def test_real_images_score_far_better_than_noise(scoring_models, dataset):
    data = labelled_sample(dataset)
    images = np.concatenate([data.x_test, data.x_train])
    if dataset == "cifar10":  # The CIFAR-10 scorer compares against frogs.
        images = images[np.concatenate([data.y_test, data.y_train]) == 6]
    # The samples are sorted by split and class, so shuffle before halving.
    images = images[np.random.default_rng(0).permutation(len(images))]
    half = len(images) // 2
    scorer = Scorer(scoring_models[dataset], images[:half], kid_subsets=10, kid_subset_size=half // 2)
    real = scorer.score(images[half:2 * half])
    noise = scorer.score(np.random.default_rng(0).uniform(-1, 1, images[:half].shape))
    assert real["num_samples"] == half
    assert noise["num_samples"] == half
    assert real["num_real"] == half
    assert noise["fd"] > 4 * real["fd"]
    assert noise["kid_mean"] > 10 * max(abs(real["kid_mean"]), real["kid_std"])
    assert sum(real["class_histogram"]) == half
    if dataset != "cifar10":
        assert real["classes_covered"] > noise["classes_covered"]


def test_collapsed_mnist_generator_scores_worse(scoring_models):
    data = labelled_sample("mnist")
    images = np.concatenate([data.x_test, data.x_train])
    labels = np.concatenate([data.y_test, data.y_train])
    order = np.random.default_rng(0).permutation(len(images))
    real_a, real_b = images[order[:200]], images[order[200:]]
    # Real images of one digit, as a generator that collapsed onto one mode draws them.
    ones = images[labels == 1]
    collapsed = ones[np.arange(200) % len(ones)]
    scorer = Scorer(scoring_models["mnist"], real_a, kid_subsets=10, kid_subset_size=100)
    real = scorer.score(real_b)
    mode = scorer.score(collapsed)
    assert mode["fd"] > 5 * real["fd"]
    assert mode["kid_mean"] > real["kid_mean"] + 5 * real["kid_std"]
    assert mode["classes_covered"] <= 2
    assert real["classes_covered"] == 10


def test_scorer_for_dataset_uses_frogs_for_cifar10(scoring_models):
    scorer = Scorer.for_dataset("cifar10", DATA_DIR, weights_dir=CLASSIFIER_DIR, kid_subsets=2)
    frogs = labelled_sample("cifar10")
    assert len(scorer.real_features) == np.sum(frogs.y_test == 6)
    scores = scorer.score(frogs.x_train[frogs.y_train == 6][:20])
    assert scores["num_samples"] == 20
    assert len(scores["class_histogram"]) == 10
    assert "N=20" in format_scores(scores)


def test_scorer_rejects_bad_images(scoring_models):
    data = labelled_sample("mnist")
    scorer = Scorer(scoring_models["mnist"], data.x_test, kid_subsets=1)
    with pytest.raises(ValueError, match="shape"):
        scorer.score(data.x_test[:, :14])
    with pytest.raises(ValueError, match="expected \\[-1, 1\\]"):
        scorer.score((data.x_test + 1) * 127.5)


def test_classifier_command_writes_loadable_weights(tmp_path):
    from common import classifier

    record = classifier.main(["--dataset", "emnist", "--data-dir", str(DATA_DIR), "--epochs", "1",
                              "--limit", "32", "--output-dir", str(tmp_path)])
    saved = json.loads((tmp_path / "emnist.json").read_text())
    assert saved == record
    assert saved["train_count"] == 32
    assert saved["test_classes_missing"] == list("tuvwxyz")
    assert saved["command"].startswith("python -m common.classifier --dataset emnist")
    # Without the optimizer state the file is about four bytes per parameter.
    assert (tmp_path / "emnist.weights.h5").stat().st_size < 6 * saved["parameters"]
    features, predictions = classifier.load_feature_extractor("emnist", tmp_path)
    images = classifier.load_labelled_data("emnist", DATA_DIR).x_test[:5]
    assert features.predict(images, verbose=0).shape == (5, 128)
    assert predictions.predict(images, verbose=0).shape == (5, 26)


def test_missing_classifier_weights_name_the_command(tmp_path):
    from common import classifier

    with pytest.raises(FileNotFoundError, match="python -m common.classifier --dataset mnist"):
        classifier.load_classifier("mnist", tmp_path)
