"""CIFAR-10 frogs with the naive generator: full 5x5 convolutions (6,264,579 parameters).

    python cifar10/naive.py                                 # download CIFAR-10, 40 epochs
    python cifar10/naive.py --data-dir DIR --epochs 4       # DIR/cifar10.npz, offline
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for `python cifar10/naive.py`

import common  # noqa: E402,F401  (quiets TensorFlow's C++ logs, so it comes first)
import keras  # noqa: E402
from keras import layers  # noqa: E402

from cifar10.experiment import LATENT_DIM, make_experiment  # noqa: E402


def build_generator(latent_dim=LATENT_DIM):
    """Build the published naive generator: 16x16x128 -> 32x32x256 -> 32x32x3."""
    return keras.Sequential([
        keras.Input((latent_dim,)),
        layers.Dense(128 * 16 * 16),
        layers.LeakyReLU(),
        layers.Reshape((16, 16, 128)),
        layers.Conv2D(256, 5, padding="same"),
        layers.LeakyReLU(),
        layers.Conv2DTranspose(256, 4, strides=2, padding="same"),
        layers.LeakyReLU(),
        layers.Conv2D(256, 5, padding="same"),
        layers.LeakyReLU(),
        layers.Conv2D(256, 5, padding="same"),
        layers.LeakyReLU(),
        layers.Conv2D(3, 7, padding="same", activation="tanh"),
    ], name="naive_generator")


if __name__ == "__main__":
    from common.train import main

    main(make_experiment("naive", build_generator))
