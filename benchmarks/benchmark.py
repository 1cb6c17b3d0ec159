"""Measure the DCGAN training step: throughput, step time, memory and share of matmul peak.

    python benchmarks/benchmark.py --datasets mnist --steps 3 --warmup 1      # smoke run
    python benchmarks/benchmark.py --data-dir DATA --steps 50 --warmup 10 \\
        --output benchmarks/results.json                                       # every dataset
    python benchmarks/benchmark.py --datasets mnist --variants naive factorised \\
        --batch-size 512 --jit-compile on --mixed-precision
    KERAS_BACKEND=jax python benchmarks/benchmark.py --datasets mnist          # JAX backend

DATA is a folder holding each dataset's archive, either directly or in a sub-folder
named after the dataset (DATA/mnist/mnist.npz). Without --data-dir the images are
uniform noise of the dataset's shape: the step does the same arithmetic on any pixel
values, so the timings hold for real images too.

What runs: every `<dataset>/<variant>.py` that defines `build_generator`, in a dataset
folder whose `experiment.py` defines `build_discriminator`, `LATENT_DIM` and
`make_optimizers`. The batch size is the experiment's `BATCH_SIZE`, else
`make_experiment(variant, build_generator).batch_size`, unless --batch-size is given.
For each one, in this process:

- Training: `DCGAN.fit` over `warmup + steps` batches. A callback takes the time
  between the ends of consecutive batches. By then Keras has turned the step's losses
  into Python floats, so the step has finished. The first `warmup` batches, tracing
  and compilation included, are dropped. Step time is the median of the rest, and
  throughput is batch size / step time.
- Reference (TensorFlow only): the same networks, fresh, trained by a loop written as
  in the TensorFlow DCGAN tutorial (one `tf.function` step with two GradientTapes,
  latent noise sized by a constant batch size, the optimizers of `make_optimizers`),
  timed the same way. The table gives our throughput as a ratio to it. On JAX it is skipped.
- Inference: `DCGAN.predict_on_batch` on one batch of latent vectors (the generator
  in inference mode), median of `steps` calls after one warm-up call.
- Memory: the process's resident-set high-water mark (`getrusage`), which never goes
  down, so later rows include earlier ones. On a GPU also the framework's peak device
  memory over the row's three loops (TensorFlow resets it per row; JAX cannot, so
  there it is cumulative too).
- Retracing: how often the Python body of the train step ran (`DCGAN.train_step_traces`
  and a counter in the reference step). 1 (one per replica) means it was traced once.

FLOP accounting, per image, with G and D the forward MACs of the generator and the
discriminator from `common.flops.count_macs` (Dense, convolution and transposed
convolution products only):

    forward            G + 2D          (D runs on the real and on the generated image)
    d_loss backward    4D              (through both discriminator passes, gradients
                                        for activations and for weights, 2D each)
    g_loss backward    D + 2G          (through the discriminator pass on the generated
                                        image for activations only, then through G for
                                        activations and weights)
    step               3G + 7D MACs = 2 * (3G + 7D) FLOPs

The peak is the best of several large float32 matmuls (float16 as well under
--mixed-precision, which then is the denominator), timed before and after the rows in
the same run with the backend's own matmul, so the fraction is of what this machine
reaches on dense matmul, not of a data-sheet number. Convolutions can beat a
contended matmul measurement, so a fraction above 1 means the peak was measured low.

Caveats: on a shared machine the numbers move with other jobs, so compare rows from
one run. On JAX nothing here needs TensorFlow (fit reads NumPy batches), but each
dataset's `experiment.py` is imported, and whatever it imports must import too.
"""

import argparse
import gc
import importlib
import json
import platform
import resource
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for `python benchmarks/benchmark.py`

import common  # noqa: E402,F401  (quiets TensorFlow's C++ logs, so it comes before keras)
import keras  # noqa: E402
import numpy as np  # noqa: E402

