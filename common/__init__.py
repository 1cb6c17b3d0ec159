"""Code shared by every experiment: data, the DCGAN, callbacks, the command line.

Importing this package first keeps TensorFlow's C++ log lines (CUDA probing, CPU
feature notes) out of the console. With TensorFlow 2.21 some of them are written
while the library loads, before TF_CPP_MIN_LOG_LEVEL takes effect, so standard error
is silenced for the duration of that import. Set TF_CPP_MIN_LOG_LEVEL yourself
(0 shows everything) to turn this off.
"""

import os


def _import_tensorflow_quietly():
    saved_stderr = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        pass  # Keras can run on JAX without TensorFlow.
    finally:
        os.dup2(saved_stderr, 2)
        os.close(saved_stderr)
        os.close(devnull)


if "TF_CPP_MIN_LOG_LEVEL" not in os.environ:
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    if os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":
        _import_tensorflow_quietly()
