"""EMNIST Letters with the naive generator (4,287,808 parameters).

    python emnist/naive.py                                  # download through TFDS, 100 epochs
    python emnist/naive.py --data-dir DIR --epochs 10       # DIR/emnist_letters.npz, offline

The layers are MNIST's naive generator with a 256-wide latent input.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for `python emnist/naive.py`

import common  # noqa: E402,F401  (quiets TensorFlow's C++ logs, so it comes first)
from emnist.experiment import LATENT_DIM, make_experiment  # noqa: E402
from mnist import naive  # noqa: E402


def build_generator(latent_dim=LATENT_DIM):
    """Build the published naive EMNIST generator."""
    return naive.build_generator(latent_dim)


if __name__ == "__main__":
    from common.train import main

    main(make_experiment("naive", build_generator))