from common.flops import count_macs  # noqa: E402
from common.gan import DCGAN  # noqa: E402

# Files in a dataset folder that are not generator variants.
NOT_VARIANTS = {"__init__", "experiment"}
EXPERIMENT_NAMES = ("build_discriminator", "LATENT_DIM", "make_optimizers")


@dataclass
class Spec:
    """One dataset and generator variant, as the benchmark needs it."""

    dataset: str
    variant: str
    build_generator: Callable
    build_discriminator: Callable
    make_optimizers: Callable
    latent_dim: int
    batch_size: int
    label_noise: float
    load_data: Callable = None


# ---------------------------------------------------------------------------
# Finding the experiments.
# ---------------------------------------------------------------------------

def dataset_folders(root=ROOT):
    """Return the names of folders under `root` that hold an `experiment.py`."""
    return sorted(path.parent.name for path in root.glob("*/experiment.py"))


def variant_names(dataset, root=ROOT):
    """Return the module names in a dataset folder that may be generator variants."""
    return sorted(path.stem for path in (root / dataset).glob("*.py")
                  if path.stem not in NOT_VARIANTS and not path.stem.startswith("_"))


def load_spec(dataset, variant):
    """Import `<dataset>/experiment.py` and `<dataset>/<variant>.py`; return their Spec.

    Raises:
        LookupError: the modules lack a name the benchmark needs.
    """
    experiment = importlib.import_module(f"{dataset}.experiment")
    missing = [name for name in EXPERIMENT_NAMES if not hasattr(experiment, name)]
    if missing:
        raise LookupError(f"{dataset}/experiment.py lacks {', '.join(missing)}")
    module = importlib.import_module(f"{dataset}.{variant}")
    if not hasattr(module, "build_generator"):
        raise LookupError(f"{dataset}/{variant}.py defines no build_generator")

    batch_size = getattr(experiment, "BATCH_SIZE", None)
    label_noise, load_data = 0.0, None
    if hasattr(experiment, "make_experiment"):
        described = experiment.make_experiment(variant, module.build_generator)
        batch_size = batch_size or described.batch_size
        label_noise, load_data = described.label_noise, described.load_data
    if batch_size is None:
        raise LookupError(f"{dataset}/experiment.py defines neither BATCH_SIZE nor make_experiment")
    return Spec(dataset, variant, module.build_generator, experiment.build_discriminator,
                experiment.make_optimizers, experiment.LATENT_DIM, batch_size, label_noise, load_data)


def select_specs(datasets, variants):
    """Return the Specs asked for; every name given on the command line must exist.

    Without --variants, modules of a dataset folder that are not variants (they lack
    `build_generator`) are passed over.
    """
    available = dataset_folders()
    unknown = sorted(set(datasets or []) - set(available))
    if unknown:
        raise SystemExit(f"error: no dataset folder with experiment.py named {', '.join(unknown)}; "
                         f"found {', '.join(available) or 'none'}")
    specs, found = [], set()
    for dataset in datasets or available:
        names = variant_names(dataset)
        for variant in [name for name in variants if name in names] if variants else names:
            try:
                specs.append(load_spec(dataset, variant))
            except LookupError as error:
                if variants:
                    raise SystemExit(f"error: {error}") from None
                continue
            found.add(variant)
    missing = sorted(set(variants or []) - found)
    if missing:
        raise SystemExit(f"error: no variant module {', '.join(missing)} in "
                         f"{', '.join(datasets or available)}")
    if not specs:
        raise SystemExit("error: nothing to benchmark for those --datasets and --variants")
    return specs


# ---------------------------------------------------------------------------
# Backend helpers.
# ---------------------------------------------------------------------------

