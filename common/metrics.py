"""Sample-quality metrics computed in the feature space of a trained classifier.

`frechet_distance` (FD) and `kernel_distance` (KID) compare two sets of feature vectors.
`class_histogram` and `classes_covered` count how generated images spread over the
classifier's classes, which exposes mode collapse that FD alone can hide. `Scorer` ties
them together: it keeps a feature model and the features of real images, and scores a
batch of generated images in one call.

The functions take NumPy arrays shaped (N, D) and work in float64. Only `Scorer` runs a
Keras model, and the module imports Keras only inside `Scorer.for_dataset`.
"""

import warnings

import numpy as np
import scipy.linalg

# The offset added to both covariance diagonals when the matrix square root fails.
SQRTM_EPSILON = 1e-6
# The largest imaginary part, relative to the real diagonal, that rounding can explain.
SQRTM_IMAGINARY_TOLERANCE = 1e-3
# The largest relative residual ||S @ S - P|| / ||P|| accepted for S = sqrtm(P).
SQRTM_RESIDUAL_TOLERANCE = 1e-5


def as_features(features, name):
    """Return `features` as a float64 array shaped (N, D).

    Raises ValueError for other shapes, fewer than two rows or non-finite values.
    """
    array = np.asarray(features, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"{name} has shape {array.shape}; expected (N, D) feature vectors.")
    if len(array) < 2:
        raise ValueError(f"{name} has {len(array)} rows; at least 2 are needed for a covariance.")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinite values.")
    return array


def check_same_width(a, b):
    """Raise ValueError unless two feature arrays have the same number of columns."""
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"Feature sets differ in width: {a.shape[1]} and {b.shape[1]} columns.")


def gaussian_moments(features):
    """Fit a Gaussian to feature vectors.

    Args:
        features: array shaped (N, D) with N >= 2.

    Returns:
        (mean, covariance): float64 arrays shaped (D,) and (D, D). The covariance uses
        the N - 1 denominator.
    """
    features = as_features(features, "features")
    return features.mean(axis=0), np.atleast_2d(np.cov(features, rowvar=False))


