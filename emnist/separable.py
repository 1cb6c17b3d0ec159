"""EMNIST Letters with the spatially separable generator.

    python emnist/separable.py                              # download through TFDS, 100 epochs
    python emnist/separable.py --data-dir DIR --epochs 10   # DIR/emnist_letters.npz, offline

The layers are those of mnist/separable.py with a 256-wide latent input. That file
explains the strides and the width between the two halves of each pair.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for `python emnist/separable.py`

import common  # noqa: E402,F401  (quiets TensorFlow's C++ logs, so it comes first)
from emnist.experiment import LATENT_DIM, make_experiment  # noqa: E402
from mnist import separable  # noqa: E402


def build_generator(latent_dim=LATENT_DIM):
    """Build the separable EMNIST generator."""
    return separable.build_generator(latent_dim)


if __name__ == "__main__":
    from common.train import main

    main(make_experiment("separable", build_generator))
