"""A run goes on where it stopped: `--time-limit` stops after the epoch that passes it and
`--resume` extends the run (a finished run as a stopped one: from its checkpoint; one with
nothing left to train is evaluated again, its model.keras written from the checkpoint where a
commit left it out), `kill -9`
mid-epoch loses only that epoch, a loss that becomes nan keeps the last good checkpoint, and the
same seed gives the same losses. Each runs `python -m zoo.train`
in its own process, as a user (or a crash) would."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import FASHION_MNIST_RUN, ROOT, error_line, run_cli


def read(path):
    return json.loads(path.read_text())


def losses(run):
    return [h["loss"] for h in read(run / "checkpoint" / "state.json")["history"]]


@pytest.mark.slow
def test_time_limit_stops_after_the_epoch_that_passes_it_and_the_run_resumes(tmp_path):
    run = tmp_path / "run"
    result = run_cli("zoo.train", "vae", "--limit", 256, "--batch-size", 64, "--epochs", 5, "--time-limit", 0.001,
                     "--out", run)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "--time-limit of 0.001 minutes reached after epoch 1" in result.stderr
    assert read(run / "checkpoint" / "state.json")["epoch"] == 1 and read(run / "metrics.json")["epochs"] == 1
    result = run_cli("zoo.train", "vae", "--resume", run, "--epochs", 2)  # the resumed run keeps the limit
    assert result.returncode == 0, result.stderr[-2000:]
    assert "restored checkpoint of epoch 1" in result.stderr
    state = read(run / "checkpoint" / "state.json")
    assert state["epoch"] == 2 and [h["epoch"] for h in state["history"]] == [1, 2]
    assert read(run / "metrics.json")["epochs"] == 2  # the evaluation of the finished run, again
    assert (run / "images" / "samples_epoch_002.png").is_file()
    # A run as a commit keeps it (config.json and the checkpoint; model.keras is git-ignored): a
    # resume that trains nothing writes model.keras from the checkpoint, then evaluates it.
    (run / "model.keras").unlink()
    (run / "metrics.json").unlink()
    result = run_cli("zoo.train", "vae", "--resume", run, "--epochs", 2)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "the run already has 2 epochs" in result.stderr
    assert read(run / "metrics.json")["epochs"] == 2 and (run / "model.keras").is_file()
    assert read(run / "checkpoint" / "state.json")["epoch"] == 2


@pytest.mark.slow
def test_kill_9_mid_epoch_then_resume_finishes(tmp_path):
    """SIGKILL during the second epoch; --resume continues from the epoch-1 checkpoint."""
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "zoo.train", "vae", "--limit", 2048, "--epochs", 2, "--batch-size", 32, "--out", run]
    proc = subprocess.Popen(list(map(str, cmd)), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    state_path = run / "checkpoint" / "state.json"
    deadline = time.time() + 400
    while not state_path.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    time.sleep(1.0)  # well inside epoch 2
    assert proc.poll() is None, "training ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert read(state_path)["epoch"] == 1
    assert not list(run.rglob("*.tmp*")) or all(p.name.startswith(".") for p in run.rglob("*.tmp*"))
    result = run_cli("zoo.train", "vae", "--resume", run)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "restored checkpoint of epoch 1" in result.stderr
    assert [h["epoch"] for h in read(state_path)["history"]] == [1, 2]
    assert read(run / "metrics.json")["epochs"] == 2


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(train_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(train_run("vae"), run)
    good = (run / "model.keras").read_bytes()
    result = run_cli("zoo.train", "vae", "--resume", run, "--epochs", 3, "--learning-rate", 1e30)
    line = error_line(result)
    assert "became nan" in line or "became inf" in line
    assert "last good checkpoint" in line
    assert read(run / "checkpoint" / "state.json")["epoch"] == 2
    assert (run / "model.keras").read_bytes() == good


def test_same_seed_same_losses(train_run, tmp_path):
    """The command of the tiny CNN run (seed 0), run again in a new process, gives its losses to
    the last digits; another seed gives other losses."""
    again = run_cli("zoo.train", "cnn", *FASHION_MNIST_RUN, "--epochs", 2, "--out", tmp_path / "again")
    other = run_cli("zoo.train", "cnn", *FASHION_MNIST_RUN, "--epochs", 1, "--seed", 1, "--out", tmp_path / "other")
    assert again.returncode == 0 and other.returncode == 0, (again.stderr[-2000:], other.stderr[-2000:])
    reference = losses(train_run("cnn"))
    assert losses(tmp_path / "again") == pytest.approx(reference, rel=1e-5)
    assert losses(tmp_path / "other")[0] != pytest.approx(reference[0], rel=1e-5)
