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
    history = [{"seconds": 70.0, "val_frechet_distance": 6.1}, {"seconds": 71.0, "val_frechet_distance": 4.8}]
    assert benchmark.time_to_target(dcgan, result(history, test_frechet_distance_zoo_cnn=9.0)) == 141.0
    assert benchmark.time_to_target(dcgan, result(history[:1], test_frechet_distance_zoo_cnn=4.0)) is None


def test_old_recipes_are_valid_flags_of_today():
    """The earlier releases' recipes parse with today's zoo.train flags and pin what today's
    defaults changed (a new default must not leak into the 'old' side of the comparison)."""
    from zoo import registry
    from zoo.train import make_config, parse

    configs = {name: make_config(parse([name, *target.old_flags]), registry.get(name))
               for name, target in benchmark.TARGETS.items()}
    assert configs["vae"]["activation"] == "relu" and configs["vae"]["batch_size"] == 128
    assert configs["vae"]["latent_dim"] == 16 and configs["vae"]["mixed_precision"] is False
    assert configs["cnn"]["widths"] == "48,96,192" and configs["cnn"]["epochs"] == 30
    assert configs["dcgan"]["epochs"] == 7
