"""Shared paths and helpers for the test suite."""

import os
import subprocess
import sys
from pathlib import Path

import common  # noqa: F401  (imported before TensorFlow to quiet its C++ logs)
import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
SAMPLE_DIR = REPOSITORY / "tests" / "data"
SHARED_DATA = REPOSITORY.parent / "shared" / "data"

# Small runs for end-to-end tests: a handful of steps per epoch.
TINY_RUN = ["--epochs", "2", "--batch-size", "16", "--limit", "48", "--score-samples", "0"]


def shared_dataset(name):
    """Return ../shared/data/<name>, or skip the test when that folder is absent."""
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"real dataset folder {path} is absent on this machine")
    return path


def run_script(script, *args, timeout=300):
    """Run `python <script> <args>` from the repository root and return the result."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run([sys.executable, str(REPOSITORY / script), *map(str, args)],
                          cwd=REPOSITORY, env=env, capture_output=True, text=True, timeout=timeout)
