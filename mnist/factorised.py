"""MNIST with the factorised generator: each kxk kernel split into kx1 then 1xk.

    python mnist/factorised.py                              # download MNIST, 100 epochs
    python mnist/factorised.py --data-dir DIR --epochs 10   # DIR/mnist.npz, offline

The layers are those of the published code (1,588,805 parameters), flaws included.
Both halves of the upsampling pair use strides (2, 2), so a kernel one pixel wide
skips every other row or column, and the tanh is applied twice at the output.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for `python mnist/factorised.py`

import common  # noqa: E402,F401  (quiets TensorFlow's C++ logs, so it comes first)
import keras  # noqa: E402
from keras import layers  # noqa: E402

from mnist.experiment import LATENT_DIM, make_experiment, projection  # noqa: E402


def transposed(filters, kernel_size, strides=1, activation=None):
    """Return a bias-free transposed convolution with 'same' padding."""
    return layers.Conv2DTranspose(filters, kernel_size, strides=strides, padding="same",
                                  use_bias=False, activation=activation)


def build_generator(latent_dim=LATENT_DIM, upsampling_kernel=3):
    """Build the published factorised generator.

    `upsampling_kernel` is the long side of the stride-2 pair: 3 for MNIST, 5 for EMNIST.
    """
    k = upsampling_kernel
    return keras.Sequential([
        *projection(latent_dim),
        transposed(128, (3, 1)),
        transposed(128, (1, 3)),
        layers.BatchNormalization(),
        transposed(128, (3, 1)),
        transposed(128, (1, 3)),
        layers.BatchNormalization(),
        layers.LeakyReLU(),
        transposed(64, (k, 1), strides=2),
        transposed(64, (1, k), strides=2),
        layers.BatchNormalization(),
        layers.LeakyReLU(),
        transposed(1, (5, 1), activation="tanh"),
        transposed(1, (1, 5), activation="tanh"),
    ], name="factorised_generator")


if __name__ == "__main__":
    from common.train import main

    main(make_experiment("factorised", build_generator))
