"""Loaders on small real samples, and a clear DataError for every kind of bad input."""

import numpy as np
import pytest

from common import data
from common.data import DataError, load_cifar10, load_emnist_letters, load_mnist
from conftest import SAMPLE_DIR, shared_dataset


def write_archive(folder, name, **arrays):
    """Write an archive with valid MNIST-like arrays, overridden by `arrays`."""
    rng = np.random.default_rng(0)
    content = {
        "x_train": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, 20).astype(np.uint8),
        "x_test": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, 5).astype(np.uint8),
    }
    content.update(arrays)
    np.savez(folder / name, **content)
    return folder


def test_mnist_sample_shapes_and_range():
    images = load_mnist(SAMPLE_DIR)
    assert images.x_train.shape == (300, 28, 28, 1)
    assert images.x_test.shape == (100, 28, 28, 1)
    assert images.x_train.dtype == np.float32
    assert images.x_train.min() == -1.0
    assert images.x_train.max() == 1.0
    assert images.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]


def test_cifar10_keeps_frogs_with_column_labels():
    with np.load(SAMPLE_DIR / "cifar10.npz") as archive:
        assert archive["y_train"].shape[1:] == (1,)
    frogs = load_cifar10(SAMPLE_DIR)
    assert frogs.x_train.shape == (48, 32, 32, 3)
    assert frogs.x_test.shape == (10, 32, 32, 3)
    assert set(frogs.y_train.tolist()) == {6}
    assert frogs.x_train.min() >= -1.0
    assert frogs.x_train.max() <= 1.0


def test_cifar10_without_class_keeps_all():
    everything = load_cifar10(SAMPLE_DIR, class_id=None)
    assert len(everything.x_train) == 48 + 9 * 3
    assert set(everything.y_train.tolist()) == set(range(10))


def test_emnist_letters_are_upright():
    """Upright 'u' has its ink in the bottom half and balanced left to right.

    Stored (transposed) letters would have that imbalance between left and right.
    """
    letters = load_emnist_letters(SAMPLE_DIR)
    u = (letters.x_train[letters.y_train == 21, ..., 0] + 1) / 2
    assert len(u) == 8
    top, bottom = u[:, :14].sum(), u[:, 14:].sum()
    left, right = u[:, :, :14].sum(), u[:, :, 14:].sum()
    assert bottom > 1.3 * top
    assert abs(left - right) < 0.15 * (left + right)


def test_emnist_one_letter():
    letters = load_emnist_letters(SAMPLE_DIR, class_id=16)
    assert letters.x_train.shape == (8, 28, 28, 1)
    assert set(letters.y_train.tolist()) == {16}


def test_missing_file_names_file_and_fix(tmp_path):
    with pytest.raises(DataError, match=r"mnist\.npz.*--data-dir"):
        load_mnist(tmp_path)


def test_corrupt_file(tmp_path):
    (tmp_path / "mnist.npz").write_bytes(b"not a zip archive")
    with pytest.raises(DataError, match=r"corrupt"):
        load_mnist(tmp_path)


def test_missing_arrays(tmp_path):
    np.savez(tmp_path / "mnist.npz", x_train=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(DataError, match=r"lacks the arrays"):
        load_mnist(tmp_path)


def test_wrong_image_shape(tmp_path):
    write_archive(tmp_path, "mnist.npz", x_train=np.zeros((20, 32, 32), np.uint8))
    with pytest.raises(DataError, match=r"x_train .* shape \(20, 32, 32\); expected \(N, 28, 28\)"):
        load_mnist(tmp_path)


def test_wrong_image_dtype(tmp_path):
    write_archive(tmp_path, "mnist.npz", x_test=np.zeros((5, 28, 28), np.float32))
    with pytest.raises(DataError, match=r"x_test .* dtype float32; expected uint8"):
        load_mnist(tmp_path)


def test_label_count_mismatch(tmp_path):
    write_archive(tmp_path, "mnist.npz", y_train=np.zeros(19, np.uint8))
    with pytest.raises(DataError, match=r"y_train .* shape \(19,\)"):
        load_mnist(tmp_path)


def test_cifar10_wrong_shape(tmp_path):
    write_archive(tmp_path, "cifar10.npz")
    with pytest.raises(DataError, match=r"expected \(N, 32, 32, 3\)"):
        load_cifar10(tmp_path)


@pytest.mark.parametrize("class_id", [-1, 10])
def test_cifar10_class_out_of_range(class_id):
    with pytest.raises(DataError, match=rf"Invalid class id {class_id}.*0-9"):
        load_cifar10(SAMPLE_DIR, class_id=class_id)


@pytest.mark.parametrize("class_id", [0, 27])
def test_emnist_class_out_of_range(class_id):
    with pytest.raises(DataError, match=rf"Invalid class id {class_id}.*1-26"):
        load_emnist_letters(SAMPLE_DIR, class_id=class_id)


def test_empty_class(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.array([0, 1, 2, 3] * 5, np.uint8)
    write_archive(tmp_path, "cifar10.npz",
                  x_train=rng.integers(0, 256, (20, 32, 32, 3), dtype=np.uint8), y_train=labels,
                  x_test=rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8),
                  y_test=np.array([0, 1, 6, 6], np.uint8))
    with pytest.raises(DataError, match=r"No images of class 6 .*train"):
        load_cifar10(tmp_path)


def test_emnist_test_split_lacks_letter():
    with pytest.raises(DataError, match=r"No images of class 26"):
        load_emnist_letters(SAMPLE_DIR, class_id=26)


def test_failed_download_points_to_data_dir(monkeypatch):
    import keras

    def offline():
        raise OSError("network is unreachable")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(DataError, match=r"Failed to download MNIST.*network is unreachable.*--data-dir"):
        load_mnist()


def test_emnist_download_failure(monkeypatch):
    import tensorflow_datasets as tfds

    def offline(*args, **kwargs):
        raise ConnectionError("no route to host")

    monkeypatch.setattr(tfds, "load", offline)
    with pytest.raises(DataError, match=r"EMNIST Letters.*no route to host.*--data-dir"):
        load_emnist_letters()


def test_pipeline_batches_have_fixed_size():
    images = load_mnist(SAMPLE_DIR).x_train
    batches = list(data.make_dataset(images, 64, seed=0))
    assert len(batches) == 300 // 64
    assert {tuple(batch.shape) for batch in batches} == {(64, 28, 28, 1)}


def test_real_mnist_complete():
    images = load_mnist(shared_dataset("mnist"))
    assert images.x_train.shape == (60000, 28, 28, 1)
    assert images.x_test.shape == (10000, 28, 28, 1)


def test_real_cifar10_frogs():
    frogs = load_cifar10(shared_dataset("cifar10"))
    assert frogs.x_train.shape == (5000, 32, 32, 3)
    assert frogs.x_test.shape == (1000, 32, 32, 3)


def test_numpy_pipeline_matches_tf_data_contract():
    images = load_mnist(SAMPLE_DIR).x_train
    batches = data.ShuffledBatches(images, 64, seed=0)
    assert len(batches) == 300 // 64
    first_epoch = np.concatenate([batches[index] for index in range(len(batches))])
    assert first_epoch.shape == (256, 28, 28, 1)
    assert len(np.unique(first_epoch.reshape(256, -1), axis=0)) == 256
    batches.on_epoch_end()
    assert not np.array_equal(batches[0], first_epoch[:64])
