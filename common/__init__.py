"""Code shared by every experiment: data, the DCGAN, callbacks, the command line.

Importing this package first keeps the C++ log lines that TensorFlow and JAX write
while they load (CUDA probing, CPU feature notes) out of the console. Some of them
ignore TF_CPP_MIN_LOG_LEVEL, so standard error is silenced for the duration of the
Keras import. Set TF_CPP_MIN_LOG_LEVEL to 0, 1 or 2 to see them.
"""

import os


def _import_keras_quietly():
    saved_stderr = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import keras  # noqa: F401  (loads the backend: TensorFlow or JAX)
    finally:
        os.dup2(saved_stderr, 2)
        os.close(saved_stderr)
        os.close(devnull)


if os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3") == "3":
    _import_keras_quietly()
