"""Small CNN classifiers that supply the feature space for FD and KID.

    python -m common.classifier --dataset mnist --data-dir DIR             # DIR/mnist.npz
    python -m common.classifier --dataset emnist --data-dir DIR --epochs 12
    python -m common.classifier --dataset cifar10 --data-dir DIR

Training writes classifiers/<dataset>.weights.h5 and classifiers/<dataset>.json (test
accuracy, image counts, classes, settings and the command). `load_feature_extractor`
and `load_scoring_model` rebuild a network and load those weights.

Every dataset gets the same network: four 3x3 convolutions (the last three with
stride 2) with batch normalization, global average pooling, dropout, a 128-wide ReLU
layer named "features" and a softmax layer named "predictions". Random shifts (digits,
letters) or flips (CIFAR-10) come first and act only in training. The network has about
150,000 parameters, so a weights file is about 0.65 MB.
"""

import argparse
import json
import shlex
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Optional

import keras
import numpy as np
from keras import layers

from common.cli import positive_int
from common.data import (
    CIFAR10_CLASSES,
    CIFAR10_FILE,
    CIFAR10_FROG,
    EMNIST_LETTERS_FILE,
    MNIST_FILE,
    DataError,
    load_cifar10,
    load_emnist_letters,
    load_mnist,
)

CLASSIFIER_DIR = Path(__file__).resolve().parents[1] / "classifiers"
FEATURE_LAYER = "features"
PREDICTION_LAYER = "predictions"
FEATURE_DIM = 128


def load_emnist_labelled(data_dir):
    """Load EMNIST Letters upright, with labels 1-26 shifted to 0-25 (a-z)."""
    data = load_emnist_letters(data_dir)
    return replace(data, y_train=data.y_train - 1, y_test=data.y_test - 1)


def load_cifar10_labelled(data_dir):
    """Load all ten CIFAR-10 classes with their labels 0-9."""
    return load_cifar10(data_dir, class_id=None)


@dataclass(frozen=True)
class ClassifierSpec:
    """Training settings and class names of one dataset's classifier.

    `load_data(data_dir)` returns an `ImageData` with 0-based labels. `generated_class`
    is the class the GANs of this dataset learn, or None when they learn all classes.
    """

    dataset: str
    load_data: Callable
    data_file: str
    image_shape: tuple
    class_names: tuple
    epochs: int
    batch_size: int
    horizontal_flip: bool
    max_shift: float
    dropout: float
    balance_classes: bool
    label_note: str
    generated_class: Optional[int] = None

    @property
    def num_classes(self):
        return len(self.class_names)


SPECS = {
    "mnist": ClassifierSpec(
        dataset="mnist", load_data=load_mnist, data_file=MNIST_FILE,
        image_shape=(28, 28, 1), class_names=tuple(str(digit) for digit in range(10)),
        epochs=5, batch_size=128, horizontal_flip=False, max_shift=0.08, dropout=0.2,
        balance_classes=False,
        label_note="digits 0-9 as stored",
    ),
    "emnist": ClassifierSpec(
        dataset="emnist", load_data=load_emnist_labelled, data_file=EMNIST_LETTERS_FILE,
        image_shape=(28, 28, 1), class_names=tuple("abcdefghijklmnopqrstuvwxyz"),
        epochs=12, batch_size=128, horizontal_flip=False, max_shift=0.08, dropout=0.2,
        balance_classes=False,
        label_note="stored labels 1-26 (a-z) minus 1, so class 0 is 'a'",
    ),
    "cifar10": ClassifierSpec(
        dataset="cifar10", load_data=load_cifar10_labelled, data_file=CIFAR10_FILE,
        image_shape=(32, 32, 3), class_names=CIFAR10_CLASSES,
        epochs=10, batch_size=128, horizontal_flip=True, max_shift=0.0, dropout=0.3,
        balance_classes=True,
        label_note="CIFAR-10 ids 0-9 as stored", generated_class=CIFAR10_FROG,
    ),
}


def get_spec(dataset):
    """Return the `ClassifierSpec` of a dataset name, raising ValueError for unknown names."""
    try:
        return SPECS[dataset]
    except KeyError:
        raise ValueError(f"Unknown dataset {dataset!r}; expected one of {sorted(SPECS)}.") from None


def load_labelled_data(dataset, data_dir):
    """Load a dataset's images in [-1, 1] with the 0-based labels its classifier uses."""
    return get_spec(dataset).load_data(data_dir)


def conv_block(name, filters, strides):
    """Return a bias-free 3x3 convolution, batch normalization and ReLU, named by `name`."""
    return [
        layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False, name=f"{name}_conv"),
        # A fast-moving average makes the inference statistics usable after a few epochs.
        layers.BatchNormalization(momentum=0.9, name=f"{name}_bn"),
        layers.ReLU(name=f"{name}_relu"),
    ]


