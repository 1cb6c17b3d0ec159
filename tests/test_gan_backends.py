"""The DCGAN's JAX training step, checked on its own and against the TensorFlow step.

The Keras backend is fixed when keras is first imported, so each backend runs in its
own subprocess: this file run as a script (`python tests/test_gan_backends.py BACKEND
OUT.npz`) trains tiny networks on that backend and saves what the tests compare. The
JAX worker runs with TensorFlow made unimportable, as on a machine with JAX alone.
"""

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
LATENT_DIM = 8
BATCH = 8
STEPS = 3
LEARNING_RATE = 1e-3


# ---------------------------------------------------------------------------
# Worker: runs in a subprocess with KERAS_BACKEND set.
# ---------------------------------------------------------------------------

class _BlockTensorFlow:
    """Meta-path finder that makes `import tensorflow` fail, as on a JAX-only machine."""

    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ImportError(f"{name} is blocked in this test")
        return None


def tiny_networks():
    """Return a small (generator, discriminator) pair: BatchNorm in the generator, no dropout."""
    import keras
    from keras import layers

    generator = keras.Sequential([
        keras.Input((LATENT_DIM,)),
        layers.Dense(4 * 4 * 8, use_bias=False),
        layers.BatchNormalization(),
        layers.LeakyReLU(),
        layers.Reshape((4, 4, 8)),
        layers.Conv2DTranspose(4, 3, strides=2, padding="same", use_bias=False),
        layers.BatchNormalization(),
        layers.LeakyReLU(),
        layers.Conv2DTranspose(1, 3, strides=2, padding="same", activation="tanh"),
    ], name="tiny_generator")
    discriminator = keras.Sequential([
        keras.Input((16, 16, 1)),
        layers.Conv2D(4, 3, strides=2, padding="same"),
        layers.LeakyReLU(),
        layers.Flatten(),
        layers.Dense(1),
    ], name="tiny_discriminator")
    return generator, discriminator


def make_gan(label_noise):
    """Build and compile a DCGAN of the tiny networks with weights drawn from NumPy.

    Drawing the kernels from a fixed NumPy generator (instead of the backend's
    initialisers) gives both backends the same starting point.
    """
    import keras

    from common.gan import DCGAN

    gan = DCGAN(*tiny_networks(), LATENT_DIM, label_noise=label_noise, seed=3)
    gan.compile(d_optimizer=keras.optimizers.Adam(LEARNING_RATE),
                g_optimizer=keras.optimizers.Adam(LEARNING_RATE))
    gan(keras.ops.zeros((1, LATENT_DIM)))
    rng = np.random.default_rng(0)
    gan.set_weights([rng.normal(0.0, 0.3, w.shape).astype("float32")
                     if ("kernel" in w.path) else w.numpy() for w in gan.weights])
    return gan


def fit_and_record(gan, images, epochs):
    """Fit for `epochs` passes over `images`; return the logs after every batch."""
    import keras

    history = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            history.append((logs["d_loss"], logs["g_loss"]))

    gan.fit(images, batch_size=BATCH, epochs=epochs, shuffle=False, verbose=0, callbacks=[Record()])
    return np.array(history, dtype=np.float64)


def moving_stats(gan):
    """Return copies of the generator's BatchNorm moving means and variances."""
    return [w.numpy().copy() for w in gan.generator.weights if "moving" in w.path]


def worker(out_path):
    """Train the tiny DCGAN three ways on this backend and save what the tests check."""
    import keras
    from keras import ops

    result = {"backend": np.array(keras.backend.backend())}
    images = np.random.default_rng(1).uniform(-1, 1, (STEPS * BATCH, 16, 16, 1)).astype("float32")

    # 1. As in training: label noise, latent vectors from the seed generator, two
    # epochs so the state also round-trips through the end-of-epoch sync.
    gan = make_gan(label_noise=0.1)
    before = [w.copy() for w in gan.get_weights()]
    seed_before = ops.convert_to_numpy(gan.seed_generator.state.value).copy()
    stats_before = moving_stats(gan)
    result["natural_losses"] = fit_and_record(gan, images, epochs=2)
    result["natural_changed"] = np.array([not np.array_equal(a, b) for a, b in zip(before, gan.get_weights())])
    result["natural_trainable"] = np.array([w.trainable for w in gan.weights])
    result["seed_before"] = seed_before
    result["seed_after"] = ops.convert_to_numpy(gan.seed_generator.state.value)
    result["stats_changed"] = np.array([not np.array_equal(a, b) for a, b in zip(stats_before, moving_stats(gan))])
    result["iterations"] = np.array([int(ops.convert_to_numpy(gan.d_optimizer.iterations)),
                                     int(ops.convert_to_numpy(gan.g_optimizer.iterations))])
    result["traces"] = np.array(gan.train_step_traces)

    # 2. Deterministic: no label noise and one fixed latent batch, for the comparison
    # between backends.
    gan = make_gan(label_noise=0.0)
    fixed_latent = np.random.default_rng(2).normal(size=(BATCH, LATENT_DIM)).astype("float32")
    gan.sample_latent = lambda batch_size: ops.convert_to_tensor(fixed_latent)
    result["fixed_losses"] = fit_and_record(gan, images, epochs=1)
    for index, weight in enumerate(gan.get_weights()):
        result[f"fixed_weight_{index}"] = weight

    # 3. Mixed precision: float16 compute, float32 weights, loss-scaled optimizers.
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        gan = make_gan(label_noise=0.1)
        before = [w.copy() for w in gan.get_weights()]
        result["mixed_losses"] = fit_and_record(gan, images, epochs=1)
        result["mixed_output_dtype"] = np.array(str(gan(np.zeros((1, LATENT_DIM), "float32")).dtype))
        result["mixed_loss_scaling"] = np.array([
            isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
            for optimizer in (gan.d_optimizer, gan.g_optimizer)])
        result["mixed_step_counters"] = np.array([
            int(ops.convert_to_numpy(optimizer.step_counter))
            for optimizer in (gan.d_optimizer, gan.g_optimizer)])
        result["mixed_changed"] = np.array([not np.array_equal(a, b) for a, b in zip(before, gan.get_weights())])
        result["mixed_weight_dtypes"] = np.array(sorted({str(w.dtype) for w in gan.weights if w.trainable}))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    np.savez(out_path, **result)


