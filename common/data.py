"""Dataset loaders and the tf.data input pipeline.

Every loader returns an `ImageData` whose images are float32, shaped (N, H, W, C) and
scaled to [-1, 1] to match the generators' tanh output. With `data_dir=None` a loader
downloads through Keras or TFDS. With a folder it reads a NumPy archive in the layout
Keras caches (`x_train`, `y_train`, `x_test`, `y_test`) and never touches the network.
Anything that goes wrong while loading raises `DataError` with the file and the fix.
"""

import zipfile
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

MNIST_FILE = "mnist.npz"
CIFAR10_FILE = "cifar10.npz"
EMNIST_LETTERS_FILE = "emnist_letters.npz"

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)
CIFAR10_FROG = 6


class DataError(Exception):
    """A dataset could not be loaded; the message names the file and the fix."""


@dataclass(frozen=True)
class ImageData:
    """Training and test images in [-1, 1], with their integer labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str

    def limit(self, count):
        """Return a copy that keeps only the first `count` training images."""
        return ImageData(
            self.x_train[:count], self.y_train[:count], self.x_test, self.y_test,
            f"{self.source}, first {count} training images",
        )


def scale_images(images):
    """Scale uint8 images to float32 in [-1, 1] and add a channel axis to grey ones."""
    images = images.astype(np.float32) / 127.5 - 1.0
    if images.ndim == 3:
        images = images[..., np.newaxis]
    return images


def read_archive(path, image_shape):
    """Read and check `x_train, y_train, x_test, y_test` from a NumPy archive.

    `image_shape` is the shape of one image, for example (28, 28). Labels may be
    shaped (N,) or (N, 1); they come back as (N,) int64.
    """
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path} is a folder, not a NumPy archive; pass --data-dir with the "
                        f"folder that contains the file {path.name}.")
    if not path.is_file():
        raise DataError(
            f"Dataset file not found: {path}. Pass --data-dir with the folder that "
            f"contains {path.name} (NumPy archive with x_train, y_train, x_test, y_test)."
        )
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = {"x_train", "y_train", "x_test", "y_test"} - set(archive.files)
            if missing:
                raise DataError(
                    f"Dataset file {path} lacks the arrays {sorted(missing)}. Expected "
                    "x_train, y_train, x_test and y_test as keras.datasets writes them."
                )
            arrays = [archive[key] for key in ("x_train", "y_train", "x_test", "y_test")]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(
            f"Failed to read {path} ({type(error).__name__}): the file is corrupt or not a "
            "NumPy .npz archive. Replace it with a fresh copy."
        ) from error

    x_train, y_train, x_test, y_test = arrays
    for split, images, labels in (("train", x_train, y_train), ("test", x_test, y_test)):
        check_split(path, split, images, labels, image_shape)
    return x_train, y_train.reshape(-1).astype(np.int64), x_test, y_test.reshape(-1).astype(np.int64)


def check_split(path, split, images, labels, image_shape):
    """Raise `DataError` unless one split has uint8 images of `image_shape` and matching labels."""
    expected = f"(N, {', '.join(str(size) for size in image_shape)})"
    if images.shape[1:] != tuple(image_shape) or len(images) == 0:
        raise DataError(
            f"x_{split} in {path} has shape {images.shape}; expected {expected} with N > 0. "
            "Check that the file belongs to this dataset."
        )
    if images.dtype != np.uint8:
        raise DataError(
            f"x_{split} in {path} has dtype {images.dtype}; expected uint8 pixel values "
            "0-255 as keras.datasets stores them."
        )
    if labels.shape not in ((len(images),), (len(images), 1)):
        raise DataError(
            f"y_{split} in {path} has shape {labels.shape}; expected ({len(images)},) "
            f"or ({len(images)}, 1) to match x_{split}."
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"y_{split} in {path} has dtype {labels.dtype}; expected integer class ids.")


def select_class(x, y, class_id, valid_ids, where):
    """Keep the images of one class, or all images when `class_id` is None."""
    if class_id is None:
        return x, y
    if class_id not in valid_ids:
        raise DataError(
            f"Invalid class id {class_id} for {where}; expected one of "
            f"{min(valid_ids)}-{max(valid_ids)}."
        )
    keep = y == class_id
    if not keep.any():
        raise DataError(
            f"No images of class {class_id} in {where}. The file contains classes "
            f"{sorted(set(y.tolist()))}; pick one of those or use the complete dataset."
        )
    return x[keep], y[keep]


def download_failed(name, error, file_name):
    """Build the `DataError` for a failed download, pointing at the offline route."""
    return DataError(
        f"Failed to download {name}: {error}. Without internet access, pass "
        f"--data-dir DIR where DIR/{file_name} is a NumPy archive with x_train, y_train, "
        "x_test and y_test."
    )


def load_mnist(data_dir=None):
    """Load MNIST (60,000 training and 10,000 test digits, 28x28 grey)."""
    if data_dir is None:
        try:
            (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
        except Exception as error:  # Keras raises several types for network failures.
            raise download_failed("MNIST with keras.datasets.mnist", error, MNIST_FILE) from error
        source = "keras.datasets.mnist"
    else:
        path = Path(data_dir) / MNIST_FILE
        x_train, y_train, x_test, y_test = read_archive(path, (28, 28))
        source = str(path)
    return ImageData(scale_images(x_train), y_train.reshape(-1), scale_images(x_test),
                     y_test.reshape(-1), source)


def load_cifar10(data_dir=None, class_id=CIFAR10_FROG):
    """Load CIFAR-10 (32x32 RGB), keeping one class; `class_id=None` keeps all ten."""
    if data_dir is None:
        try:
            (x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
        except Exception as error:
            raise download_failed("CIFAR-10 with keras.datasets.cifar10", error, CIFAR10_FILE) from error
        where = "keras.datasets.cifar10"
        y_train, y_test = y_train.reshape(-1), y_test.reshape(-1)
    else:
        where = str(Path(data_dir) / CIFAR10_FILE)
        x_train, y_train, x_test, y_test = read_archive(where, (32, 32, 3))

    valid = range(len(CIFAR10_CLASSES))
    x_train, y_train = select_class(x_train, y_train, class_id, valid, f"{where} (train)")
    x_test, y_test = select_class(x_test, y_test, class_id, valid, f"{where} (test)")
    name = "all classes" if class_id is None else f"class {class_id} ({CIFAR10_CLASSES[class_id]})"
    return ImageData(scale_images(x_train), y_train, scale_images(x_test), y_test,
                     f"{where}, {name}")


def load_emnist_letters(data_dir=None, class_id=None):
    """Load EMNIST Letters (28x28 grey, labels 1-26 for a-z), turned upright.

    EMNIST stores every image transposed (TFDS and the original files alike), so the
    loader swaps height and width. `class_id` keeps one letter (1 for a, 26 for z).
    """
    if data_dir is None:
        x_train, y_train, x_test, y_test = download_emnist_letters()
        where = "tensorflow_datasets emnist/letters"
    else:
        where = str(Path(data_dir) / EMNIST_LETTERS_FILE)
        x_train, y_train, x_test, y_test = read_archive(where, (28, 28))

    valid = range(1, 27)
    x_train, y_train = select_class(x_train, y_train, class_id, valid, f"{where} (train)")
    x_test, y_test = select_class(x_test, y_test, class_id, valid, f"{where} (test)")
    x_train, x_test = x_train.transpose(0, 2, 1), x_test.transpose(0, 2, 1)
    return ImageData(scale_images(x_train), y_train, scale_images(x_test), y_test, where)


def download_emnist_letters():
    """Fetch EMNIST Letters through TFDS as uint8 arrays in the stored (transposed) layout."""
    try:
        import tensorflow_datasets as tfds
    except ImportError as error:
        raise DataError(
            "EMNIST Letters downloads through tensorflow_datasets, which is not installed. "
            "Run `pip install tensorflow-datasets`, or pass --data-dir DIR with "
            f"DIR/{EMNIST_LETTERS_FILE}."
        ) from error
    try:
        splits = tfds.as_numpy(tfds.load("emnist/letters", split=["train", "test"],
                                         batch_size=-1, as_supervised=True))
    except ImportError as error:
        raise DataError(f"tensorflow_datasets failed to import a module it needs: {error}. "
                        "Run `pip install -r requirements.txt`.") from error
    except Exception as error:  # TFDS raises many types for download and prepare failures.
        raise download_failed("EMNIST Letters with tensorflow_datasets", error,
                              EMNIST_LETTERS_FILE) from error
    (x_train, y_train), (x_test, y_test) = splits
    return x_train[..., 0], y_train, x_test[..., 0], y_test


class ShuffledBatches(keras.utils.PyDataset):
    """NumPy stand-in for the tf.data pipeline where TensorFlow is not installed.

    Like `make_dataset`'s pipeline it reshuffles every epoch, yields fixed-size batches
    and drops the last partial batch. `fit` takes a `PyDataset` on every backend.
    """

    def __init__(self, images, batch_size, seed):
        super().__init__()
        self.images = images
        self.batch_size = batch_size
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(images))

    def __len__(self):
        return len(self.images) // self.batch_size

    def __getitem__(self, index):
        rows = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        return self.images[np.sort(rows)]

    def on_epoch_end(self):
        self.order = self.rng.permutation(len(self.images))


def make_dataset(images, batch_size, seed):
    """Build the training pipeline: cached, reshuffled every epoch, fixed-size batches.

    Dropping the last partial batch keeps every step the same shape, so the training
    step is traced once. Because of the reshuffle, a different remainder is left out
    each epoch.
    Without TensorFlow the pipeline is a NumPy `ShuffledBatches` instead of tf.data.
    """
    try:
        import tensorflow as tf
    except ImportError:
        return ShuffledBatches(images, batch_size, seed)

    dataset = tf.data.Dataset.from_tensor_slices(images).cache()
    dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
