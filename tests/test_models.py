"""Generators and discriminators reproduce the published layer sizes exactly."""

import keras
import numpy as np
import pytest

from common.registry import load_experiment, load_variant

# (dataset, variant, parameters, output shape); published counts except `separable`.
GENERATORS = [
    ("mnist", "naive", 2_330_944, (28, 28, 1)),
    ("mnist", "factorised", 1_588_805, (28, 28, 1)),
    ("mnist", "separable", 1_613_844, (28, 28, 1)),
    ("emnist", "naive", 4_287_808, (28, 28, 1)),
    ("emnist", "factorised", 3_570_245, (28, 28, 1)),
    ("emnist", "separable", 3_570_708, (28, 28, 1)),
    ("cifar10", "naive", 6_264_579, (32, 32, 3)),
    ("cifar10", "factorised", 3_971_587, (32, 32, 3)),
]

LATENT_SIZES = {"mnist": 100, "emnist": 256, "cifar10": 32}
DISCRIMINATOR_PARAMETERS = {"mnist": 212_865, "emnist": 212_865, "cifar10": 790_913}


@pytest.mark.parametrize("dataset, variant, parameters, shape", GENERATORS)
def test_generator_parameter_count(dataset, variant, parameters, shape):
    generator = load_variant(dataset, variant).build_generator()
    assert generator.count_params() == parameters


@pytest.mark.parametrize("dataset, variant, parameters, shape", GENERATORS)
def test_generator_output_shape_and_range(dataset, variant, parameters, shape):
    generator = load_variant(dataset, variant).build_generator()
    latent = np.random.default_rng(0).standard_normal((3, LATENT_SIZES[dataset])).astype("float32")
    images = keras.ops.convert_to_numpy(generator(latent, training=False))
    assert images.shape == (3, *shape)
    assert images.min() >= -1.0
    assert images.max() <= 1.0


@pytest.mark.parametrize("dataset", sorted(DISCRIMINATOR_PARAMETERS))
def test_discriminator_gives_one_logit(dataset):
    experiment = load_experiment(dataset)
    discriminator = experiment.build_discriminator()
    images = np.zeros((2, *experiment.IMAGE_SHAPE), dtype="float32")
    assert discriminator(images).shape == (2, 1)
    assert discriminator.count_params() == DISCRIMINATOR_PARAMETERS[dataset]


def test_scripts_import_without_training():
    from mnist.factorised import build_generator

    assert build_generator().name == "factorised_generator"