def on_gpu():
    """Return True when the backend computes on a GPU."""
    if keras.backend.backend() == "jax":
        import jax

        return jax.default_backend() == "gpu"
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def device_name():
    """Describe the device the backend computes on."""
    if keras.backend.backend() == "jax":
        import jax

        device = jax.devices()[0]
        return f"{device.platform}: {device.device_kind}"
    if on_gpu():
        import tensorflow as tf

        details = tf.config.experimental.get_device_details(tf.config.list_physical_devices("GPU")[0])
        return f"gpu: {details.get('device_name', 'unknown')}"
    return f"cpu: {platform.processor() or platform.machine()}"


def reset_device_peak():
    if keras.backend.backend() == "tensorflow" and on_gpu():
        import tensorflow as tf

        tf.config.experimental.reset_memory_stats("GPU:0")


def device_peak_mb():
    """Return the framework's peak GPU memory in MiB, or None (CPU, or not reported)."""
    if not on_gpu():
        return None
    if keras.backend.backend() == "jax":
        import jax

        stats = jax.devices()[0].memory_stats() or {}
        peak = stats.get("peak_bytes_in_use")
    else:
        import tensorflow as tf

        peak = tf.config.experimental.get_memory_info("GPU:0").get("peak")
    return None if peak is None else peak / 2**20


def rss_peak_mb():
    """Return the process's resident-set high-water mark in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def matmul_peak(dtype, size, repeats=10):
    """Return the best FLOP/s of `repeats` (size x size) @ (size x size) products.

    Each product is timed on its own and waited for, so the result is the rate of one
    large matmul kernel, the ceiling the training step is compared with.
    """
    rng = np.random.default_rng(0)
    a, b = (keras.ops.convert_to_tensor(rng.standard_normal((size, size)), dtype=dtype) for _ in range(2))
    if keras.backend.backend() == "jax":
        import jax

        product = jax.jit(keras.ops.matmul)

        def run():
            product(a, b).block_until_ready()
    else:
        import tensorflow as tf

        product = tf.function(tf.linalg.matmul)

        def run():
            # Reading one element waits for the product without copying all of it.
            product(a, b)[0, 0].numpy()
    run()  # Compile and warm up.
    best = min(timed(run) for _ in range(repeats))
    return 2 * size**3 / best


def timed(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


# ---------------------------------------------------------------------------
# Data.
# ---------------------------------------------------------------------------

def training_images(spec, image_shape, count, data_dir):
    """Return `count` float32 images in [-1, 1]: the dataset's, repeated, or noise."""
    if data_dir is None or spec.load_data is None:
        rng = np.random.default_rng(0)
        return rng.uniform(-1.0, 1.0, (count, *image_shape)).astype(np.float32)
    from common.data import DataError

    # The archive may sit in DIR or in a sub-folder: DIR/mnist/, DIR/emnist_letters/, ...
    folders = [data_dir / spec.dataset, data_dir, *sorted(path for path in data_dir.iterdir() if path.is_dir())]
    for folder in folders:
        try:
            images = spec.load_data(folder).x_train
            break
        except DataError:
            continue
    else:
        raise SystemExit(f"error: no archive for {spec.dataset} in {data_dir} or its sub-folders")
    return images[np.arange(count) % len(images)]


def tf_batches(images, batch_size):
    """Batch images for TensorFlow without shuffling, so both loops see the same input."""
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices(images).batch(batch_size, drop_remainder=True)
    return dataset.prefetch(tf.data.AUTOTUNE)


# ---------------------------------------------------------------------------
# The measured loops.
# ---------------------------------------------------------------------------

class BatchEndTimes(keras.callbacks.Callback):
    """Record when each training batch ends.

    Overriding `on_train_batch_end` makes Keras call it synchronously, after it has
    turned the step's logs into Python floats, which waits for the step to finish.
    """

    def __init__(self):
        super().__init__()
        self.ends = []

    def on_train_batch_end(self, batch, logs=None):
        self.ends.append(time.perf_counter())


def step_seconds(ends, warmup):
    """Return the intervals between batch ends, leaving out the `warmup` first batches."""
    return list(np.diff(ends[warmup - 1:]))


