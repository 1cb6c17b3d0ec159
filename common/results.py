"""Train every variant of a dataset over several seeds, then tabulate and plot the scores.

    # The full protocol (published epochs, all training images), on a GPU:
    python -m common.results run --dataset mnist --seeds 0 1 2 --data-dir DIR
    # The short CPU protocol whose numbers the README shows:
    python -m common.results run --dataset mnist --seeds 0 1 2 --epochs 10 --limit 1280 \\
        --score-samples 1000 --data-dir DIR
    # Score every epoch's generator snapshot again with the committed classifiers:
    python -m common.results rescore --dataset mnist
    # Rebuild results/results.json, results/RESULTS.md, the README table and the
    # convergence figures from the run.json files of finished runs:
    python -m common.results report

`run` calls `python <dataset>/<variant>.py` once per variant and seed, writing samples
and run.json to examples/<dataset>/<variant>/seed<seed>/ and run state to
runs/results/<dataset>/<variant>/seed<seed>/. A run that was interrupted resumes
when the same command is given again.
"""

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np

from common.registry import REPOSITORY, variants

EXAMPLES = REPOSITORY / "examples"
RESULTS = REPOSITORY / "results"
SECTION = "results-table"


def run_paths(dataset, variant, seed):
    """Return (output folder, run folder) of one seed's run."""
    return (EXAMPLES / dataset / variant / f"seed{seed}",
            REPOSITORY / "runs" / "results" / dataset / variant / f"seed{seed}")


def train_all(args):
    """Train each variant and seed in turn with the dataset scripts' own command line."""
    for seed in args.seeds:
        for variant in args.variants or variants(args.dataset):
            output_dir, run_dir = run_paths(args.dataset, variant, seed)
            command = [sys.executable, str(REPOSITORY / args.dataset / f"{variant}.py"),
                       "--seed", str(seed), "--output-dir", str(output_dir), "--run-dir", str(run_dir),
                       "--score-samples", str(args.score_samples)]
            for flag, value in (("--epochs", args.epochs), ("--limit", args.limit),
                                ("--data-dir", args.data_dir), ("--batch-size", args.batch_size)):
                if value is not None:
                    command += [flag, str(value)]
            print("Running", " ".join(command), flush=True)
            subprocess.run(command, cwd=REPOSITORY, check=True)


def load_runs(root=EXAMPLES):
    """Return {(dataset, variant): [run.json record, ...]} for every seed folder under `root`."""
    runs = {}
    for path in sorted(Path(root).glob("*/*/seed*/run.json")):
        record = json.loads(path.read_text())
        if record["epochs"]:
            settings = record["settings"]
            runs.setdefault((settings["dataset"], settings["variant"]), []).append(record)
    return runs


def throughput(record):
    """Return the median training images per second over a run's epochs after the first.

    The first epoch includes tracing the step, so it is left out when others exist.
    """
    settings = record["settings"]
    images = settings["train_images"] // settings["batch_size"] * settings["batch_size"]
    epochs = record["epochs"][1:] or record["epochs"]
    rates = [images / entry["train_seconds"] for entry in epochs if entry.get("train_seconds")]
    return float(np.median(rates)) if rates else None