def sqrtm_or_none(matrix):
    """Return scipy.linalg.sqrtm(matrix), or None when the result cannot be trusted.

    A result is rejected when SciPy warns that the matrix is singular, when it contains
    NaN or infinity, or when its square is far from `matrix`.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", scipy.linalg.LinAlgWarning)
        try:
            root = scipy.linalg.sqrtm(matrix)
        except (scipy.linalg.LinAlgWarning, scipy.linalg.LinAlgError, ValueError):
            return None
    root = np.asarray(root)
    if not np.isfinite(root).all():
        return None
    scale = max(np.linalg.norm(matrix), np.finfo(np.float64).tiny)
    if np.linalg.norm(root @ root - matrix) > SQRTM_RESIDUAL_TOLERANCE * scale:
        return None
    return root


def trace_sqrt_product(cov_a, cov_b, epsilon=SQRTM_EPSILON):
    """Return trace(sqrtm(cov_a @ cov_b)) for two covariance matrices.

    When the product is singular (for example with fewer samples than dimensions) or
    sqrtm returns non-finite values, `epsilon` times the identity is added to both
    covariances and the root is taken again. Small imaginary parts from rounding are
    dropped.

    Raises:
        ValueError: the root has a large imaginary part, or no finite root exists even
            after the offset.
    """
    root = sqrtm_or_none(cov_a @ cov_b)
    if root is None:
        offset = epsilon * np.eye(len(cov_a))
        root = sqrtm_or_none((cov_a + offset) @ (cov_b + offset))
        if root is None:
            raise ValueError(
                "The matrix square root of the covariance product failed even after adding "
                f"{epsilon:g} to the diagonals; check the features for huge or degenerate values."
            )
    if np.iscomplexobj(root):
        diagonal = np.diagonal(root)
        largest = np.max(np.abs(diagonal.imag))
        if largest > SQRTM_IMAGINARY_TOLERANCE * max(1.0, np.max(np.abs(diagonal.real))):
            raise ValueError(
                f"The matrix square root of the covariance product has an imaginary part of "
                f"{largest:.3g} on its diagonal, too large to come from rounding; the "
                "covariances are probably not positive semi-definite."
            )
        root = root.real
    return float(np.trace(root))


def frechet_distance_from_moments(mean_a, cov_a, mean_b, cov_b):
    """Return the Fréchet distance between N(mean_a, cov_a) and N(mean_b, cov_b).

    FD = ||mean_a - mean_b||^2 + tr(cov_a) + tr(cov_b) - 2 tr(sqrtm(cov_a @ cov_b)).
    See `trace_sqrt_product` for the handling of singular covariances.
    """
    diff = np.asarray(mean_a, np.float64) - np.asarray(mean_b, np.float64)
    cov_a, cov_b = np.asarray(cov_a, np.float64), np.asarray(cov_b, np.float64)
    distance = diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * trace_sqrt_product(cov_a, cov_b)
    # Rounding can push a distance of zero slightly below it.
    return max(float(distance), 0.0)


def frechet_distance(features_a, features_b):
    """Return the Fréchet distance between Gaussians fitted to two feature sets.

    This is FID's formula computed in whatever feature space the caller supplies, so
    values are comparable only between scores taken with the same feature model.

    NOTE: The estimate is biased upwards, and the bias shrinks as the sample counts
    grow. Two sets drawn from one distribution score above zero, and the smaller they
    are, the higher they score. Compare FD values only when they were computed with the
    same number of samples on each side, and report that number beside them.

    Args:
        features_a: array shaped (N, D), N >= 2.
        features_b: array shaped (M, D), M >= 2.

    Returns:
        The distance as a non-negative float.

    Raises:
        ValueError: bad shapes or values, or a matrix square root that cannot be taken
            (see `trace_sqrt_product`).
    """
    a = as_features(features_a, "features_a")
    b = as_features(features_b, "features_b")
    check_same_width(a, b)
    return frechet_distance_from_moments(*gaussian_moments(a), *gaussian_moments(b))


def polynomial_kernel(x, y):
    """Return the cubic polynomial kernel matrix k(x, y) = (x . y / D + 1)^3."""
    kernel = x @ y.T
    kernel /= x.shape[1]
    kernel += 1.0
    return kernel * kernel * kernel


def unbiased_mmd2(x, y):
    """Return the unbiased estimate of MMD^2 between the samples x and y.

    The within-set sums leave out the diagonal k(x_i, x_i), which is what makes the
    estimate unbiased, so it can come out negative when the distributions match.
    """
    m, n = len(x), len(y)
    k_xx = polynomial_kernel(x, x)
    k_yy = polynomial_kernel(y, y)
    k_xy = polynomial_kernel(x, y)
    within_x = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    within_y = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return float(within_x + within_y - 2.0 * k_xy.mean())


def kernel_distance(features_a, features_b, subsets=100, subset_size=1000, seed=0):
    """Estimate the kernel distance (KID) between two feature sets.

    Each of `subsets` rounds draws `subset_size` rows from each set without replacement
    and computes the unbiased MMD^2 with the kernel k(x, y) = (x . y / D + 1)^3. Unlike
    FD, the estimate has no bias from the sample count, but its spread does grow as the
    sets get smaller.

    Args:
        features_a: array shaped (N, D), N >= 2.
        features_b: array shaped (M, D), M >= 2.
        subsets: number of random subsets to average over.
        subset_size: rows drawn from each set per subset. It is lowered to min(N, M)
            when either set is smaller.
        seed: seed of the generator that draws the subsets.

    Returns:
        (mean, std) of the per-subset estimates as floats. std uses the population
        formula (ddof=0) and is 0.0 for a single subset.
    """
    a = as_features(features_a, "features_a")
    b = as_features(features_b, "features_b")
    check_same_width(a, b)
    if subsets < 1 or subset_size < 2:
        raise ValueError(f"Expected subsets >= 1 and subset_size >= 2, got {subsets} and {subset_size}.")
    size = min(subset_size, len(a), len(b))
    rng = np.random.default_rng(seed)
    estimates = [
        unbiased_mmd2(a[rng.choice(len(a), size, replace=False)],
                      b[rng.choice(len(b), size, replace=False)])
        for _ in range(subsets)
    ]
    return float(np.mean(estimates)), float(np.std(estimates))


def class_histogram(predicted_labels, num_classes):
    """Count how many predictions fall into each class.

    Args:
        predicted_labels: integer class ids shaped (N,), each in [0, num_classes).
        num_classes: length of the histogram.

    Returns:
        int64 array shaped (num_classes,) whose entries sum to N.
    """
    labels = np.asarray(predicted_labels)
    if labels.ndim != 1 or (labels.size and not np.issubdtype(labels.dtype, np.integer)):
        raise ValueError(f"Expected a 1-D array of integer class ids, got {labels.dtype} shaped {labels.shape}.")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"Class ids must lie in [0, {num_classes}); got {labels.min()} to {labels.max()}.")
    return np.bincount(labels.astype(np.int64), minlength=num_classes)


def classes_covered(histogram, min_fraction_of_uniform=0.25):
    """Count the classes that receive a fair share of the samples.

    A class counts as covered when it receives at least `min_fraction_of_uniform` times
    the share it would get if the samples were spread evenly. With ten classes and the
    default 0.25, that is 2.5% of the samples. A generator that collapses onto a few
    modes covers few classes.

    Args:
        histogram: counts per class, as returned by `class_histogram`.
        min_fraction_of_uniform: threshold relative to the even share 1 / num_classes.

    Returns:
        The number of covered classes as an int (0 for an empty histogram).
    """
    counts = np.asarray(histogram, dtype=np.float64)
    total = counts.sum()
    if total == 0:
        return 0
    threshold = min_fraction_of_uniform * total / len(counts)
    return int(np.count_nonzero(counts >= threshold))


class Scorer:
    """FD, KID and class-histogram scoring of generated images against fixed real images.

    The features of the real images are computed once, when the scorer is built.
    Each call to `score` runs the model on the generated images and returns FD, KID
    and, when the model also returns class probabilities, the class histogram.

    Args:
        model: a Keras model mapping images in [-1, 1] either to features shaped
            (N, D), or to a pair (features, class probabilities shaped (N, C)).
        real_images: float array shaped (M, H, W, C) with values in [-1, 1].
        class_names: optional names of the C classes, stored for reports.
        kid_subsets, kid_subset_size: passed to `kernel_distance`. The defaults keep a
            call with 2,000 images to a few seconds on two CPU cores.
        batch_size: images per forward pass.
        seed: seed of the KID subsets, fixed so repeated calls draw alike.
    """

    def __init__(self, model, real_images, class_names=None, kid_subsets=20,
                 kid_subset_size=1000, batch_size=500, seed=0):
        self.model = model
        self.class_names = None if class_names is None else tuple(class_names)
        self.kid_subsets = kid_subsets
        self.kid_subset_size = kid_subset_size
        self.batch_size = batch_size
        self.seed = seed
        self.image_shape = tuple(np.shape(real_images)[1:])
        self.real_features, real_probabilities = self.embed(real_images)
        self.real_mean, self.real_cov = gaussian_moments(self.real_features)
        self.num_classes = None if real_probabilities is None else real_probabilities.shape[1]

    @classmethod
    def for_dataset(cls, dataset, data_dir, class_id=None, split="test", weights_dir=None, **kwargs):
        """Build a scorer from a dataset's committed classifier and its real images.

        Args:
            dataset: "mnist", "emnist" or "cifar10".
            data_dir: folder with the dataset's NumPy archive.
            class_id: keep the real images of one class, with the class ids that
                `common.classifier` uses (0-based, so EMNIST's "a" is 0). None keeps
                every class, except for "cifar10", where None means the frog class.
            split: "test" or "train"; the real images come from this split.
            weights_dir: folder with <dataset>.weights.h5; default classifiers/.
            **kwargs: passed to the constructor.

        NOTE: A copy of EMNIST Letters may ship a partial test split. The one the
        committed classifier was evaluated on has letters a-s only (see
        "test_classes_missing" in classifiers/emnist.json), so a generator that draws
        all 26 letters is penalised against it. Pass split="train" to compare with all
        letters. To compare CIFAR-10 samples with all ten classes, build the scorer
        with the constructor.
        """
        from common import classifier

        spec = classifier.get_spec(dataset)
        if split not in ("test", "train"):
            raise ValueError(f"split must be 'test' or 'train', got {split!r}.")
        data = classifier.load_labelled_data(dataset, data_dir)
        images, labels = (data.x_test, data.y_test) if split == "test" else (data.x_train, data.y_train)
        if class_id is None:
            class_id = spec.generated_class
        if class_id is not None:
            images = images[labels == class_id]
            if len(images) < 2:
                raise ValueError(f"The {split} split of {dataset} has {len(images)} images of class {class_id}.")
        model = classifier.load_scoring_model(dataset, weights_dir)
        return cls(model, images, class_names=spec.class_names, **kwargs)

    def embed(self, images):
        """Return (features, class probabilities or None) for images in [-1, 1]."""
        images = np.asarray(images, dtype=np.float32)
        if images.ndim != 4 or images.shape[1:] != self.image_shape or len(images) < 2:
            raise ValueError(f"Images have shape {images.shape}; expected (N, "
                             f"{', '.join(map(str, self.image_shape))}) with N >= 2.")
        if images.size and (images.min() < -1.001 or images.max() > 1.001):
            raise ValueError(
                f"Image values span [{images.min():.3g}, {images.max():.3g}]; expected [-1, 1] "
                "as the generators' tanh output and the data loaders produce."
            )
        # Padding to whole batches keeps every batch one shape, so the model's predict
        # function is traced once rather than again for each new remainder.
        count = len(images)
        padding = -count % self.batch_size
        if padding:
            images = np.concatenate([images, np.zeros((padding, *self.image_shape), np.float32)])
        outputs = self.model.predict(images, batch_size=self.batch_size, verbose=0)
        if isinstance(outputs, (list, tuple)):
            features, probabilities = outputs
            return np.asarray(features[:count], np.float64), np.asarray(probabilities[:count])
        return np.asarray(outputs[:count], np.float64), None

    def score(self, images):
        """Score generated images against the real ones.

        Args:
            images: float array shaped like the real images, values in [-1, 1], with
                at least two images.

        Returns:
            dict with "fd", "kid_mean", "kid_std", "num_samples" (generated images
            scored) and "num_real" (real images in the reference). With class outputs
            it also has "class_histogram" (list of counts per class) and
            "classes_covered" (see `classes_covered`). FD depends on the number of
            images, so compare only scores taken with the same number.
        """
        features, probabilities = self.embed(images)
        mean, cov = gaussian_moments(features)
        kid_mean, kid_std = kernel_distance(features, self.real_features, self.kid_subsets,
                                            self.kid_subset_size, self.seed)
        scores = {
            "fd": frechet_distance_from_moments(mean, cov, self.real_mean, self.real_cov),
            "kid_mean": kid_mean,
            "kid_std": kid_std,
            "num_samples": len(features),
            "num_real": len(self.real_features),
        }
        if probabilities is not None:
            histogram = class_histogram(np.argmax(probabilities, axis=1), probabilities.shape[1])
            scores["class_histogram"] = histogram.tolist()
            scores["classes_covered"] = classes_covered(histogram)
        return scores


def format_scores(scores):
    """Return a one-line summary of `Scorer.score` output, with the sample counts beside FD."""
    text = (f"FD {scores['fd']:.3f} (N={scores['num_samples']} vs {scores['num_real']} real), "
            f"KID {scores['kid_mean']:.4f} ± {scores['kid_std']:.4f}")
    if "classes_covered" in scores:
        text += f", {scores['classes_covered']}/{len(scores['class_histogram'])} classes covered"
    return text