def build_gan(spec, jit_compile, seed=0):
    gan = DCGAN(spec.build_generator(), spec.build_discriminator(), spec.latent_dim,
                label_noise=spec.label_noise, seed=seed)
    d_optimizer, g_optimizer = spec.make_optimizers()
    gan.compile(d_optimizer=d_optimizer, g_optimizer=g_optimizer, jit_compile=jit_compile)
    gan(keras.ops.zeros((1, spec.latent_dim)))
    return gan


def time_fit(gan, images, batch_size, warmup):
    """Fit one pass over `images`; return the per-step seconds after warm-up."""
    timer = BatchEndTimes()
    if keras.backend.backend() == "tensorflow":
        gan.fit(tf_batches(images, batch_size), epochs=1, shuffle=False, verbose=0, callbacks=[timer])
    else:
        gan.fit(images, batch_size=batch_size, epochs=1, shuffle=False, verbose=0, callbacks=[timer])
    return step_seconds(timer.ends, warmup)


def time_reference(spec, images, batch_size, warmup, jit_compile):
    """Train fresh networks with a tutorial-style loop; return (step seconds, traces).

    The loop is the tutorial's: a `tf.function` step with two GradientTapes, latent
    noise drawn inside it for a constant batch size, and `apply_gradients` for each
    network. Under a float16 policy it also casts logits to float32 and uses loss
    scaling, the changes the Keras mixed-precision guide requires of a custom loop.
    """
    import tensorflow as tf

    generator, discriminator = spec.build_generator(), spec.build_discriminator()
    d_optimizer, g_optimizer = spec.make_optimizers()
    if generator.dtype_policy.compute_dtype == "float16":
        d_optimizer = keras.optimizers.LossScaleOptimizer(d_optimizer)
        g_optimizer = keras.optimizers.LossScaleOptimizer(g_optimizer)
    d_optimizer.build(discriminator.trainable_variables)
    g_optimizer.build(generator.trainable_variables)
    cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
    traces = [0]

    @tf.function(jit_compile=bool(jit_compile))
    def reference_step(real_images):
        traces[0] += 1
        noise = tf.random.normal([batch_size, spec.latent_dim])
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake_images = generator(noise, training=True)
            real_logits = tf.cast(discriminator(real_images, training=True), tf.float32)
            fake_logits = tf.cast(discriminator(fake_images, training=True), tf.float32)
            g_loss = cross_entropy(tf.ones_like(fake_logits), fake_logits)
            d_loss = (cross_entropy(tf.ones_like(real_logits), real_logits)
                      + cross_entropy(tf.zeros_like(fake_logits), fake_logits))
            scaled_g_loss = g_optimizer.scale_loss(g_loss)
            scaled_d_loss = d_optimizer.scale_loss(d_loss)
        g_grads = g_tape.gradient(scaled_g_loss, generator.trainable_variables)
        d_grads = d_tape.gradient(scaled_d_loss, discriminator.trainable_variables)
        g_optimizer.apply_gradients(zip(g_grads, generator.trainable_variables))
        d_optimizer.apply_gradients(zip(d_grads, discriminator.trainable_variables))
        return d_loss, g_loss

    ends = []
    for batch in tf_batches(images, batch_size):
        d_loss, _ = reference_step(batch)
        d_loss.numpy()  # Wait for the step, as Keras does for fit's logs.
        ends.append(time.perf_counter())
    return step_seconds(ends, warmup), traces[0]


def time_inference(gan, batch_size, calls):
    """Return the median seconds of `predict_on_batch` on one latent batch."""
    latent = np.random.default_rng(1).standard_normal((batch_size, gan.latent_dim)).astype(np.float32)
    gan.predict_on_batch(latent)  # Trace and compile.
    return statistics.median(timed(lambda: gan.predict_on_batch(latent)) for _ in range(calls))


# ---------------------------------------------------------------------------
# One row.
# ---------------------------------------------------------------------------

