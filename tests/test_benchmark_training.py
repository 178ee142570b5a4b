"""scripts/benchmark_training.py's time to target: read from the validation history only, the
training time up to the first epoch that met the target."""

from __future__ import annotations

import importlib.util

import pytest

from conftest import ROOT

spec = importlib.util.spec_from_file_location("benchmark_training", ROOT / "scripts" / "benchmark_training.py")
benchmark = importlib.util.module_from_spec(spec)
spec.loader.exec_module(benchmark)


def result(history, **metrics):
    return {"history": history, "metrics": metrics}


def test_time_to_target_uses_the_validation_history():
    cnn = benchmark.TARGETS["cnn"]
    history = [{"seconds": 60.0, "val_accuracy": 0.92}, {"seconds": 61.0, "val_accuracy": 0.941},
               {"seconds": 59.0, "val_accuracy": 0.93}]
    assert benchmark.time_to_target(cnn, result(history, test_accuracy=0.90)) == 121.0  # test split not read
    assert benchmark.time_to_target(cnn, result(history[:1], test_accuracy=0.95)) is None
    vae = benchmark.TARGETS["vae"]
    assert benchmark.time_to_target(vae, result([{"seconds": 30.0, "val_loss": 235.9}])) == 30.0
    dcgan = benchmark.TARGETS["dcgan"]  # lower is better
    history = [{"seconds": 70.0, "val_frechet_distance": 1.5}, {"seconds": 71.0, "val_frechet_distance": 1.1}]
    assert benchmark.time_to_target(dcgan, result(history, test_frechet_distance_zoo_cnn=2.0)) == 141.0
    assert benchmark.time_to_target(dcgan, result(history[:1], test_frechet_distance_zoo_cnn=1.0)) is None


def test_old_recipes_are_valid_flags_of_today():
    """The earlier releases' recipes parse with today's zoo.train flags and pin what today's
    defaults changed (a new default must not leak into the 'old' side of the comparison)."""
    configs = {target.model: benchmark.resolved_config(target.model, target.old_flags)
               for target in benchmark.TARGETS.values()}
    assert configs["vae"]["activation"] == "relu" and configs["vae"]["batch_size"] == 128
    assert configs["vae"]["latent_dim"] == 16 and configs["vae"]["mixed_precision"] is False
    assert configs["cnn"]["widths"] == "48,96,192" and configs["cnn"]["epochs"] == 30
    assert configs["cnn"]["blocks"] == "vgg" and configs["cnn"]["stem"] == 0
    assert configs["dcgan"]["epochs"] == 7 and configs["dcgan"]["schedule"] == "constant"


def row(model, flags, measured, metrics, history, **changed):
    """A row of the results file as a run of `model` with today's configuration, `changed` aside, leaves it."""
    config = {**benchmark.resolved_config(model, flags), **changed}
    return benchmark.row(model, flags, config, measured, 42.0, metrics, history)


def test_an_earlier_row_is_reused_only_if_today_would_make_it_again(tmp_path, capsys):
    """A row of the results file that today's command and hyper-parameters would make again is not
    trained again: its figures and the date it was measured go into the table. Another command's
    row is not reused, nor one of the same command whose recipe's defaults have changed since;
    rows of targets the call does not run stay in the table."""
    import json

    vae = row("vae", ["--limit", "64"], "2026-12-05 03:00 UTC", {"test_negative_elbo_nats": 235.5},
              [{"seconds": 20.0, "val_loss": 240.0}, {"seconds": 20.0, "val_loss": 235.9}])
    dcgan = row("dcgan", ["--limit", "64"], "2026-12-04 03:00 UTC", {"test_frechet_distance_zoo_cnn": 0.9}, [])
    out = tmp_path / "table.md"
    out.with_suffix(".json").write_text(json.dumps({"vae": {"new": vae}, "dcgan": {"new": dcgan}}))
    assert benchmark.main(["--models", "vae", "--recipes", "new", "--out", str(out), "--", "--limit", "64"]) == 0
    assert "reused, measured 2026-12-05 03:00 UTC" in capsys.readouterr().out
    line = next(line for line in out.read_text().splitlines() if line.startswith("| vae | new"))
    assert "235.5" in line and "| yes |" in line and "0.7 min" in line and "2026-12-05 03:00 UTC" in line
    results = json.loads(out.with_suffix(".json").read_text())
    assert results["vae"]["new"]["time_to_target"] == 40.0 and results["dcgan"]["new"]["measured"] == dcgan["measured"]
    assert benchmark.earlier_run([vae], "vae", ["--limit", "128"]) is None
    assert benchmark.earlier_run([vae], "vae", ["--limit", "64"]) == vae
    stale = row("vae", ["--limit", "64"], "2026-12-05 03:00 UTC", {}, [],
                epochs=benchmark.resolved_config("vae", [])["epochs"] + 1)
    assert benchmark.earlier_run([stale], "vae", ["--limit", "64"]) is None


def test_the_cnn_targets_share_the_old_run(tmp_path):
    """cnn and cnn-long compare today's default and long preset with the same earlier recipe: its
    run (cnn-old) is made once and read by both rows, each against its own target."""
    import json

    history = [{"seconds": 100.0, "val_accuracy": 0.945}, {"seconds": 100.0, "val_accuracy": 0.952}]
    old = row("cnn", list(benchmark.TARGETS["cnn"].old_flags), "2026-12-05 04:00 UTC", {"test_accuracy": 0.951},
              history)
    new = row("cnn", [], "2026-12-05 04:00 UTC", {"test_accuracy": 0.951}, history)
    long = row("cnn", ["--preset", "long"], "2026-12-05 04:00 UTC", {"test_accuracy": 0.951}, history)
    out = tmp_path / "table.md"
    out.with_suffix(".json").write_text(json.dumps({"cnn": {"new": new, "old": old}, "cnn-long": {"new": long}}))
    assert benchmark.main(["--models", "cnn,cnn-long", "--out", str(out)]) == 0
    results = json.loads(out.with_suffix(".json").read_text())
    assert results["cnn"]["old"]["command"] == results["cnn-long"]["old"]["command"]
    assert results["cnn-long"]["new"]["command"].endswith("--preset long")
    assert results["cnn"]["old"]["time_to_target"] == 100.0 and results["cnn-long"]["old"]["time_to_target"] == 200.0


@pytest.mark.slow
def test_a_run_is_trained_recorded_at_once_and_reused(tmp_path):
    """A real (small) run: trained by zoo.train in a fresh process, its row written as soon as it
    finished, with the hyper-parameters it ran with; the next call reuses it instead of training."""
    import json

    out = tmp_path / "table.md"
    argv = ["--models", "vae", "--recipes", "new", "--out", str(out), "--runs", str(tmp_path / "runs"),
            "--", "--limit", "256", "--epochs", "1"]
    assert benchmark.main(argv) == 0
    first = json.loads(out.with_suffix(".json").read_text())["vae"]["new"]
    assert first["hyperparameters"]["epochs"] == 1 and first["hyperparameters"]["limit"] == 256
    assert len(first["history"]) == 1 and first["metrics"]["test_negative_elbo_nats"] > 0
    assert (tmp_path / "runs" / "vae-new" / "model.keras").exists()
    (tmp_path / "runs" / "vae-new" / "model.keras").unlink()  # a second training would write it again
    assert benchmark.main(argv) == 0
    assert json.loads(out.with_suffix(".json").read_text())["vae"]["new"]["measured"] == first["measured"]
    assert not (tmp_path / "runs" / "vae-new" / "model.keras").exists()