def build_classifier(spec):
    """Build the (untrained) classifier of a `ClassifierSpec`.

    The model maps images in [-1, 1] to class probabilities. Its layer "features"
    (FEATURE_DIM ReLU units) is the feature space of the metrics.
    """
    augment = []
    if spec.horizontal_flip:
        augment.append(layers.RandomFlip("horizontal", name="random_flip"))
    if spec.max_shift:
        # Shifted-in pixels take the background value of -1.
        augment.append(layers.RandomTranslation(spec.max_shift, spec.max_shift, fill_mode="constant",
                                                fill_value=-1.0, name="random_shift"))
    return keras.Sequential([
        keras.Input(spec.image_shape, name="images"),
        *augment,
        *conv_block("block1", 32, 1),
        *conv_block("block2", 64, 2),
        *conv_block("block3", 64, 2),
        *conv_block("block4", 128, 2),
        layers.GlobalAveragePooling2D(name="pool"),
        layers.Dropout(spec.dropout, name="dropout"),
        layers.Dense(FEATURE_DIM, activation="relu", name=FEATURE_LAYER),
        layers.Dense(spec.num_classes, activation="softmax", name=PREDICTION_LAYER),
    ], name=f"{spec.dataset}_classifier")


def weights_path(dataset, weights_dir=None):
    """Return the path of a dataset's weights file (default folder: classifiers/)."""
    return Path(weights_dir or CLASSIFIER_DIR) / f"{dataset}.weights.h5"


def load_classifier(dataset, weights_dir=None):
    """Build a dataset's classifier and load its trained weights.

    Raises FileNotFoundError, naming the training command, when the weights are missing.
    """
    spec = get_spec(dataset)
    path = weights_path(dataset, weights_dir)
    if not path.is_file():
        raise FileNotFoundError(
            f"No classifier weights at {path}. Train them with "
            f"`python -m common.classifier --dataset {dataset} --data-dir DIR`."
        )
    model = build_classifier(spec)
    model.load_weights(path)
    return model


def load_feature_extractor(dataset, weights_dir=None):
    """Load a dataset's trained classifier as two models.

    Returns:
        (feature_model, class_model): the first maps images in [-1, 1] shaped
        (N, H, W, C) to (N, FEATURE_DIM) features, the second to (N, num_classes)
        class probabilities.
    """
    classifier = load_classifier(dataset, weights_dir)
    features = keras.Model(classifier.inputs, classifier.get_layer(FEATURE_LAYER).output,
                           name=f"{dataset}_features")
    return features, classifier


def load_scoring_model(dataset, weights_dir=None):
    """Load a model that returns [features, class probabilities] in one forward pass."""
    classifier = load_classifier(dataset, weights_dir)
    return keras.Model(classifier.inputs,
                       [classifier.get_layer(FEATURE_LAYER).output, classifier.get_layer(PREDICTION_LAYER).output],
                       name=f"{dataset}_scoring")


def balanced_class_weights(labels, num_classes):
    """Return {class: weight} so that every class present adds the same total weight.

    The weight of a class is N / (classes present * its count); absent classes get none.
    """
    counts = np.bincount(labels, minlength=num_classes)
    present = np.flatnonzero(counts)
    return {int(c): float(len(labels) / (len(present) * counts[c])) for c in present}


def class_counts(labels, class_names):
    """Return {class name: image count} for the classes present in `labels`."""
    counts = np.bincount(labels, minlength=len(class_names))
    return {class_names[c]: int(n) for c, n in enumerate(counts) if n}


def per_class_accuracy(predicted, labels, class_names):
    """Return {class name: test accuracy} for the classes present in `labels`."""
    return {
        class_names[c]: round(float(np.mean(predicted[labels == c] == c)), 4)
        for c in np.unique(labels)
    }