def rescore(args):
    """Score each epoch snapshot of the dataset's runs again and rewrite their run.json.

    Every epoch is scored from the same latent vectors the training callback used, so
    only the classifier can change the numbers.
    """
    import keras

    from common.classifier import weights_path
    from common.metrics import Scorer
    from common.samples import fixed_latent_vectors
    from common.train import portable_source

    scorers = {}
    for (dataset, variant), records in sorted(load_runs().items()):
        if dataset != args.dataset:
            continue
        for record in records:
            settings = record["settings"]
            data_dir = args.data_dir
            if data_dir not in scorers:
                scorers[data_dir] = Scorer.for_dataset(dataset, data_dir)
            output_dir, run_dir = run_paths(dataset, variant, settings["seed"])
            for entry in record["epochs"]:
                snapshot = run_dir / "generators" / f"epoch_{entry['epoch']:04d}.keras"
                if not snapshot.is_file():
                    raise SystemExit(f"error: snapshot {snapshot} is missing; train the run again")
                generator = keras.saving.load_model(snapshot, compile=False)
                latent = fixed_latent_vectors(generator.input_shape[-1], settings["seed"],
                                              count=settings["score_samples"])
                images = np.clip(generator.predict(latent, batch_size=500, verbose=0), -1.0, 1.0)
                scores = scorers[data_dir].score(images)
                entry.update(scores, kid=scores["kid_mean"], kid_std=scores["kid_std"])
            record["scored_with"] = str(weights_path(dataset).relative_to(REPOSITORY))
            settings["data_source"] = portable_source(settings["data_source"], data_dir)
            (output_dir / "run.json").write_text(json.dumps(record, indent=2) + "\n")
            print(f"Rescored {len(record['epochs'])} epochs of {dataset}/{variant}/seed{settings['seed']}",
                  flush=True)


def mean_std(values):
    """Return (mean, standard deviation over seeds) or (None, None) for no values."""
    values = [value for value in values if value is not None]
    if not values:
        return None, None
    return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def summarise(dataset, variant, records):
    """Summarise one variant's seeds: final and best-by-KID scores, throughput, settings."""
    from common.flops import count_macs
    from common.registry import load_variant

    generator = load_variant(dataset, variant).build_generator()
    finals = [record["epochs"][-1] for record in records]
    bests = [min((entry for entry in record["epochs"] if "kid" in entry),
                 key=lambda entry: entry["kid"], default={}) for record in records]
    settings = records[0]["settings"]
    summary = {
        "dataset": dataset, "variant": variant, "seeds": [record["settings"]["seed"] for record in records],
        "epochs": [final["epoch"] for final in finals], "limit": settings["limit"],
        "train_images": settings["train_images"],
        "batch_size": settings["batch_size"], "score_samples": finals[0].get("num_samples"),
        "num_real": finals[0].get("num_real"),
        "parameters": generator.count_params(), "macs_per_image": count_macs(generator),
        "images_per_second": mean_std([throughput(record) for record in records]),
        "final_fd": mean_std([final.get("fd") for final in finals]),
        "final_kid": mean_std([final.get("kid") for final in finals]),
        "best_kid": mean_std([best.get("kid") for best in bests]),
        "best_kid_epochs": [best.get("epoch") for best in bests],
    }
    if "classes_covered" in finals[0]:
        summary["final_classes_covered"] = mean_std([final["classes_covered"] for final in finals])
    return summary


def classifier_table(folder=REPOSITORY / "classifiers"):
    """Return a Markdown table of the feature classifiers from their JSON records."""
    lines = ["| Dataset | Trained on | Test images | Test accuracy | Parameters | Command |",
             "| --- | --- | ---: | ---: | ---: | --- |"]
    for dataset in ("mnist", "emnist", "cifar10"):
        path = Path(folder) / f"{dataset}.json"
        if not path.is_file():
            continue
        record = json.loads(path.read_text())
        classes = record["classes"]
        trained_on = (f"{record['train_count']:,} images of {len(classes)} classes "
                      f"({classes[0]}-{classes[-1]})")
        lines.append(f"| {dataset} | {trained_on} | {record['test_count']:,} | "
                     f"{record['test_accuracy']:.2%} | {record['parameters']:,} | `{record['command']}` |")
    return "\n".join(lines)


