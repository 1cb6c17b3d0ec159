"""Score a trained generator: FD, KID and the predicted class histogram.

    python -m common.evaluate runs/mnist/naive/seed0 --dataset mnist --data-dir DIR
    python -m common.evaluate generator.keras --dataset mnist --samples 5000 --json scores.json

A run folder is scored through its `generator_best.keras` (best KID during training)
when it has one, else through `generator.keras`. Generated images are scored against
the dataset's test split in the feature space of its classifier in `classifiers/`.
"""

import argparse
import json
from pathlib import Path

import common  # noqa: F401  (quiets TensorFlow's C++ logs, so it comes first)
import keras
import numpy as np

from common.metrics import Scorer, format_scores

CHECKPOINTS = ("generator_best.keras", "generator.keras")


def find_generator(path):
    """Return the `.keras` file to score for a file or run folder path."""
    path = Path(path)
    if path.is_dir():
        for name in CHECKPOINTS:
            if (path / name).is_file():
                return path / name
        raise SystemExit(f"error: {path} contains neither {' nor '.join(CHECKPOINTS)}; "
                         "pass a run folder of a finished epoch or a .keras file")
    if path.suffix != ".keras" or not path.is_file():
        raise SystemExit(f"error: {path} is not a .keras file or a run folder")
    return path


def evaluate(path, dataset, data_dir, samples, seed):
    """Generate `samples` images from a saved generator and return its scores."""
    generator_path = find_generator(path)
    generator = keras.saving.load_model(generator_path, compile=False)
    latent_dim = generator.input_shape[-1]
    latent = np.random.default_rng(seed).standard_normal((samples, latent_dim)).astype(np.float32)
    images = np.clip(generator.predict(latent, batch_size=500, verbose=0), -1.0, 1.0)
    scores = Scorer.for_dataset(dataset, data_dir).score(images)
    return {"generator": str(generator_path), "dataset": dataset, "seed": seed, **scores}


def score_table(scores):
    """Return the scores as a small Markdown table, with the class histogram if present."""
    lines = ["| Metric | Value |", "| --- | ---: |",
             f"| FD ({scores['num_samples']} generated vs {scores['num_real']} real) | {scores['fd']:.3f} |",
             f"| KID | {scores['kid_mean']:.4f} ± {scores['kid_std']:.4f} |"]
    if "class_histogram" in scores:
        lines.append(f"| Classes covered | {scores['classes_covered']} of {len(scores['class_histogram'])} |")
        lines += [f"| Predicted class {index} | {count} |"
                  for index, count in enumerate(scores["class_histogram"])]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Score a trained generator with FD, KID and class coverage.")
    parser.add_argument("path", type=Path, help="a .keras generator file or a run folder")
    parser.add_argument("--dataset", required=True, choices=("mnist", "emnist", "cifar10"))
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="folder with the dataset's .npz; default: download")
    parser.add_argument("--samples", type=int, default=2000,
                        help="generated images to score; FD is only comparable at equal counts")
    parser.add_argument("--seed", type=int, default=0, help="seed of the latent vectors")
    parser.add_argument("--json", type=Path, default=None, help="also write the scores to this file")
    args = parser.parse_args(argv)
    if args.samples < 2:
        parser.error(f"--samples {args.samples} is too small; FD and KID need at least 2 images")

    scores = evaluate(args.path, args.dataset, args.data_dir, args.samples, args.seed)
    print(format_scores(scores))
    print(score_table(scores))
    print(json.dumps(scores, indent=2))
    if args.json is not None:
        args.json.write_text(json.dumps(scores, indent=2) + "\n")


if __name__ == "__main__":
    main()
