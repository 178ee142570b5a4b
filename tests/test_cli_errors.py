"""What every CLI does with an --out it cannot write: one error line naming it, exit status 2,
nothing left behind. /proc refuses new entries, so a folder under it cannot be created."""

from __future__ import annotations

import pytest

from conftest import ROOT, SKIMAGE_DATA, error_line, run_cli

OUT = "/proc/zoo"  # cannot be created, even by root
RELEASED = ROOT / "saved_models"
PHOTO = SKIMAGE_DATA / "chelsea.png"

# (module, its arguments up to --out, the --out under OUT): the released models keep each case
# fast, since every CLI refuses the folder before it loads a model or data, or writes right after.
CASES = {
    "zoo.train": (["vae", "--limit", 64, "--batch-size", 16], f"{OUT}/run"),
    "zoo.generate": ([RELEASED / "dcgan-fashion_mnist", "--runtime", "onnx"], f"{OUT}/g.png"),
    "zoo.stylize": ([PHOTO, "--model", RELEASED / "stylizer-paintings", "--style", "starry_night",
                     "--runtime", "onnx", "--max-size", 64], f"{OUT}/s.png"),
    "exporters": ([RELEASED / "dcgan-fashion_mnist", "--format", "onnx"], f"{OUT}/export"),
    "exporters.benchmark": ([RELEASED / "dcgan-fashion_mnist", "--format", "onnx"], f"{OUT}/export"),
    "zoo.serve": (["--build-only", "--models", "dcgan-fashion_mnist"], f"{OUT}/site"),
}


@pytest.mark.slow
@pytest.mark.parametrize("module", CASES)
def test_an_out_that_cannot_be_created_is_one_error_line(module):
    args, out = CASES[module]
    assert f"cannot write {out}: " in error_line(run_cli(module, *args, "--out", out))


def test_an_out_that_is_a_folder_is_one_error_line(tmp_path):
    """The image would replace a folder: refused, naming it, and the folder is kept."""
    (tmp_path / "keep").touch()
    result = run_cli("zoo.generate", RELEASED / "dcgan-fashion_mnist", "--runtime", "onnx", "--out", tmp_path)
    assert f"cannot write {tmp_path}: " in error_line(result)
    assert [p.name for p in tmp_path.iterdir()] == ["keep"]


def test_a_library_s_long_first_line_is_cut_for_the_error_line():
    """Keras can put a model's whole config on the first line of its message: the error line
    keeps its start; an exception that says nothing is named by its type."""
    from zoo.errors import FIRST_LINE_LIMIT, first_line

    assert first_line(ValueError("x" * 10_000 + "\nsecond line")) == "x" * FIRST_LINE_LIMIT + " ..."
    assert first_line(OSError("  disk full\nmore")) == "disk full"
    assert first_line(KeyError()) == "KeyError"
