"""Shared parts of the CIFAR-10 frog experiments: discriminator, optimizers, data, settings.

The published experiment trains on the 5,000 training frogs (class 6) for 10,000
iterations of batch 20. Here that is 40 epochs of 250 steps, the same count, through
the shared loop. The discriminator uses RMSprop with learning rate 8e-4, the generator
4e-4, both with gradient values clipped to 1.0, and the discriminator's targets get
uniform noise of amplitude 0.05. The published code scaled images to [0, 1] although
the generator ends in tanh; the shared loader scales to [-1, 1] instead.
"""

import keras
from keras import layers

from common.data import CIFAR10_FILE, load_cifar10
from common.train import Experiment

LATENT_DIM = 32
IMAGE_SHAPE = (32, 32, 3)
BATCH_SIZE = 20
EPOCHS = 40  # 40 epochs x 250 steps = the published 10,000 iterations.
LABEL_NOISE = 0.05


def build_discriminator(image_shape=IMAGE_SHAPE):
    """Build the published discriminator: four 'valid' convolutions, dropout, a logit."""
    return keras.Sequential([
        keras.Input(image_shape),
        layers.Conv2D(128, 3, padding="valid"),
        layers.LeakyReLU(),
        layers.Conv2D(128, 4, strides=2, padding="valid"),
        layers.LeakyReLU(),
        layers.Conv2D(128, 4, strides=2, padding="valid"),
        layers.LeakyReLU(),
        layers.Conv2D(128, 4, strides=2, padding="valid"),
        layers.LeakyReLU(),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(1),
    ], name="discriminator")


def make_optimizers():
    """Return (discriminator, generator) RMSprop optimizers with clipped gradients."""
    return (keras.optimizers.RMSprop(8e-4, clipvalue=1.0),
            keras.optimizers.RMSprop(4e-4, clipvalue=1.0))


def make_experiment(variant, build_generator):
    """Describe the CIFAR-10 frog run of one generator variant."""
    return Experiment(
        dataset="cifar10", variant=variant,
        description=f"Train the {variant} DCGAN generator on CIFAR-10 frogs (class 6). "
                    "The default 40 epochs of 250 steps are the published 10,000 iterations.",
        build_generator=build_generator, build_discriminator=build_discriminator,
        load_data=load_cifar10, make_optimizers=make_optimizers,
        latent_dim=LATENT_DIM, epochs=EPOCHS, batch_size=BATCH_SIZE,
        data_file=CIFAR10_FILE, download_source="keras.datasets.cifar10",
        label_noise=LABEL_NOISE,
    )
