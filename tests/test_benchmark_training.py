"""scripts/benchmark_training.py's time to target: read from the validation history only, the
training time up to the first epoch that met the target."""

from __future__ import annotations

import importlib.util

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


def finished_run(folder, model, flags, figures):
    """A run folder as zoo.train and the benchmark leave it: config.json and the figures."""
    import json

    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(benchmark.resolved_config(model, flags)))
    (folder / benchmark.RESULT_FILE).write_text(json.dumps(figures))


def test_a_finished_run_is_reused_by_a_later_call(tmp_path, capsys):
    """With --runs, a run that finished there with the same command is not trained again: its
    figures and the date it was measured go into the table. Another command's run is not reused,
    nor one of the same command whose recipe's defaults have changed since."""
    import json

    figures = {"command": benchmark.command_of("vae", ["--limit", "64"]), "measured": "2026-12-05 03:00 UTC",
               "wall_seconds": 42.0, "metrics": {"test_negative_elbo_nats": 235.5},
               "history": [{"seconds": 20.0, "val_loss": 240.0}, {"seconds": 20.0, "val_loss": 235.9}]}
    finished_run(tmp_path / "vae-new", "vae", ["--limit", "64"], figures)
    out = tmp_path / "table.md"
    assert benchmark.main(["--models", "vae", "--recipes", "new", "--runs", str(tmp_path), "--out", str(out),
                           "--", "--limit", "64"]) == 0
    assert "reused, measured 2026-12-05 03:00 UTC" in capsys.readouterr().out
    row = next(line for line in out.read_text().splitlines() if line.startswith("| vae | new"))
    assert "235.5" in row and "| yes |" in row and "0.7 min" in row and "2026-12-05 03:00 UTC" in row
    assert json.loads(out.with_suffix(".json").read_text())["vae"]["new"]["time_to_target"] == 40.0
    assert benchmark.finished("vae", ["--limit", "128"], tmp_path / "vae-new") is None
    assert benchmark.finished("vae", [], tmp_path / "missing") is None
    config = json.loads((tmp_path / "vae-new" / "config.json").read_text())
    (tmp_path / "vae-new" / "config.json").write_text(json.dumps({**config, "epochs": config["epochs"] + 1}))
    assert benchmark.finished("vae", ["--limit", "64"], tmp_path / "vae-new") is None


def test_the_cnn_targets_share_the_old_run(tmp_path, capsys):
    """cnn and cnn-long compare today's default and long preset with the same earlier recipe: its
    run (cnn-old) is made once and read by both rows, each against its own target."""
    import json

    history = [{"seconds": 100.0, "val_accuracy": 0.945}, {"seconds": 100.0, "val_accuracy": 0.952}]
    runs = {"cnn-old": benchmark.TARGETS["cnn"].old_flags, "cnn-new": (), "cnn-long-new": ("--preset", "long")}
    for folder, flags in runs.items():
        finished_run(tmp_path / folder, "cnn", list(flags),
                     {"command": benchmark.command_of("cnn", list(flags)), "measured": "2026-12-05 04:00 UTC",
                      "wall_seconds": 900.0, "metrics": {"test_accuracy": 0.951}, "history": history})
    out = tmp_path / "table.md"
    assert benchmark.main(["--models", "cnn,cnn-long", "--runs", str(tmp_path), "--out", str(out)]) == 0
    results = json.loads(out.with_suffix(".json").read_text())
    assert results["cnn"]["old"]["command"] == results["cnn-long"]["old"]["command"]
    assert results["cnn-long"]["new"]["command"].endswith("--preset long")
    assert results["cnn"]["old"]["time_to_target"] == 100.0 and results["cnn-long"]["old"]["time_to_target"] == 200.0
    assert capsys.readouterr().out.count("reused") == 4
