"""Run one experiment from the command line: load data, build the DCGAN, train with `fit`.

Each dataset script describes its experiment as an `Experiment` and calls `main`.
Outputs that are meant to be looked at (sample PNGs, the GIF, run.json) go to the
output folder. Run state (backups for resuming, TensorBoard logs, the last generator)
goes to the run folder, which git ignores.
"""

import contextlib
import json
import logging
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import keras

from common import cli
from common.data import DataError, make_dataset
from common.gan import DCGAN
from common.quality import QualityScores, make_scorer
from common.samples import SampleGrid, fixed_latent_vectors, list_frames, remove_frames_after

log = logging.getLogger(__name__)

# Settings that must match for a run to resume from another run's checkpoints.
RESUME_KEYS = ("dataset", "variant", "seed", "batch_size", "limit", "data_source")


@dataclass(frozen=True)
class Experiment:
    """One dataset and generator variant, with the published training settings.

    `load_data(data_dir)` returns an `ImageData`; `make_optimizers()` returns
    `(discriminator_optimizer, generator_optimizer)`.
    """

    dataset: str
    variant: str
    description: str
    build_generator: Callable
    build_discriminator: Callable
    load_data: Callable
    make_optimizers: Callable
    latent_dim: int
    epochs: int
    batch_size: int
    data_file: str
    download_source: str
    label_noise: float = 0.0


class SingleDevice:
    """Stand-in for a tf.distribute strategy on backends without one (JAX)."""

    num_replicas_in_sync = 1

    def scope(self):
        return contextlib.nullcontext()


def make_strategy(name):
    """Return the tf.distribute strategy named on the command line.

    NOTE: with `multiworker`, every worker runs the callbacks, so give each worker its
    own --output-dir and --run-dir. Only `default` and `mirrored` are tested here.
    """
    if keras.backend.backend() != "tensorflow":
        if name != "default":
            raise SystemExit(f"error: --strategy {name} needs the TensorFlow backend; "
                             f"KERAS_BACKEND is {keras.backend.backend()}")
        return SingleDevice()

    import tensorflow as tf

    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


JIT_COMPILE = {"auto": "auto", "on": True, "off": False}


def build_gan(experiment, seed, jit_compile="auto"):
    """Build and compile the DCGAN in the current strategy scope."""
    gan = DCGAN(experiment.build_generator(), experiment.build_discriminator(),
                experiment.latent_dim, label_noise=experiment.label_noise, seed=seed)
    d_optimizer, g_optimizer = experiment.make_optimizers()
    gan.compile(d_optimizer=d_optimizer, g_optimizer=g_optimizer, jit_compile=JIT_COMPILE[jit_compile])
    gan(keras.ops.zeros((1, experiment.latent_dim)))  # BackupAndRestore needs a built model.
    return gan


def saved_epoch(backup_dir):
    """Return the number of completed epochs in a backup folder, 0 if there is none."""
    for name in ("training_metadata.json", "training_metadata.json.bkp"):
        path = Path(backup_dir) / name
        try:
            return int(json.loads(path.read_text())["epoch"])
        except (OSError, ValueError, KeyError):
            continue
    return 0


def earlier_epochs(path, resumed_epoch):
    """Return the run.json entries of the epochs a resumed run keeps."""
    path = Path(path)
    if not resumed_epoch or not path.is_file():
        return []
    earlier = json.loads(path.read_text()).get("epochs", [])
    return [entry for entry in earlier if entry["epoch"] <= resumed_epoch]


class RunRecord(keras.callbacks.Callback):
    """Keep run.json up to date: the settings and one entry per epoch.

    An entry contains the losses, the quality scores when a `QualityScores` callback is
    given, and `train_seconds`, the epoch's wall time without sampling and scoring.
    """

    def __init__(self, path, settings, epochs, quality=None):
        super().__init__()
        self.path = Path(path)
        self.record = {"settings": settings, "epochs": list(epochs)}
        self.quality = quality
        self.started = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self.started
        entry = {"epoch": epoch + 1, "seconds": round(seconds, 2)}
        entry.update({name: float(value) for name, value in (logs or {}).items()})
        if self.quality is not None:
            entry.update({key: value for key, value in self.quality.latest.items() if key != "kid_mean"})
            seconds -= self.quality.latest.get("score_seconds", 0.0)
        entry["train_seconds"] = round(seconds, 2)
        self.record["epochs"].append(entry)
        self.path.write_text(json.dumps(self.record, indent=2) + "\n")


class SaveGenerator(keras.callbacks.Callback):
    """Save the generator after every epoch, as the latest and as that epoch's snapshot.

    The snapshots (`generators/epoch_0001.keras`, ...) let `python -m common.results
    rescore` score every epoch again, for example with a retrained classifier.
    """

    def __init__(self, run_dir):
        super().__init__()
        self.run_dir = Path(run_dir)

    def on_epoch_end(self, epoch, logs=None):
        self.model.generator.save(self.run_dir / "generator.keras")
        snapshots = self.run_dir / "generators"
        snapshots.mkdir(exist_ok=True)
        self.model.generator.save(snapshots / f"epoch_{epoch + 1:04d}.keras")


def make_quality_callback(experiment, args, epochs):
    """Return the per-epoch scoring callback, or None when scoring is off or unavailable."""
    if not args.score_samples:
        return None
    scorer = make_scorer(experiment.dataset, args.data_dir)
    if scorer is None:
        return None
    kids = [entry["kid"] for entry in epochs if "kid" in entry]
    latent_vectors = fixed_latent_vectors(experiment.latent_dim, args.seed, count=args.score_samples)
    log.info("Scoring %d generated images after each epoch against %d real test images",
             args.score_samples, len(scorer.real_features))
    return QualityScores(scorer, latent_vectors, args.run_dir / "generator_best.keras",
                         best_kid=min(kids, default=float("inf")))


