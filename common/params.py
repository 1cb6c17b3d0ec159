"""Print the parameter and compute table of every generator, as the README shows it.

    python -m common.params                    # print the Markdown table
    python -m common.params --update README.md # rewrite the table between its markers

Parameter counts are Keras's `count_params()`, which includes batch normalisation's
moving statistics (4 numbers per channel). Multiply-accumulates (MACs) are per
generated image, for the dense and convolution layers (`common.flops.count_macs`).
"""

import argparse
from pathlib import Path

from common.flops import count_macs
from common.readme import print_or_update
from common.registry import all_variants, load_experiment, load_variant

SECTION = "parameter-table"


def change(value, baseline):
    """Format the difference from the naive generator, for example '-742,139 (-31.84%)'."""
    if value == baseline:
        return "-"
    return f"{value - baseline:+,} ({(value - baseline) / baseline:+.2%})"


def generator_rows():
    """Return (dataset, variant, parameters, MACs, discriminator parameters) per generator."""
    rows = []
    for dataset, variant in all_variants():
        generator = load_variant(dataset, variant).build_generator()
        discriminator = load_experiment(dataset).build_discriminator()
        rows.append((dataset, variant, generator.count_params(), count_macs(generator),
                     discriminator.count_params()))
    return rows


def parameter_table(rows=None):
    """Return the Markdown table, comparing each generator with its dataset's naive one."""
    rows = generator_rows() if rows is None else rows
    naive = {dataset: (params, macs) for dataset, variant, params, macs, _ in rows if variant == "naive"}
    lines = [
        "| Dataset | Generator | Parameters | Change vs naive | MACs per image | Change vs naive "
        "| Discriminator parameters |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for dataset, variant, params, macs, discriminator in rows:
        base_params, base_macs = naive[dataset]
        lines.append(f"| {dataset} | {variant} | {params:,} | {change(params, base_params)} | "
                     f"{macs:,} | {change(macs, base_macs)} | {discriminator:,} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Print the generators' parameter and MAC table.")
    parser.add_argument("--update", type=Path, metavar="FILE",
                        help="rewrite the table between the markers in FILE instead of printing it")
    args = parser.parse_args(argv)
    print_or_update(parameter_table(), args.update, SECTION, "parameter table")


if __name__ == "__main__":
    main()
