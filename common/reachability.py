"""Find output positions that no input position can reach through a generator's kernels.

Biases and batch normalisation are set aside: they add the same value everywhere and
so hide holes rather than fill them with information. The generator is cut into
blocks at every normalisation or dense layer, each block's input is set to all ones,
and the ones are pushed through copies of its convolutions whose kernels are all ones
and which have one channel. A position of a block's output that stays zero has an
empty receptive field in that block.

    python -m common.reachability                    # a table for every generator
    python -m common.reachability --update README.md # rewrite the README's table
"""

import argparse
from pathlib import Path

import keras
import numpy as np

CONVOLUTIONS = (keras.layers.Conv2D, keras.layers.Conv2DTranspose)
BLOCK_ENDS = (keras.layers.BatchNormalization, keras.layers.Dense)


def footprint_copy(layer):
    """Return a one-channel copy of a convolution with all-ones kernel and no bias."""
    config = layer.get_config()
    config.update(filters=1, use_bias=False, activation=None, kernel_initializer="ones",
                  name=f"{layer.name}_footprint")
    config.pop("dtype", None)
    return type(layer).from_config(config)


def propagate(layer, mask):
    """Push a 0/1 mask of shape (1, H, W, 1) through one convolution's footprint."""
    output = keras.ops.convert_to_numpy(footprint_copy(layer)(mask))
    return (output > 0).astype("float32")


def unreachable_blocks(generator):
    """Return one entry per block of convolutions that ends in a normalisation or the output.

    Each entry is a dict with the block's convolutions (see `describe`), the output shape (H, W)
    and `unreachable`, the fraction of output positions with an empty receptive field.
    """
    blocks, mask, names = [], None, []
    for layer in generator.layers:
        if isinstance(layer, CONVOLUTIONS):
            if mask is None:
                height, width = layer.input.shape[1:3]
                mask = np.ones((1, height, width, 1), dtype="float32")
            mask = propagate(layer, mask)
            names.append(describe(layer))
        elif isinstance(layer, BLOCK_ENDS) and mask is not None:
            blocks.append(block_entry(names, mask))
            mask, names = None, []
    if mask is not None:
        blocks.append(block_entry(names, mask))
    return blocks


def describe(layer):
    """Name a convolution by type, kernel and strides, for example 'ConvT 3x1 s2x2'."""
    kind = "ConvT" if isinstance(layer, keras.layers.Conv2DTranspose) else "Conv"
    kernel = "x".join(str(size) for size in layer.kernel_size)
    strides = "x".join(str(size) for size in layer.strides)
    return f"{kind} {kernel} s{strides}"


def block_entry(names, mask):
    """Summarise one block's reachability mask."""
    return {"layers": list(names), "shape": tuple(int(size) for size in mask.shape[1:3]),
            "unreachable": float(1.0 - mask.mean())}


def worst_fraction(generator):
    """Return the largest unreachable fraction over the generator's blocks."""
    return max(block["unreachable"] for block in unreachable_blocks(generator))


def reachability_table():
    """Return Markdown rows with each generator's worst block."""
    from common.registry import all_variants, load_variant

    rows = ["| Dataset | Variant | Block with most unreachable positions | Output | Unreachable |",
            "| --- | --- | --- | --- | ---: |"]
    for dataset, variant in all_variants():
        blocks = unreachable_blocks(load_variant(dataset, variant).build_generator())
        worst = max(blocks, key=lambda block: block["unreachable"])
        height, width = worst["shape"]
        block = " + ".join(worst["layers"]) if worst["unreachable"] else "none"
        shape = f"{height}x{width}" if worst["unreachable"] else "-"
        rows.append(f"| {dataset} | {variant} | {block} | {shape} | {worst['unreachable']:.1%} |")
    return "\n".join(rows)


SECTION = "reachability-table"


def main(argv=None):
    from common.readme import print_or_update

    parser = argparse.ArgumentParser(description="Print the unreachable output positions of every generator.")
    parser.add_argument("--update", type=Path, metavar="FILE",
                        help="rewrite the table between the markers in FILE instead of printing it")
    args = parser.parse_args(argv)
    print_or_update(reachability_table(), args.update, SECTION, "reachability table")


if __name__ == "__main__":
    main()