# ---------------------------------------------------------------------------
# Tests: run the workers and compare.
# ---------------------------------------------------------------------------

def run_worker(backend, out_path):
    """Run `worker` in a subprocess on `backend`; return its saved arrays by name."""
    env = dict(os.environ, KERAS_BACKEND=backend, PYTHONPATH=str(ROOT), CUDA_VISIBLE_DEVICES="",
               JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="3")
    process = subprocess.run([sys.executable, __file__, backend, str(out_path)], env=env,
                             capture_output=True, text=True, timeout=600)
    if process.returncode != 0:
        pytest.fail(f"{backend} worker failed:\n{process.stdout}\n{process.stderr[-4000:]}")
    with np.load(out_path) as archive:
        return dict(archive)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Run the TensorFlow and the JAX workers side by side; return their saved arrays."""
    folder = tmp_path_factory.mktemp("backends")
    with ThreadPoolExecutor(2) as pool:
        futures = {backend: pool.submit(run_worker, backend, folder / f"{backend}.npz")
                   for backend in ("tensorflow", "jax")}
        return {backend: future.result() for backend, future in futures.items()}


def test_jax_losses_finite_without_tensorflow(results):
    # The JAX worker ran with `import tensorflow` blocked.
    jax = results["jax"]
    assert str(jax["backend"]) == "jax"
    assert jax["natural_losses"].shape == (2 * STEPS, 2)
    assert np.isfinite(jax["natural_losses"]).all()
    assert np.isfinite(jax["fixed_losses"]).all()


def test_jax_step_updates_all_state(results):
    jax = results["jax"]
    # Every trainable weight moved; BatchNorm's moving statistics moved too.
    assert jax["natural_changed"][jax["natural_trainable"]].all()
    assert len(jax["stats_changed"]) == 4
    assert jax["stats_changed"].all()
    # Each step draws latent vectors and two sets of label noise from the seed.
    assert jax["seed_after"][1] == jax["seed_before"][1] + 3 * 2 * STEPS
    assert jax["iterations"].tolist() == [2 * STEPS, 2 * STEPS]
    assert int(jax["traces"]) == 1


def test_tensorflow_step_updates_the_same_state(results):
    tf = results["tensorflow"]
    assert tf["natural_changed"][tf["natural_trainable"]].all()
    assert tf["stats_changed"].all()
    assert tf["seed_after"][1] == tf["seed_before"][1] + 3 * 2 * STEPS
    assert tf["iterations"].tolist() == [2 * STEPS, 2 * STEPS]
    assert int(tf["traces"]) == 1


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_mixed_precision_scales_losses(results, backend):
    result = results[backend]
    assert np.isfinite(result["mixed_losses"]).all()
    assert "float16" in str(result["mixed_output_dtype"])
    assert result["mixed_weight_dtypes"].tolist() == ["float32"]
    assert result["mixed_loss_scaling"].all()
    # Every step had finite gradients, so each loss scale counted every step.
    assert result["mixed_step_counters"].tolist() == [STEPS, STEPS]
    assert result["mixed_changed"][result["natural_trainable"]].all()


def test_jax_and_tensorflow_steps_agree(results):
    jax, tf = results["jax"], results["tensorflow"]
    np.testing.assert_allclose(jax["fixed_losses"], tf["fixed_losses"], rtol=1e-4, atol=1e-5)
    names = sorted(key for key in tf if key.startswith("fixed_weight_"))
    assert names and names == sorted(key for key in jax if key.startswith("fixed_weight_"))
    for name in names:
        np.testing.assert_allclose(jax[name], tf[name], rtol=1e-4, atol=2e-6, err_msg=name)


if __name__ == "__main__":
    if sys.argv[1] == "jax":
        sys.meta_path.insert(0, _BlockTensorFlow())
    sys.path.insert(0, str(ROOT))
    import common  # noqa: F401  (quiets TensorFlow's C++ logs, so it comes first)

    worker(sys.argv[2])
