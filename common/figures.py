"""Figures for the README: quality over training, and variants side by side.

    python -m common.figures comparison --dataset mnist   # examples/mnist/comparison.png

The convergence figures are drawn by `python -m common.results report`.
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # Files only: no display is needed.
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from common.registry import REPOSITORY  # noqa: E402

COLOURS = {"naive": "tab:blue", "factorised": "tab:orange", "separable": "tab:green"}


def convergence_figure(dataset, runs_by_variant, path):
    """Plot FD and KID per epoch, mean over seeds with a band of one standard deviation.

    `runs_by_variant` maps a variant name to its run.json records (one per seed).
    """
    figure, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for variant, records in runs_by_variant.items():
        for axis, key, label in ((axes[0], "fd", "FD"), (axes[1], "kid", "KID")):
            epochs = min(len(record["epochs"]) for record in records)
            values = np.array([[entry.get(key, np.nan) for entry in record["epochs"][:epochs]]
                               for record in records])
            mean, std = values.mean(axis=0), values.std(axis=0)
            x = np.arange(1, epochs + 1)
            colour = COLOURS.get(variant)
            axis.plot(x, mean, marker="o", color=colour, label=f"{variant} ({len(records)} seeds)")
            axis.fill_between(x, mean - std, mean + std, color=colour, alpha=0.2)
            axis.set_xlabel("epoch")
            axis.set_ylabel(f"{label} (lower is better)")
            axis.set_yscale("log")
    settings = next(iter(runs_by_variant.values()))[0]["settings"]
    samples = next(iter(runs_by_variant.values()))[0]["epochs"][-1].get("num_samples")
    figure.suptitle(f"{dataset}: quality per epoch ({settings['train_images']:,} training images, "
                    f"batch {settings['batch_size']}, {samples} generated vs the test split)")
    axes[0].legend()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def comparison_figure(dataset, generators, real_images, latent_vectors, path, title):
    """Draw one row per generator from the same latent vectors, and a row of real images."""
    from common.samples import to_uint8

    rows = [(name, np.asarray(generator.predict(latent_vectors, verbose=0)))
            for name, generator in generators.items()]
    rows.append(("real (test)", real_images[:len(latent_vectors)]))
    columns = len(latent_vectors)
    figure, axes = plt.subplots(len(rows), columns, figsize=(columns * 1.1, len(rows) * 1.2),
                                squeeze=False)
    for row, (name, images) in enumerate(rows):
        for column in range(columns):
            axis = axes[row][column]
            pixels = to_uint8(images[column])
            axis.imshow(pixels[..., 0] if pixels.shape[-1] == 1 else pixels, cmap="gray", vmin=0, vmax=255)
            axis.set_xticks([])
            axis.set_yticks([])
        axes[row][0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=10)
    figure.suptitle(title, fontsize=10)
    figure.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(figure)
    return path


def draw_comparison(dataset, seed, data_dir, columns=8, checkpoint="generator.keras"):
    """Load each variant's run of `seed` from the results runs and draw the comparison."""
    import json

    import keras

    from common.registry import experiment_of, variants
    from common.results import run_paths
    from common.samples import fixed_latent_vectors

    generators, epochs = {}, set()
    for variant in variants(dataset):
        output_dir, run_dir = run_paths(dataset, variant, seed)
        if not (run_dir / checkpoint).is_file():
            continue
        generators[variant] = keras.saving.load_model(run_dir / checkpoint, compile=False)
        epochs.add(json.loads((output_dir / "run.json").read_text())["epochs"][-1]["epoch"])
    if not generators:
        raise SystemExit(f"error: no {checkpoint} under runs/results/{dataset}/*/seed{seed}; "
                         f"run `python -m common.results run --dataset {dataset}` first")
    experiment = experiment_of(dataset, next(iter(generators)))
    real = experiment.load_data(data_dir).x_test
    latent = fixed_latent_vectors(experiment.latent_dim, seed, count=columns)
    epoch_text = ", ".join(str(epoch) for epoch in sorted(epochs))
    title = f"{dataset}, seed {seed}, after epoch {epoch_text}: the same latent vectors in every row"
    return comparison_figure(dataset, generators, real, latent,
                             REPOSITORY / "examples" / dataset / "comparison.png", title)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Draw the side-by-side comparison of the variants.")
    commands = parser.add_subparsers(dest="command", required=True)
    compare = commands.add_parser("comparison", help="examples/<dataset>/comparison.png")
    compare.add_argument("--dataset", required=True, choices=("mnist", "emnist", "cifar10"))
    compare.add_argument("--seed", type=int, default=0, help="which seed's runs to draw")
    compare.add_argument("--data-dir", type=Path, default=None, help="offline dataset folder for real images")
    args = parser.parse_args(argv)
    print("Wrote", draw_comparison(args.dataset, args.seed, args.data_dir))


if __name__ == "__main__":
    main()
