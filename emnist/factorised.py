"""EMNIST Letters with the factorised generator (3,570,245 parameters).

    python emnist/factorised.py                             # download through TFDS, 100 epochs
    python emnist/factorised.py --data-dir DIR --epochs 10  # DIR/emnist_letters.npz, offline

The layers are MNIST's factorised generator with a 256-wide latent input and a 5x1,
1x5 upsampling pair in place of 3x1, 1x3. Both halves of that pair keep the published
strides (2, 2), so the flaw described in mnist/factorised.py applies here too.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for `python emnist/factorised.py`

import common  # noqa: E402,F401  (quiets TensorFlow's C++ logs, so it comes first)
from emnist.experiment import LATENT_DIM, make_experiment  # noqa: E402
from mnist import factorised  # noqa: E402


def build_generator(latent_dim=LATENT_DIM):
    """Build the published factorised EMNIST generator."""
    return factorised.build_generator(latent_dim, upsampling_kernel=5)


if __name__ == "__main__":
    from common.train import main

    main(make_experiment("factorised", build_generator))
