"""End-to-end training runs on tiny data: frames, the GIF, run.json, and resuming."""

import json
import signal
import subprocess
import sys
import time

import imageio.v3 as iio
import numpy as np
import pytest

from common.registry import all_variants, experiment_of
from common.train import main
from conftest import REPOSITORY, SAMPLE_DIR, TINY_RUN, run_script, shared_dataset


def check_outputs(output_dir, epochs, image_size, channels):
    """Assert one grid per epoch, a GIF with every frame, and a run.json entry per epoch."""
    frames = sorted(output_dir.glob("epoch_*.png"))
    assert [frame.name for frame in frames] == [f"epoch_{n:04d}.png" for n in range(1, epochs + 1)]
    grid = iio.imread(frames[0])
    side = 2 + 4 * (4 * image_size + 2)  # 4x4 tiles enlarged 4 times, 2-pixel gaps.
    assert grid.shape == ((side, side) if channels == 1 else (side, side, 3))
    gif = iio.imread(output_dir / "progress.gif", index=None)
    assert len(gif) == epochs
    record = json.loads((output_dir / "run.json").read_text())
    assert [entry["epoch"] for entry in record["epochs"]] == list(range(1, epochs + 1))
    assert all(np.isfinite(entry["d_loss"]) and np.isfinite(entry["g_loss"]) for entry in record["epochs"])


def test_mnist_script_from_command_line(tmp_path):
    result = run_script("mnist/factorised.py", "--data-dir", SAMPLE_DIR, *TINY_RUN,
                        "--output-dir", tmp_path / "out", "--run-dir", tmp_path / "run")
    assert result.returncode == 0, result.stderr
    assert "Loaded 48 training images" in result.stdout
    assert "Starting at epoch 1 of 2" in result.stdout
    assert "cuda" not in (result.stdout + result.stderr).lower()
    check_outputs(tmp_path / "out", 2, 28, 1)
    assert (tmp_path / "run" / "generator.keras").is_file()
    assert any((tmp_path / "run" / "logs").rglob("events.out.tfevents.*"))


@pytest.mark.parametrize("dataset, variant", [pair for pair in all_variants()
                                              if pair != ("mnist", "factorised")])
def test_every_script_trains_two_epochs(tmp_path, dataset, variant):
    argv = ["--data-dir", str(SAMPLE_DIR), *TINY_RUN,
            "--output-dir", str(tmp_path / "out"), "--run-dir", str(tmp_path / "run")]
    if dataset == "cifar10":  # About 3.5 GMAC per generated image: keep it to 4 steps.
        argv[argv.index("16")], argv[argv.index("48")] = "4", "8"
    main(experiment_of(dataset, variant), argv)
    size, channels = (32, 3) if dataset == "cifar10" else (28, 1)
    check_outputs(tmp_path / "out", 2, size, channels)


def test_resume_restores_optimizer_state(tmp_path):
    experiment = experiment_of("mnist", "naive")
    argv = ["--data-dir", str(SAMPLE_DIR), "--batch-size", "16", "--limit", "32",
            "--output-dir", str(tmp_path / "out"), "--run-dir", str(tmp_path / "run")]
    first = main(experiment, argv + ["--epochs", "1"])
    weights_after_one = first.generator.get_weights()
    resumed = main(experiment, argv + ["--epochs", "2"])
    assert int(resumed.d_optimizer.iterations) == 4
    assert int(resumed.g_optimizer.iterations) == 4
    assert not np.allclose(resumed.generator.get_weights()[0], weights_after_one[0])
    check_outputs(tmp_path / "out", 2, 28, 1)


def test_changed_settings_refuse_to_resume(tmp_path):
    experiment = experiment_of("mnist", "naive")
    argv = ["--data-dir", str(SAMPLE_DIR), "--limit", "32", "--epochs", "1",
            "--output-dir", str(tmp_path / "out"), "--run-dir", str(tmp_path / "run")]
    main(experiment, argv + ["--batch-size", "16"])
    with pytest.raises(SystemExit, match=r"batch_size 16 -> 32.*--fresh"):
        main(experiment, argv + ["--batch-size", "32"])
    main(experiment, argv + ["--batch-size", "32", "--fresh"])
    check_outputs(tmp_path / "out", 1, 28, 1)


def test_fewer_epochs_than_saved_is_rejected(tmp_path):
    experiment = experiment_of("mnist", "naive")
    argv = ["--data-dir", str(SAMPLE_DIR), "--batch-size", "16", "--limit", "16", "--score-samples", "0",
            "--output-dir", str(tmp_path / "out"), "--run-dir", str(tmp_path / "run")]
    main(experiment, argv + ["--epochs", "2"])
    with pytest.raises(SystemExit, match=r"already contains 2 epochs, more than --epochs 1"):
        main(experiment, argv + ["--epochs", "1"])


def saved_epochs(run_dir):
    try:
        return json.loads((run_dir / "backup" / "training_metadata.json").read_text())["epoch"]
    except (OSError, ValueError):
        return 0


def test_killed_run_resumes_with_same_command(tmp_path):
    command = [sys.executable, str(REPOSITORY / "mnist" / "naive.py"), "--data-dir", str(SAMPLE_DIR),
               "--epochs", "3", "--batch-size", "16", "--limit", "64",
               "--output-dir", str(tmp_path / "out"), "--run-dir", str(tmp_path / "run")]
    process = subprocess.Popen(command, cwd=REPOSITORY, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 240
    while saved_epochs(tmp_path / "run") < 1 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = saved_epochs(tmp_path / "run")
    assert 1 <= killed_at < 3, "the run finished or never saved an epoch before it was killed"

    result = subprocess.run(command, cwd=REPOSITORY, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    assert f"Resuming after epoch {killed_at} of 3" in result.stdout
    check_outputs(tmp_path / "out", 3, 28, 1)


def test_trains_on_real_mnist(tmp_path):
    data_dir = shared_dataset("mnist")
    main(experiment_of("mnist", "factorised"),
         ["--data-dir", str(data_dir), "--epochs", "1", "--batch-size", "64", "--limit", "256",
          "--output-dir", str(tmp_path / "out"), "--run-dir", str(tmp_path / "run")])
    record = json.loads((tmp_path / "out" / "run.json").read_text())
    assert record["settings"]["data_source"] == "DIR/mnist.npz, first 256 training images"
    assert record["settings"]["train_images"] == 256
    check_outputs(tmp_path / "out", 1, 28, 1)
