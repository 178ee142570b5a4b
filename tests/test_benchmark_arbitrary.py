"""scripts/benchmark_arbitrary_vs_peer.py's pairs: the test paintings are those the run and the
reference both held out; --validation gives the run's other held-out style images, so that runs
are compared without looking at the test paintings."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import numpy as np
from PIL import Image

from conftest import ROOT

spec = importlib.util.spec_from_file_location("benchmark_arbitrary_vs_peer",
                                              ROOT / "scripts" / "benchmark_arbitrary_vs_peer.py")
benchmark = importlib.util.module_from_spec(spec)
spec.loader.exec_module(benchmark)


def folder(path, names, held=()):
    """Small images `names` in `path`, and a PROVENANCE.csv that holds out `held`."""
    path.mkdir()
    for name in names:
        Image.fromarray(np.full((8, 8, 3), 100, np.uint8)).save(path / name)
    rows = ["file,split"] + [f"{n},{'test' if n in held else 'train'}" for n in names]
    (path / "PROVENANCE.csv").write_text("\n".join(rows) + "\n")
    return str(path)


def test_validation_paintings_are_the_run_s_held_out_ones_the_reference_did_not_hold_out(tmp_path):
    photos = folder(tmp_path / "photos", [f"p{i}.png" for i in range(4)])
    names = ["a.png", "b.png", "c.png", "d.png", "e.png"]
    run = {"content": photos, "styles": folder(tmp_path / "styles", names, held={"a.png", "b.png", "c.png"})}
    reference = {"content": photos, "styles": folder(tmp_path / "old", names, held={"b.png"})}
    held_photos, test = benchmark.held_out(run, reference)
    assert [p.name for p in test] == ["b.png"]
    assert [p.name for p in benchmark.held_out(run, reference, validation=True)[1]] == ["a.png", "c.png"]
    assert [p.name for p in benchmark.held_out(run)[1]] == ["a.png", "b.png", "c.png"]
    assert [p.name for p in held_photos] == ["p0.png"]


def test_validation_needs_a_reference_and_quality_only():
    result = subprocess.run([sys.executable, ROOT / "scripts" / "benchmark_arbitrary_vs_peer.py", "release",
                             "--validation"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "--validation needs --quality-only and --reference" in result.stderr.strip().splitlines()[-1]
