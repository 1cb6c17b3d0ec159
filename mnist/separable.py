"""MNIST with a spatially separable generator: the factorisation with correct strides.

    python mnist/separable.py                               # download MNIST, 100 epochs
    python mnist/separable.py --data-dir DIR --epochs 10    # DIR/mnist.npz, offline

Every 5x5 transposed convolution of the naive generator becomes a 5x1 then a 1x5
transposed convolution. An upsampling layer's stride 2 goes only along each kernel's
long axis, (2, 1) then (1, 2), so the pair upsamples exactly once and every output
pixel is reachable. The published factorised generator strides (2, 2) in both halves
instead, which leaves 62.5% of its 28x28 map unreachable before normalisation.

Width between the two halves: the pair's output width, as in Inception v3, except for
the output pair, whose output is a single channel. There the width is the largest
that keeps the pair no larger than the 5x5 kernel it replaces (4 for 64 -> 1), so the
second half still sees several feature maps.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for `python mnist/separable.py`

import common  # noqa: E402,F401  (quiets TensorFlow's C++ logs, so it comes first)
import keras  # noqa: E402
from keras import layers  # noqa: E402

from mnist.experiment import LATENT_DIM, make_experiment, projection  # noqa: E402


def middle_width(kernel_size, in_channels, out_channels):
    """Return the channel count between the kx1 and 1xk halves of a pair."""
    if out_channels > 1:
        return out_channels
    # Weights of the pair, k*in*m + k*m*out, must not exceed the k*k*in*out they replace.
    return max(1, kernel_size * in_channels * out_channels // (in_channels + out_channels))


def separable_pair(in_channels, filters, kernel_size=5, stride=1, activation=None):
    """Return a kx1 then 1xk transposed convolution, each striding along its long axis."""
    middle = middle_width(kernel_size, in_channels, filters)
    return [
        layers.Conv2DTranspose(middle, (kernel_size, 1), strides=(stride, 1), padding="same",
                               use_bias=False),
        layers.Conv2DTranspose(filters, (1, kernel_size), strides=(1, stride), padding="same",
                               use_bias=False, activation=activation),
    ]


def build_generator(latent_dim=LATENT_DIM):
    """Build the separable generator: 7x7x256 -> 7x7x128 -> 14x14x64 -> 28x28x1."""
    return keras.Sequential([
        *projection(latent_dim),
        *separable_pair(256, 128),
        layers.BatchNormalization(),
        layers.LeakyReLU(),
        *separable_pair(128, 64, stride=2),
        layers.BatchNormalization(),
        layers.LeakyReLU(),
        *separable_pair(64, 1, stride=2, activation="tanh"),
    ], name="separable_generator")


if __name__ == "__main__":
    from common.train import main

    main(make_experiment("separable", build_generator))
