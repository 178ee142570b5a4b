"""Shared fixtures: run the zoo's CLIs as a user would (subprocesses), on real Fashion-MNIST
(Debian's package when installed, else the sample embedded in the package), and a few tiny
trained runs that several tests reuse."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]


def run_cli(module, *args, env=None, timeout=600, cwd=None):
    """Run `python -m module args...`; return the CompletedProcess (text, both streams captured)."""
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], capture_output=True, text=True,
                          env=full_env, timeout=timeout, cwd=cwd or ROOT)


def error_line(result):
    """The single `error: ...` line a CLI prints for bad input (asserting there is exactly one)."""
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert len(lines) == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    return lines[0]


@pytest.fixture(scope="session")
def train_run(tmp_path_factory):
    """train_run(model, *flags) trains a tiny run once per distinct call and returns its folder."""
    cache = {}

    def make(model, *flags):
        key = (model, *flags)
        if key not in cache:
            out = tmp_path_factory.mktemp(f"run-{model}") / "run"
            result = run_cli("zoo.train", model, "--limit", 512, "--epochs", 2, "--batch-size", 64,
                             "--out", out, *flags)
            assert result.returncode == 0, result.stderr[-3000:]
            cache[key] = out
        return cache[key]

    return make
