"""tf.distribute strategies on CPU: mirrored across two logical devices, and multi-worker with two
worker processes on localhost (TF_CONFIG), as the issue asks CI to prove."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from conftest import ROOT, run_cli

pytestmark = pytest.mark.slow  # trains in subprocesses


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_mirrored_on_two_logical_cpus(tmp_path):
    result = run_cli("zoo.train", "cnn", "--strategy", "mirrored", "--cpu-devices", 2, "--limit", 256,
                     "--epochs", 1, "--batch-size", 64, "--out", tmp_path / "run")
    assert result.returncode == 0, result.stderr[-3000:]
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["strategy"] == "mirrored"
    assert "mirrored strategy: 2 replicas" in result.stderr
    assert (tmp_path / "run" / "model.keras").is_file()


def test_multiworker_two_processes_on_localhost(tmp_path):
    ports = free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    for index in range(2):
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2",
               "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        cmd = [sys.executable, "-m", "zoo.train", "vae", "--strategy", "multiworker", "--limit", "256",
               "--epochs", "2", "--batch-size", "64", "--out", str(tmp_path / f"run{index}")]
        procs.append(subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outputs = [p.communicate(timeout=600) for p in procs]
    for p, (_, err) in zip(procs, outputs):
        assert p.returncode == 0, err[-3000:]
    chief = tmp_path / "run0"
    assert json.loads((chief / "checkpoint" / "state.json").read_text())["epoch"] == 2
    assert (chief / "model.keras").is_file() and (chief / "metrics.json").is_file()
    assert not (tmp_path / "run1").exists(), "the non-chief worker must not write the run folder"
    assert "multiworker strategy: 2 replicas" in outputs[0][1]