def benchmark(spec, args):
    """Measure one dataset and variant; return its row as a dict."""
    batch_size = args.batch_size or spec.batch_size
    # Set for every row: clear_session, run after each row, resets the global policy.
    keras.mixed_precision.set_global_policy("mixed_float16" if args.mixed_precision else "float32")
    keras.utils.set_random_seed(0)
    reset_device_peak()
    gan = build_gan(spec, args.jit_compile)
    image_shape = tuple(gan.discriminator.inputs[0].shape[1:])
    images = training_images(spec, image_shape, (args.warmup + args.steps) * batch_size, args.data_dir)

    generator_macs = count_macs(gan.generator)
    discriminator_macs = count_macs(gan.discriminator)
    step_flops = 2 * (3 * generator_macs + 7 * discriminator_macs) * batch_size

    fit_seconds = time_fit(gan, images, batch_size, args.warmup)
    step = statistics.median(fit_seconds)
    row = {
        "dataset": spec.dataset, "variant": spec.variant, "batch_size": batch_size,
        "jit_compile": bool(gan.jit_compile),
        "dtype_policy": gan.generator.dtype_policy.name,
        "loss_scaling": isinstance(gan.d_optimizer, keras.optimizers.LossScaleOptimizer),
        "generator_parameters": gan.generator.count_params(),
        "generator_macs_per_image": generator_macs,
        "discriminator_macs_per_image": discriminator_macs,
        "step_flops": step_flops,
        "step_seconds": fit_seconds,
        "step_ms_median": 1000 * step,
        "train_images_per_s": batch_size / step,
        "achieved_tflops": step_flops / step / 1e12,
        "train_step_traces": gan.train_step_traces,
    }

    if keras.backend.backend() == "tensorflow" and not args.no_reference:
        reference_seconds, traces = time_reference(spec, images, batch_size, args.warmup, gan.jit_compile)
        reference_step = statistics.median(reference_seconds)
        row.update({
            "reference_step_seconds": reference_seconds,
            "reference_images_per_s": batch_size / reference_step,
            "ratio_to_reference": reference_step / step,
            "reference_traces": traces,
        })
    elif args.no_reference:
        row["reference_note"] = "the reference loop was skipped (--no-reference)"
    else:
        row["reference_note"] = ("the reference loop is TensorFlow code, so it is skipped on "
                                 f"{keras.backend.backend()}")

    row["inference_images_per_s"] = batch_size / time_inference(gan, batch_size, max(args.steps, 3))
    row["rss_peak_mb"] = rss_peak_mb()
    row["device_peak_mb"] = device_peak_mb()
    del gan
    keras.backend.clear_session()
    gc.collect()
    return row


# ---------------------------------------------------------------------------
# Output.
# ---------------------------------------------------------------------------

def number(value, digits=0):
    return "-" if value is None else f"{value:,.{digits}f}"


def markdown_table(rows):
    """Return the rows as a Markdown table (the JSON output keeps every field)."""
    header = ("| dataset | variant | batch | train img/s | step ms | reference img/s | ratio "
              "| inference img/s | TFLOP/s | % of peak | RSS peak MiB | device peak MiB "
              "| traces (ours / reference) |")
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for row in rows:
        lines.append("| " + " | ".join([
            row["dataset"], row["variant"], str(row["batch_size"]),
            number(row["train_images_per_s"]), number(row["step_ms_median"], 1),
            number(row.get("reference_images_per_s")), number(row.get("ratio_to_reference"), 2),
            number(row["inference_images_per_s"]), number(row["achieved_tflops"], 3),
            number(100 * row["fraction_of_peak"], 1), number(row["rss_peak_mb"]),
            number(row["device_peak_mb"]),
            str(row["train_step_traces"]) + (f" / {row['reference_traces']}" if "reference_traces" in row else ""),
        ]) + " |")
    return "\n".join(lines)