def prepare_run_dir(run_dir, output_dir, settings, fresh):
    """Return the epoch to resume from, after checking that the run folder contains the same run."""
    settings_path = run_dir / "settings.json"
    if fresh and run_dir.exists():
        shutil.rmtree(run_dir)
    epoch = saved_epoch(run_dir / "backup")
    if epoch > settings["epochs"]:
        raise SystemExit(f"error: {run_dir} already contains {epoch} epochs, more than --epochs "
                         f"{settings['epochs']}. Pass --epochs {epoch} or more to continue it, or "
                         "--fresh to start over.")
    if epoch and settings_path.is_file():
        earlier = json.loads(settings_path.read_text())
        changed = [key for key in RESUME_KEYS if earlier.get(key) != settings.get(key)]
        if changed:
            details = ", ".join(f"{key} {earlier.get(key)!r} -> {settings.get(key)!r}" for key in changed)
            raise SystemExit(
                f"error: {run_dir} contains checkpoints of a run with other settings ({details}). "
                "Pass --fresh to discard them, or --run-dir to start the new run elsewhere."
            )
    run_dir.mkdir(parents=True, exist_ok=True)
    settings_path.write_text(json.dumps(settings, indent=2) + "\n")
    output_dir.mkdir(parents=True, exist_ok=True)
    remove_frames_after(output_dir, epoch)
    return epoch


def portable_source(source, data_dir):
    """Return the data source with the local --data-dir folder written as DIR.

    run.json is committed with the samples, so it records which file was read but
    not where it was on the machine that trained.
    """
    if data_dir is None:
        return source
    return source.replace(str(data_dir), "DIR")


def configure_logging():
    """Log plain one-line messages and keep TensorFlow's Python warnings quiet."""
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout, force=True)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)


def main(experiment, argv=None):
    """Train `experiment` with the command-line settings and return the trained DCGAN."""
    args = cli.parse_args(experiment, argv)
    configure_logging()

    try:
        data = experiment.load_data(args.data_dir)
    except DataError as error:
        raise SystemExit(f"error: {error}") from None
    if args.limit is not None and args.limit >= len(data.x_train):
        log.info("--limit %d is not below the %d training images; using all of them",
                 args.limit, len(data.x_train))
        args.limit = None
    if args.limit is not None:
        data = data.limit(args.limit)
    if args.batch_size > len(data.x_train):
        raise SystemExit(f"error: --batch-size {args.batch_size} is larger than the "
                         f"{len(data.x_train)} training images; pass a smaller --batch-size")
    log.info("Loaded %d training images %s from %s", len(data.x_train),
             tuple(data.x_train.shape[1:]), data.source)

    settings = {
        "dataset": experiment.dataset, "variant": experiment.variant, "seed": args.seed,
        "batch_size": args.batch_size, "limit": args.limit, "train_images": len(data.x_train),
        "epochs": args.epochs,
        "data_source": portable_source(data.source, args.data_dir), "strategy": args.strategy, "score_samples": args.score_samples,
        "jit_compile": args.jit_compile, "mixed_precision": args.mixed_precision,
    }
    resumed = prepare_run_dir(args.run_dir, args.output_dir, settings, args.fresh)
    return train(experiment, args, data, settings, resumed)


def train(experiment, args, data, settings, resumed):
    """Build the DCGAN under the chosen strategy and fit it, resuming at `resumed`."""
    keras.utils.set_random_seed(args.seed)
    if args.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    strategy = make_strategy(args.strategy)
    with strategy.scope():
        gan = build_gan(experiment, args.seed, args.jit_compile)
    log.info("Generator %s: %d parameters; discriminator: %d; %d device(s); XLA %s; precision %s",
             experiment.variant, gan.generator.count_params(), gan.discriminator.count_params(),
             strategy.num_replicas_in_sync, args.jit_compile, keras.mixed_precision.global_policy().name)

    steps = len(data.x_train) // args.batch_size
    if resumed:
        log.info("Resuming after epoch %d of %d (checkpoint in %s)", resumed, args.epochs, args.run_dir)
    else:
        log.info("Starting at epoch 1 of %d, %d steps of %d images per epoch",
                 args.epochs, steps, args.batch_size)
    log.info("Samples go to %s; checkpoints and TensorBoard logs to %s", args.output_dir, args.run_dir)

    epochs = earlier_epochs(args.output_dir / "run.json", resumed)
    quality = make_quality_callback(experiment, args, epochs)
    record = RunRecord(args.output_dir / "run.json",
                       dict(settings, generator_parameters=gan.generator.count_params()), epochs, quality)
    callbacks = [
        *([quality] if quality else []),
        SampleGrid(args.output_dir, fixed_latent_vectors(experiment.latent_dim, args.seed)),
        record,
        SaveGenerator(args.run_dir),
        keras.callbacks.TensorBoard(log_dir=str(args.run_dir / "logs")),
        # Last, so an epoch counts as done only after its frame and record are written.
        keras.callbacks.BackupAndRestore(str(args.run_dir / "backup"), double_checkpoint=True,
                                         delete_checkpoint=False),
    ]
    dataset = make_dataset(data.x_train, args.batch_size, args.seed)
    try:
        gan.fit(dataset, epochs=args.epochs, callbacks=callbacks, shuffle=False,
                verbose=1 if sys.stdout.isatty() else 2)
    except KeyboardInterrupt:
        done = saved_epoch(args.run_dir / "backup")
        raise SystemExit(f"Interrupted after {done} completed epochs; run the same command "
                         "to resume.") from None
    log.info("Finished %d epochs; %d frames in %s", args.epochs, len(list_frames(args.output_dir)), args.output_dir)
    return gan
