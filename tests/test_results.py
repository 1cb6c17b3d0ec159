"""The results table, its statistics and the figures, on synthetic run records."""

import json

import imageio.v3 as iio
import pytest

from common import results
from common.figures import convergence_figure


def fake_record(variant, seed, kids, seconds=2.0):
    settings = {"dataset": "mnist", "variant": variant, "seed": seed, "batch_size": 256,
                "limit": 1280, "train_images": 1280}
    epochs = [{"epoch": index + 1, "fd": 10.0 * kid, "kid": kid, "kid_std": 0.1, "num_samples": 1000,
               "num_real": 10000, "classes_covered": 3, "train_seconds": seconds}
              for index, kid in enumerate(kids)]
    return {"settings": settings, "epochs": epochs}


def write_runs(root, records):
    for record in records:
        settings = record["settings"]
        folder = root / settings["dataset"] / settings["variant"] / f"seed{settings['seed']}"
        folder.mkdir(parents=True)
        (folder / "run.json").write_text(json.dumps(record))


def test_summary_over_seeds(tmp_path):
    write_runs(tmp_path, [fake_record("naive", 0, [3.0, 1.0, 2.0]), fake_record("naive", 1, [4.0, 3.0, 4.0])])
    runs = results.load_runs(tmp_path)
    summary = results.summarise("mnist", "naive", runs["mnist", "naive"])
    assert summary["seeds"] == [0, 1]
    assert summary["final_kid"] == pytest.approx((3.0, 1.4142135), rel=1e-6)
    assert summary["best_kid"] == pytest.approx((2.0, 1.4142135), rel=1e-6)
    assert summary["best_kid_epochs"] == [2, 2]
    assert summary["images_per_second"] == pytest.approx((640.0, 0.0))
    assert summary["parameters"] == 2_330_944


def test_first_epoch_left_out_of_throughput():
    record = fake_record("naive", 0, [1.0, 1.0])
    record["epochs"][0]["train_seconds"] = 100.0
    assert results.throughput(record) == pytest.approx(640.0)


def test_table_shows_mean_and_std(tmp_path):
    write_runs(tmp_path, [fake_record("factorised", seed, [2.0, 1.0 + seed]) for seed in range(3)])
    summary = results.summarise("mnist", "factorised", results.load_runs(tmp_path)["mnist", "factorised"])
    table = results.results_table([summary])
    assert "| mnist | factorised | 1,588,805 |" in table
    assert "| 1,280 | 3 | 2 | 1000 vs 10000 | 20.00 ± 10.00 | 2.000 ± 1.000 |" in table


def test_convergence_figure_is_written(tmp_path):
    runs = {"naive": [fake_record("naive", 0, [3.0, 2.0])],
            "factorised": [fake_record("factorised", 0, [4.0, 3.0]), fake_record("factorised", 1, [5.0, 2.0])]}
    path = convergence_figure("mnist", runs, tmp_path / "convergence.png")
    assert iio.imread(path).shape[0] > 100
