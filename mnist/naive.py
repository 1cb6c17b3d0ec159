"""MNIST with the naive generator: full 5x5 transposed convolutions (2,330,944 parameters).

    python mnist/naive.py                                   # download MNIST, 100 epochs
    python mnist/naive.py --data-dir DIR --epochs 10        # DIR/mnist.npz, offline
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for `python mnist/naive.py`

import common  # noqa: E402,F401  (quiets TensorFlow's C++ logs, so it comes first)
import keras  # noqa: E402
from keras import layers  # noqa: E402

from mnist.experiment import LATENT_DIM, make_experiment, projection  # noqa: E402


def build_generator(latent_dim=LATENT_DIM):
    """Build the published naive generator: 7x7x256 -> 7x7x128 -> 14x14x64 -> 28x28x1."""
    return keras.Sequential([
        *projection(latent_dim),
        layers.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False),
        layers.BatchNormalization(),
        layers.LeakyReLU(),
        layers.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False),
        layers.BatchNormalization(),
        layers.LeakyReLU(),
        layers.Conv2DTranspose(1, 5, strides=2, padding="same", use_bias=False, activation="tanh"),
    ], name="naive_generator")


if __name__ == "__main__":
    from common.train import main

    main(make_experiment("naive", build_generator))
