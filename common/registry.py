"""Find the experiment scripts in the repository without importing them by name.

A dataset folder is one that contains `experiment.py`; each other module in it that
defines `build_generator` is a generator variant. Discovery keeps `common` free of
imports from the dataset scripts, which import `common`.
"""

import importlib
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
DATASET_ORDER = ("mnist", "emnist", "cifar10")
VARIANT_ORDER = ("naive", "factorised", "separable")


def order_key(name, preferred):
    """Sort known names in their preferred order and any others after them."""
    return (preferred.index(name) if name in preferred else len(preferred), name)


def datasets():
    """Return the dataset folder names, MNIST first."""
    found = [path.parent.name for path in REPOSITORY.glob("*/experiment.py")]
    return sorted(found, key=lambda name: order_key(name, DATASET_ORDER))


def variants(dataset):
    """Return the variant names of a dataset folder, naive first."""
    names = [path.stem for path in (REPOSITORY / dataset).glob("*.py")
             if path.stem not in ("__init__", "experiment")]
    found = [name for name in names if hasattr(load_variant(dataset, name), "build_generator")]
    return sorted(found, key=lambda name: order_key(name, VARIANT_ORDER))


def load_variant(dataset, variant):
    """Import `<dataset>/<variant>.py` as a module."""
    return importlib.import_module(f"{dataset}.{variant}")


def load_experiment(dataset):
    """Import `<dataset>/experiment.py` as a module."""
    return importlib.import_module(f"{dataset}.experiment")


def experiment_of(dataset, variant):
    """Return the `Experiment` that `python <dataset>/<variant>.py` trains."""
    module = load_variant(dataset, variant)
    return load_experiment(dataset).make_experiment(variant, module.build_generator)


def all_variants():
    """Return (dataset, variant) pairs for every generator in the repository."""
    return [(dataset, variant) for dataset in datasets() for variant in variants(dataset)]
