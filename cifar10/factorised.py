"""CIFAR-10 frogs with the factorised generator (3,971,587 parameters).

    python cifar10/factorised.py                            # download CIFAR-10, 40 epochs
    python cifar10/factorised.py --data-dir DIR --epochs 4  # DIR/cifar10.npz, offline

Each 5x5 convolution becomes a 5x1 then a 1x5 convolution with no activation between
them. Only stride-1 layers are split: the 4x4 transposed convolution that upsamples
and the 7x7 output layer stay whole, so every output pixel stays reachable.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for `python cifar10/factorised.py`

import common  # noqa: E402,F401  (quiets TensorFlow's C++ logs, so it comes first)
import keras  # noqa: E402
from keras import layers  # noqa: E402

from cifar10.experiment import LATENT_DIM, make_experiment  # noqa: E402


def build_generator(latent_dim=LATENT_DIM):
    """Build the published factorised generator."""
    return keras.Sequential([
        keras.Input((latent_dim,)),
        layers.Dense(128 * 16 * 16),
        layers.LeakyReLU(),
        layers.Reshape((16, 16, 128)),
        layers.Conv2D(256, (5, 1), padding="same"),
        layers.Conv2D(256, (1, 5), padding="same"),
        layers.LeakyReLU(),
        layers.Conv2DTranspose(256, 4, strides=2, padding="same"),
        layers.LeakyReLU(),
        layers.Conv2D(256, (5, 1), padding="same"),
        layers.Conv2D(256, (1, 5), padding="same"),
        layers.LeakyReLU(),
        layers.Conv2D(256, (5, 1), padding="same"),
        layers.Conv2D(256, (1, 5), padding="same"),
        layers.LeakyReLU(),
        layers.Conv2D(3, 7, padding="same", activation="tanh"),
    ], name="factorised_generator")


if __name__ == "__main__":
    from common.train import main

    main(make_experiment("factorised", build_generator))
