"""The DCGAN under tf.distribute.MirroredStrategy on two logical CPU devices.

Logical devices must be configured before TensorFlow initialises its devices, so
the work runs in a fresh subprocess: this file run as a script (`python
tests/test_strategy.py OUT.npz`) does it and saves what the tests check.

Two runs are compared: one device and MirroredStrategy over two, with the same
global batch, weights and seed. For them to agree, the networks have no dropout and
no BatchNorm, which normalises each replica's half batch on its own. The model must
also give each replica its own slice of the global batch's latent vectors and label
noise, which `DCGAN.draw` does.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
LATENT_DIM = 8
GLOBAL_BATCH = 8
STEPS = 2
SMOKE_BATCH = 32


# ---------------------------------------------------------------------------
# Worker: runs in a subprocess, TensorFlow backend, two logical CPUs.
# ---------------------------------------------------------------------------

def split_cpu_in_two():
    """Expose the CPU as two logical devices; must run before TensorFlow uses a device."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])
    return [device.name for device in tf.config.list_logical_devices("CPU")]


def plain_networks():
    """Return a small (generator, discriminator) pair with neither BatchNorm nor dropout."""
    import keras
    from keras import layers

    generator = keras.Sequential([
        keras.Input((LATENT_DIM,)),
        layers.Dense(4 * 4 * 8),
        layers.LeakyReLU(),
        layers.Reshape((4, 4, 8)),
        layers.Conv2DTranspose(4, 3, strides=2, padding="same"),
        layers.LeakyReLU(),
        layers.Conv2DTranspose(1, 3, strides=2, padding="same", activation="tanh"),
    ], name="plain_generator")
    discriminator = keras.Sequential([
        keras.Input((16, 16, 1)),
        layers.Conv2D(4, 3, strides=2, padding="same"),
        layers.LeakyReLU(),
        layers.Flatten(),
        layers.Dense(1),
    ], name="plain_discriminator")
    return generator, discriminator


def batches(images, batch_size):
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices(images).batch(batch_size, drop_remainder=True)


def fit_and_record(gan, dataset):
    """Fit one epoch; return the logged (d_loss, g_loss) after every batch."""
    import keras

    history = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            history.append((logs["d_loss"], logs["g_loss"]))

    gan.fit(dataset, epochs=1, verbose=0, callbacks=[Record()])
    return np.array(history, dtype=np.float64)


def compare_run(strategy, images, initial_weights):
    """Train the plain DCGAN under `strategy`; return (losses, weights, traces)."""
    import keras

    from common.gan import DCGAN

    with strategy.scope():
        gan = DCGAN(*plain_networks(), LATENT_DIM, label_noise=0.1, seed=5)
        gan.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3))
        gan(keras.ops.zeros((1, LATENT_DIM)))
        gan.set_weights(initial_weights)
    losses = fit_and_record(gan, batches(images, GLOBAL_BATCH))
    return losses, gan.get_weights(), gan.train_step_traces


def smoke_run(strategy, variant, images):
    """A few fit steps of a published MNIST generator under `strategy`."""
    import keras

    from common.train import build_gan
    from mnist.experiment import make_experiment

    module = __import__(f"mnist.{variant}", fromlist=["build_generator"])
    experiment = make_experiment(variant, module.build_generator)
    with strategy.scope():
        gan = build_gan(experiment, seed=0)
    before = gan.get_weights()
    losses = fit_and_record(gan, batches(images, SMOKE_BATCH))
    changed = [not np.array_equal(a, b) for a, b in zip(before, gan.get_weights())]
    trainable = [weight.trainable for weight in gan.weights]
    iterations = keras.ops.convert_to_numpy(gan.g_optimizer.iterations)
    return losses, np.array(changed), np.array(trainable), int(iterations), gan.train_step_traces


def worker(out_path):
    devices = split_cpu_in_two()
    import keras
    import tensorflow as tf

    from common.data import load_mnist

    result = {"devices": np.array(devices)}
    images = np.random.default_rng(1).uniform(-1, 1, (STEPS * GLOBAL_BATCH, 16, 16, 1)).astype("float32")
    rng = np.random.default_rng(0)
    generator, discriminator = plain_networks()
    initial = [rng.normal(0.0, 0.3, w.shape).astype("float32")
               for w in generator.weights + discriminator.weights]

    # One MirroredStrategy for every run: two in one process reuse the same collective
    # instance keys, and the second run's all-reduce then fails with a shape mismatch.
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    single = compare_run(tf.distribute.OneDeviceStrategy("/cpu:0"), images, initial)
    mirrored = compare_run(strategy, images, initial)
    for name, (losses, weights, traces) in (("single", single), ("mirrored", mirrored)):
        result[f"{name}_losses"] = losses
        result[f"{name}_traces"] = np.array(traces)
        for index, weight in enumerate(weights):
            result[f"{name}_weight_{index}"] = weight
    result["initial_count"] = np.array(len(initial))

    mnist = load_mnist(ROOT / "tests" / "data").x_train[:2 * SMOKE_BATCH]
    for variant in ("naive", "factorised"):
        losses, changed, trainable, iterations, traces = smoke_run(strategy, variant, mnist)
        result[f"{variant}_losses"] = losses
        result[f"{variant}_changed"] = changed
        result[f"{variant}_trainable"] = trainable
        result[f"{variant}_iterations"] = np.array(iterations)
        result[f"{variant}_traces"] = np.array(traces)
    keras.backend.clear_session()
    np.savez(out_path, **result)


# ---------------------------------------------------------------------------
# Tests.
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out_path = tmp_path_factory.mktemp("strategy") / "strategy.npz"
    env = dict(os.environ, KERAS_BACKEND="tensorflow", PYTHONPATH=str(ROOT), CUDA_VISIBLE_DEVICES="",
               TF_CPP_MIN_LOG_LEVEL="3")
    process = subprocess.run([sys.executable, __file__, str(out_path)], env=env,
                             capture_output=True, text=True, timeout=900)
    if process.returncode != 0:
        pytest.fail(f"strategy worker failed:\n{process.stdout}\n{process.stderr[-4000:]}")
    with np.load(out_path) as archive:
        return dict(archive)


def test_two_logical_devices(results):
    assert len(results["devices"]) == 2


def test_mirrored_step_matches_one_device(results):
    np.testing.assert_allclose(results["mirrored_losses"], results["single_losses"], rtol=1e-5, atol=1e-6)
    for index in range(int(results["initial_count"])):
        np.testing.assert_allclose(results[f"mirrored_weight_{index}"], results[f"single_weight_{index}"],
                                   rtol=1e-4, atol=1e-5, err_msg=f"weight {index}")


def test_step_traced_once_per_replica(results):
    assert int(results["single_traces"]) == 1
    assert int(results["mirrored_traces"]) == 2


@pytest.mark.parametrize("variant", ["naive", "factorised"])
def test_mnist_models_fit_under_mirrored_strategy(results, variant):
    losses = results[f"{variant}_losses"]
    assert losses.shape == (2, 2)
    assert np.isfinite(losses).all()
    assert results[f"{variant}_changed"][results[f"{variant}_trainable"]].all()
    assert int(results[f"{variant}_iterations"]) == 2
    assert int(results[f"{variant}_traces"]) == 2


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    import common  # noqa: F401  (quiets TensorFlow's C++ logs, so it comes first)

    worker(sys.argv[1])
