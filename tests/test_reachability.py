"""Reachability of output positions: the published factorised pairs leave holes."""

import keras
import numpy as np
import pytest

from common.reachability import unreachable_blocks, worst_fraction
from common.registry import load_variant

HOLE_FREE = [("mnist", "naive"), ("mnist", "separable"), ("emnist", "naive"),
             ("emnist", "separable"), ("cifar10", "naive"), ("cifar10", "factorised")]

# Fraction of the 28x28 map after the published stride-2 pair that no input reaches.
PUBLISHED_HOLES = {("mnist", "factorised"): 0.625, ("emnist", "factorised"): 0.5}


@pytest.mark.parametrize("dataset, variant", HOLE_FREE)
def test_no_unreachable_positions(dataset, variant):
    generator = load_variant(dataset, variant).build_generator()
    assert worst_fraction(generator) == 0.0


@pytest.mark.parametrize("dataset, variant", sorted(PUBLISHED_HOLES))
def test_published_factorised_pair_has_holes(dataset, variant):
    blocks = unreachable_blocks(load_variant(dataset, variant).build_generator())
    holes = [block for block in blocks if block["unreachable"] > 0]
    assert len(holes) == 1
    assert holes[0]["shape"] == (28, 28)
    assert holes[0]["unreachable"] == PUBLISHED_HOLES[dataset, variant]
    assert all(" s2x2" in layer for layer in holes[0]["layers"])


@pytest.mark.parametrize("dataset, variant", sorted(PUBLISHED_HOLES))
def test_holes_are_exact_zeros_on_random_input(dataset, variant):
    """Run the real pair, bias-free as published, and count positions zero in every channel."""
    generator = load_variant(dataset, variant).build_generator()
    pair = [layer for layer in generator.layers
            if isinstance(layer, keras.layers.Conv2DTranspose) and layer.strides == (2, 2)]
    assert len(pair) == 2
    inputs = np.random.default_rng(0).standard_normal((2, *pair[0].input.shape[1:])).astype("float32")
    outputs = keras.ops.convert_to_numpy(pair[1](pair[0](inputs)))
    zero_everywhere = np.all(outputs == 0.0, axis=(0, 3))
    assert zero_everywhere.shape == (28, 28)
    assert zero_everywhere.mean() == PUBLISHED_HOLES[dataset, variant]


def test_separable_pair_upsamples_once():
    generator = load_variant("mnist", "separable").build_generator()
    strides = [layer.strides for layer in generator.layers
               if isinstance(layer, keras.layers.Conv2DTranspose)]
    assert strides == [(1, 1), (1, 1), (2, 1), (1, 2), (2, 1), (1, 2)]
    assert generator.layers[-2].filters == 4  # The output pair keeps 4 channels between halves.
