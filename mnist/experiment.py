"""Shared parts of the MNIST generators' experiments: discriminator, optimizers, data, settings.

The settings are those of the published MNIST experiment: latent size 100, Adam with
learning rate 1e-4 for both networks, batch 256, 100 epochs.
"""

import keras
from keras import layers

from common.data import MNIST_FILE, load_mnist
from common.train import Experiment

LATENT_DIM = 100
IMAGE_SHAPE = (28, 28, 1)
BATCH_SIZE = 256
EPOCHS = 100


def projection(latent_dim):
    """Return the layers every MNIST generator starts with: latent vector to 7x7x256."""
    return [
        keras.Input((latent_dim,)),
        layers.Dense(7 * 7 * 256, use_bias=False),
        layers.BatchNormalization(),
        layers.LeakyReLU(),
        layers.Reshape((7, 7, 256)),
    ]


def build_discriminator(image_shape=IMAGE_SHAPE):
    """Build the published discriminator: two strided 5x5 convolutions and a logit."""
    return keras.Sequential([
        keras.Input(image_shape),
        layers.Conv2D(64, 5, strides=2, padding="same"),
        layers.LeakyReLU(),
        layers.Dropout(0.3),
        layers.Conv2D(128, 5, strides=2, padding="same"),
        layers.LeakyReLU(),
        layers.Dropout(0.3),
        layers.Flatten(),
        layers.Dense(1),
    ], name="discriminator")


def make_optimizers():
    """Return (discriminator, generator) Adam optimizers with learning rate 1e-4."""
    return keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4)


def make_experiment(variant, build_generator):
    """Describe the MNIST run of one generator variant."""
    return Experiment(
        dataset="mnist", variant=variant,
        description=f"Train the {variant} DCGAN generator on MNIST digits.",
        build_generator=build_generator, build_discriminator=build_discriminator,
        load_data=load_mnist, make_optimizers=make_optimizers,
        latent_dim=LATENT_DIM, epochs=EPOCHS, batch_size=BATCH_SIZE,
        data_file=MNIST_FILE, download_source="keras.datasets.mnist",
    )