def format_pair(pair, digits):
    """Format (mean, std) as 'mean ± std'."""
    mean, std = pair
    if mean is None:
        return "n/a"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def results_table(summaries):
    """Return the Markdown results table."""
    lines = [
        "| Dataset | Generator | Parameters | MACs per image | Training images/s | Training images "
        "| Seeds | Epochs | Scored (generated vs real) | FD (final) | KID (final) | KID (best epoch) "
        "| Classes covered (final) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for item in summaries:
        covered = item.get("final_classes_covered")
        lines.append(
            f"| {item['dataset']} | {item['variant']} | {item['parameters']:,} | "
            f"{item['macs_per_image']:,} | {format_pair(item['images_per_second'], 0)} | "
            f"{item['train_images']:,} | {len(item['seeds'])} | {min(item['epochs'])} | "
            f"{item['score_samples']} vs {item['num_real']} | {format_pair(item['final_fd'], 2)} | "
            f"{format_pair(item['final_kid'], 3)} | {format_pair(item['best_kid'], 3)} | "
            f"{format_pair(covered, 1) if covered else 'n/a'} |")
    return "\n".join(lines)


def machine_description():
    """Return a one-line description of the processor, core count and library versions."""
    import os

    import keras
    import tensorflow as tf

    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        model = names[0] if names else model
    return (f"{model}, {os.cpu_count()} cores, TensorFlow {tf.__version__}, Keras {keras.__version__}, "
            f"Python {platform.python_version()}")


def report(args):
    """Write results.json and RESULTS.md, update the README table and draw the figures."""
    from common.figures import convergence_figure
    from common.readme import update_file

    runs = load_runs()
    summaries = [summarise(dataset, variant, records) for (dataset, variant), records in runs.items()]
    order = {name: index for index, name in enumerate(("mnist", "emnist", "cifar10"))}
    variant_order = {name: index for index, name in enumerate(("naive", "factorised", "separable"))}
    summaries.sort(key=lambda item: (order.get(item["dataset"], 9), variant_order.get(item["variant"], 9)))
    table = results_table(summaries)

    RESULTS.mkdir(exist_ok=True)
    machine = machine_description()
    (RESULTS / "results.json").write_text(json.dumps({"machine": machine, "results": summaries}, indent=2) + "\n")
    (RESULTS / "RESULTS.md").write_text(
        "# Results\n\nWritten by `python -m common.results report` from the run.json files under "
        f"examples/. Machine: {machine}.\n\n{table}\n")
    readme = REPOSITORY / "README.md"
    if args.update_readme and readme.is_file():
        update_file(readme, SECTION, table)
        update_file(readme, "classifier-table", classifier_table())
    for dataset in sorted({dataset for dataset, _ in runs}):
        path = convergence_figure(dataset, {variant: records for (name, variant), records in runs.items()
                                            if name == dataset}, EXAMPLES / dataset / "convergence.png")
        print("Wrote", path)
    print(table)
    return summaries


def main(argv=None):
    parser = argparse.ArgumentParser(description="Train several seeds of every variant and tabulate FD and KID.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="train every variant of a dataset for each seed")
    run.add_argument("--dataset", required=True, choices=("mnist", "emnist", "cifar10"))
    run.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="training seeds")
    run.add_argument("--variants", nargs="+", default=None, help="default: every variant of the dataset")
    run.add_argument("--epochs", type=int, default=None, help="default: the published epochs")
    run.add_argument("--limit", type=int, default=None, help="first N training images; default all")
    run.add_argument("--batch-size", type=int, default=None, help="default: the published batch size")
    run.add_argument("--data-dir", type=Path, default=None, help="offline dataset folder")
    run.add_argument("--score-samples", type=int, default=2000, help="generated images scored per epoch")
    run.add_argument("--no-report", action="store_true", help="train only; skip the report")
    again = commands.add_parser("rescore", help="score every epoch snapshot again")
    again.add_argument("--dataset", required=True, choices=("mnist", "emnist", "cifar10"))
    again.add_argument("--data-dir", type=Path, default=None,
                       help="offline dataset folder for the test split; default: download")
    tabulate = commands.add_parser("report", help="tabulate and plot finished runs")
    tabulate.add_argument("--no-readme", dest="update_readme", action="store_false",
                          help="leave README.md as it is")
    args = parser.parse_args(argv)
    if args.command == "rescore":
        rescore(args)
        return
    if args.command == "run":
        train_all(args)
        if args.no_report:
            return
        args.update_readme = True
    report(args)


if __name__ == "__main__":
    main()