def train_classifier(spec, data, epochs, batch_size, seed):
    """Train a fresh classifier on `data`; returns the model and the class weights used."""
    keras.utils.set_random_seed(seed)
    model = build_classifier(spec)
    steps = epochs * -(-len(data.x_train) // batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(2e-3, decay_steps=steps)
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    class_weight = balanced_class_weights(data.y_train, spec.num_classes) if spec.balance_classes else None
    model.fit(data.x_train, data.y_train, batch_size=batch_size, epochs=epochs, shuffle=True,
              class_weight=class_weight, verbose=1 if sys.stdout.isatty() else 2)
    return model, class_weight


def describe_augmentation(spec):
    """Return a short description of the random augmentation applied while training."""
    parts = []
    if spec.horizontal_flip:
        parts.append("random horizontal flips")
    if spec.max_shift:
        pixels = spec.max_shift * spec.image_shape[0]
        parts.append(f"random shifts of up to {spec.max_shift:g} of the image size ({pixels:.1f} pixels)")
    return ", ".join(parts) or "none"


def portable_source(text, data_dir):
    """Return `text` with the local data folder replaced by DIR."""
    return text if data_dir is None else text.replace(str(data_dir), "DIR")


def describe_run(spec, data, model, class_weight, args, seconds):
    """Build the JSON record of a trained classifier, evaluating it on the test split."""
    probabilities = model.predict(data.x_test, batch_size=500, verbose=0)
    predicted = np.argmax(probabilities, axis=1)
    accuracy = float(np.mean(predicted == data.y_test))
    names = spec.class_names
    record = {
        "dataset": spec.dataset,
        "test_accuracy": round(accuracy, 4),
        "per_class_test_accuracy": per_class_accuracy(predicted, data.y_test, names),
        "train_count": int(len(data.x_train)),
        "test_count": int(len(data.x_test)),
        "train_class_counts": class_counts(data.y_train, names),
        "test_class_counts": class_counts(data.y_test, names),
        "classes": list(names),
        "labels": spec.label_note,
        "augmentation": describe_augmentation(spec),
        "dropout": spec.dropout,
        "class_weight": None if class_weight is None else {names[c]: round(w, 4) for c, w in class_weight.items()},
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "seed": args.seed,
        "limit": args.limit,
        "parameters": int(model.count_params()),
        "feature_layer": FEATURE_LAYER,
        "feature_dim": FEATURE_DIM,
        # The record is committed, so the local data folder is written as DIR.
        "data_source": portable_source(data.source, args.data_dir),
        "train_seconds": round(seconds, 1),
        "keras_version": keras.__version__,
        "command": portable_source(
            " ".join(["python -m common.classifier", *map(shlex.quote, args.argv)]), args.data_dir),
    }
    missing = [names[c] for c in range(len(names)) if names[c] not in record["test_class_counts"]]
    if missing:
        record["test_classes_missing"] = missing
    return record


def build_parser():
    """Return the command-line parser of the training command."""
    parser = argparse.ArgumentParser(
        prog="python -m common.classifier",
        description="Train the feature classifier of one dataset and save its weights and a JSON record.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--dataset", required=True, choices=sorted(SPECS))
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="folder containing the dataset's NumPy archive; default downloads it")
    parser.add_argument("--epochs", type=positive_int, default=None,
                        help="passes over the training images (default: per dataset, "
                             + ", ".join(f"{s.dataset} {s.epochs}" for s in SPECS.values()) + ")")
    parser.add_argument("--batch-size", type=positive_int, default=None,
                        help="images per step (default: per dataset, 128)")
    parser.add_argument("--seed", type=int, default=0, help="seed for weights and shuffling")
    parser.add_argument("--limit", type=positive_int, default=None,
                        help="train on the first N training images only (for smoke runs)")
    parser.add_argument("--output-dir", type=Path, default=CLASSIFIER_DIR,
                        help="folder for <dataset>.weights.h5 and <dataset>.json")
    return parser


def main(argv=None):
    """Train, evaluate and save one dataset's classifier as the command-line arguments request."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # Recorded in the JSON so the run can be repeated.
    spec = SPECS[args.dataset]
    args.epochs = args.epochs or spec.epochs
    args.batch_size = args.batch_size or spec.batch_size
    if args.data_dir is not None and not args.data_dir.is_dir():
        raise SystemExit(f"error: --data-dir {args.data_dir} is not a folder; pass the folder "
                         f"that contains {spec.data_file}")
    try:
        data = spec.load_data(args.data_dir)
    except DataError as error:
        raise SystemExit(f"error: {error}") from None
    if args.limit is not None:
        data = data.limit(args.limit)
    print(f"Training the {args.dataset} classifier on {len(data.x_train)} images from {data.source} "
          f"for {args.epochs} epochs", flush=True)

    started = time.perf_counter()
    model, class_weight = train_classifier(spec, data, args.epochs, args.batch_size, args.seed)
    record = describe_run(spec, data, model, class_weight, args, time.perf_counter() - started)

    args.output_dir.mkdir(parents=True, exist_ok=True)
    path = weights_path(args.dataset, args.output_dir)
    # A compiled model also writes its optimizer state, which would triple the file.
    inference_model = build_classifier(spec)
    inference_model.set_weights(model.get_weights())
    inference_model.save_weights(path)
    json_path = args.output_dir / f"{args.dataset}.json"
    json_path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"Test accuracy {record['test_accuracy']:.4f} on {record['test_count']} images")
    if "test_classes_missing" in record:
        print(f"The test split has no images of: {' '.join(record['test_classes_missing'])}")
    print(f"Wrote {path} ({path.stat().st_size / 1e6:.2f} MB) and {json_path}")
    return record


if __name__ == "__main__":
    main()
