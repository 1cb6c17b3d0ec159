"""The command line shared by every experiment script."""

import argparse
from pathlib import Path

STRATEGIES = ("default", "mirrored", "multiworker")


def positive_int(text):
    """Parse a whole number greater than zero for argparse."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: expected a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"invalid value {value}: expected a whole number of 1 or more")
    return value


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Append defaults to the help text, except the None ones that the text explains."""

    def _get_help_string(self, action):
        if action.default is None:
            return action.help
        return super()._get_help_string(action)


def build_parser(experiment):
    """Return the argument parser whose defaults come from `experiment`."""
    parser = argparse.ArgumentParser(
        description=experiment.description,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--epochs", type=positive_int, default=experiment.epochs,
                        help="number of full passes over the training images")
    parser.add_argument("--batch-size", type=positive_int, default=experiment.batch_size,
                        help="images per training step, summed over all devices")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help=f"folder containing {experiment.data_file}; read offline instead "
                             f"of downloading from {experiment.download_source}")
    parser.add_argument("--output-dir", type=Path, default=Path("examples", experiment.dataset, experiment.variant),
                        help="folder for the sample PNG of each epoch, the progress GIF and run.json")
    parser.add_argument("--run-dir", type=Path, default=None,
                        help="folder for checkpoints and TensorBoard logs "
                             "(default: runs/<dataset>/<variant>/seed<seed>)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed for weights, shuffling, latent vectors and the sample grid")
    parser.add_argument("--limit", type=positive_int, default=None,
                        help="train on the first N training images only (for smoke runs); default all")
    parser.add_argument("--strategy", choices=STRATEGIES, default="default",
                        help="tf.distribute strategy: one device, MirroredStrategy over all local "
                             "GPUs, or MultiWorkerMirroredStrategy configured by TF_CONFIG")
    parser.add_argument("--score-samples", type=int, default=2000,
                        help="generated images scored (FD, KID) against the test split after each "
                             "epoch; 0 turns scoring off")
    parser.add_argument("--jit-compile", choices=("auto", "on", "off"), default="auto",
                        help="XLA compilation of the training step; 'auto' is Keras's choice "
                             "(on for GPUs, off on CPU-only machines and under tf.distribute)")
    parser.add_argument("--mixed-precision", action="store_true",
                        help="compute in float16 with float32 weights (mixed_float16) and loss "
                             "scaling; for GPUs, it slows a CPU down")
    parser.add_argument("--fresh", action="store_true",
                        help="discard the checkpoints and frames of an earlier run and start at epoch 1")
    return parser


def parse_args(experiment, argv=None):
    """Parse and check the command line; invalid values exit before any work starts."""
    parser = build_parser(experiment)
    args = parser.parse_args(argv)
    if args.score_samples == 1 or args.score_samples < 0:
        parser.error(f"--score-samples {args.score_samples} is invalid; pass 0 to turn scoring off "
                     "or at least 2 (a few thousand keep FD comparable)")
    if args.limit is not None and args.batch_size > args.limit:
        parser.error(f"--batch-size {args.batch_size} is larger than --limit {args.limit}; "
                     "lower the batch size or raise the limit")
    if args.data_dir is not None and not args.data_dir.is_dir():
        parser.error(f"--data-dir {args.data_dir} is not a folder; pass the folder that "
                     f"contains {experiment.data_file}")
    if args.run_dir is None:
        args.run_dir = Path("runs", experiment.dataset, experiment.variant, f"seed{args.seed}")
    return args