def environment(args, peaks):
    """Describe the backend, device, versions and settings of this run."""
    versions = {"keras": keras.__version__, "numpy": np.__version__}
    for name in ("tensorflow", "jax"):
        try:
            versions[name] = importlib.import_module(name).__version__
        except ImportError:
            pass
    return {
        "backend": keras.backend.backend(), "device": device_name(), "versions": versions,
        "python": platform.python_version(), "mixed_precision": args.mixed_precision,
        "steps": args.steps, "warmup": args.warmup, "matmul_size": args.matmul_size,
        "matmul_peak_tflops": {dtype: flops / 1e12 for dtype, flops in peaks.items()},
    }


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--datasets", nargs="+", default=None,
                        help="dataset folders to run (default: every folder with experiment.py)")
    parser.add_argument("--variants", nargs="+", default=None,
                        help="generator modules to run, e.g. naive factorised (default: all found)")
    parser.add_argument("--steps", type=positive_int, default=20, help="timed training steps per row (default: 20)")
    parser.add_argument("--warmup", type=positive_int, default=5,
                        help="untimed steps first, where tracing and compilation happen (default: 5)")
    parser.add_argument("--batch-size", type=positive_int, default=None,
                        help="images per step for every row (default: each experiment's own)")
    parser.add_argument("--jit-compile", choices=("auto", "on", "off"), default="auto",
                        help="XLA for the train step: Keras's choice (default: auto), forced on or off")
    parser.add_argument("--mixed-precision", action="store_true",
                        help="train under the mixed_float16 policy with loss scaling")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="folder with the datasets' archives (DIR/x.npz or DIR/<dataset>/x.npz); "
                             "default: noise images of the right shape")
    parser.add_argument("--matmul-size", type=positive_int, default=None,
                        help="side of the square matmuls that measure the peak "
                             "(default: 8192 on a GPU, 2048 on a CPU)")
    parser.add_argument("--no-reference", action="store_true", help="skip the tutorial-style reference loop")
    parser.add_argument("--output", type=Path, default=None, help="also write every measurement to this JSON file")
    args = parser.parse_args(argv)
    args.jit_compile = {"auto": "auto", "on": True, "off": False}[args.jit_compile]
    return args


def positive_int(text):
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"invalid value {value}: expected a whole number of 1 or more")
    return value


def main(argv=None):
    args = parse_args(argv)
    specs = select_specs(args.datasets, args.variants)
    args.matmul_size = args.matmul_size or (8192 if on_gpu() else 2048)

    dtypes = ("float32", "float16") if args.mixed_precision else ("float32",)
    peaks = {dtype: matmul_peak(dtype, args.matmul_size) for dtype in dtypes}
    print(f"{keras.backend.backend()} on {device_name()}; matmul peak "
          + ", ".join(f"{dtype} {flops / 1e12:.3f} TFLOP/s" for dtype, flops in peaks.items()), flush=True)

    rows = []
    for spec in specs:
        print(f"{spec.dataset}/{spec.variant}: {args.warmup} + {args.steps} steps ...", flush=True)
        rows.append(benchmark(spec, args))

    # Measured again at the end, keeping the better rate: other work on the machine
    # can only slow a measurement down, so the higher one is nearer the true peak.
    for dtype in dtypes:
        peaks[dtype] = max(peaks[dtype], matmul_peak(dtype, args.matmul_size))
    peak = peaks[dtypes[-1]]
    for row in rows:
        row["fraction_of_peak"] = row["achieved_tflops"] * 1e12 / peak
    print(f"Matmul peak after the runs: " + ", ".join(
        f"{dtype} {flops / 1e12:.3f} TFLOP/s" for dtype, flops in peaks.items()))
    print()
    print(markdown_table(rows))
    for row in rows:
        if "reference_note" in row:
            print(f"\nNote: {row['reference_note']}.")
            break
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps({"environment": environment(args, peaks), "results": rows},
                                          indent=2) + "\n")
        print(f"\nWrote {args.output}")
    return rows


if __name__ == "__main__":
    main()
