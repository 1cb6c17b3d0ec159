"""Invalid command-line values stop the run with a clear error before any training."""

import pytest

from common import cli
from common.registry import experiment_of
from common.train import main
from conftest import SAMPLE_DIR

MNIST = experiment_of("mnist", "naive")


def parse_error(capsys, *argv):
    """Parse `argv`, expect an argparse exit, and return what it printed."""
    with pytest.raises(SystemExit) as stop:
        cli.parse_args(MNIST, list(argv))
    assert stop.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize("value", ["0", "-3"])
def test_epochs_must_be_positive(capsys, value):
    assert f"--epochs: invalid value {value}" in parse_error(capsys, "--epochs", value)


def test_epochs_must_be_whole(capsys):
    assert "expected a whole number" in parse_error(capsys, "--epochs", "1.5")


def test_limit_zero(capsys):
    assert "--limit: invalid value 0" in parse_error(capsys, "--limit", "0")


def test_batch_larger_than_limit(capsys):
    message = parse_error(capsys, "--limit", "100", "--batch-size", "256")
    assert "--batch-size 256 is larger than --limit 100" in message


def test_data_dir_must_exist(capsys, tmp_path):
    message = parse_error(capsys, "--data-dir", str(tmp_path / "missing"))
    assert "is not a folder" in message
    assert "mnist.npz" in message


def test_batch_larger_than_data(tmp_path):
    with pytest.raises(SystemExit, match=r"--batch-size 512 is larger than the 300 training images"):
        main(MNIST, ["--data-dir", str(SAMPLE_DIR), "--batch-size", "512",
                     "--output-dir", str(tmp_path / "out"), "--run-dir", str(tmp_path / "run")])
    assert not (tmp_path / "run").exists()


def test_missing_data_file_exits_cleanly(tmp_path):
    with pytest.raises(SystemExit, match=r"error: Dataset file not found: .*mnist\.npz"):
        main(MNIST, ["--data-dir", str(tmp_path), "--output-dir", str(tmp_path / "out")])


def test_defaults_follow_published_experiment():
    args = cli.parse_args(MNIST, [])
    assert args.epochs == 100
    assert args.batch_size == 256
    assert str(args.output_dir) == "examples/mnist/naive"
    assert str(args.run_dir) == "runs/mnist/naive/seed0"


def test_help_states_units_and_defaults(capsys):
    with pytest.raises(SystemExit):
        cli.parse_args(MNIST, ["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "number of full passes over the training images (default: 100)" in text
    assert "images per training step, summed over all devices (default: 256)" in text
    assert "--limit" in text
    assert "--data-dir" in text
    assert "--seed" in text


def test_limit_above_data_uses_all(tmp_path, caplog):
    gan = main(MNIST, ["--data-dir", str(SAMPLE_DIR), "--limit", "100000", "--batch-size", "150",
                       "--epochs", "1", "--score-samples", "0",
                       "--output-dir", str(tmp_path / "out"), "--run-dir", str(tmp_path / "run")])
    assert int(gan.d_optimizer.iterations) == 2  # 300 images in batches of 150.


def test_help_omits_none_defaults(capsys):
    with pytest.raises(SystemExit):
        cli.parse_args(MNIST, ["--help"])
    assert "(default: None)" not in capsys.readouterr().out
