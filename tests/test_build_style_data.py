"""scripts/build_style_data.py: the Qt resource reader, the puzzle reassembly and the licence
README parser, on files built here in the formats GCompris ships (the packages themselves are
fetched only by the script: ~250 MB from the Debian archive)."""

from __future__ import annotations

import importlib.util
import io
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "build_style_data.py"


@pytest.fixture(scope="module")
def build():
    spec = importlib.util.spec_from_file_location("build_style_data", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def make_rcc(files: dict, compressed: set, version: int = 3) -> bytes:
    """A Qt resource file holding `files` ({"a/b.txt": bytes}) as rcc writes it: a tree of
    directory and file entries, a names table and a data table."""
    tree = {}
    for path in files:
        node = tree
        for part in path.split("/")[:-1]:
            node = node.setdefault(part, {})
        node[path.split("/")[-1]] = path
    names, name_offsets = bytearray(), {}

    def name_offset(name):
        if name not in name_offsets:
            name_offsets[name] = len(names)
            names.extend(struct.pack(">HI", len(name), 0) + name.encode("utf-16-be"))
        return name_offsets[name]

    data, entries = bytearray(), [None]  # entry 0 is the root directory
    size = 14 if version == 1 else 22

    def add_children(node):
        """Breadth-first, as rcc does: a directory's children are consecutive entries."""
        first = len(entries)
        items = sorted(node.items())
        entries.extend([None] * len(items))
        for i, (name, child) in enumerate(items):
            if isinstance(child, dict):
                child_first = add_children(child)
                entries[first + i] = struct.pack(">IHII", name_offset(name), 2, len(child), child_first)
            else:
                blob = files[child]
                flags = 0
                if child in compressed:
                    blob, flags = struct.pack(">I", len(blob)) + zlib.compress(blob), 1
                entries[first + i] = struct.pack(">IHHHI", name_offset(name), flags, 0, 0, len(data))
                data.extend(struct.pack(">I", len(blob)) + blob)
        return first

    first = add_children(tree)
    entries[0] = struct.pack(">IHII", 0, 2, len(tree), first)
    table = b"".join(e.ljust(size, b"\0") for e in entries)
    header_size = 20 + (4 if version >= 3 else 0)
    tree_at = header_size
    data_at = tree_at + len(table)
    names_at = data_at + len(data)
    header = b"qres" + struct.pack(">4I", version, tree_at, data_at, names_at) + (b"\0" * 4 if version >= 3 else b"")
    return header + table + bytes(data) + bytes(names)


@pytest.mark.parametrize("version", [1, 3])
def test_rcc_reader_returns_every_file_exactly(build, tmp_path, version):
    files = {"gcompris/src/a/README": b"Copyright: x\nLicense: CC0-1.0\nFiles: cat.webp\n",
             "gcompris/src/a/resource/cat.webp": bytes(range(256)) * 40,
             "gcompris/src/b.qml": b"QtObject {}"}
    path = tmp_path / "x.rcc"
    path.write_bytes(make_rcc(files, compressed={"gcompris/src/a/resource/cat.webp"}, version=version))
    assert build.read_rcc(path) == files


def test_rcc_reader_refuses_other_files(build, tmp_path):
    (tmp_path / "x.rcc").write_bytes(b"PK\x03\x04 not a resource file")
    with pytest.raises(build.BuildError, match="not a Qt resource file"):
        build.read_rcc(tmp_path / "x.rcc")


def png(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_puzzle_pieces_reassemble_the_painting(build):
    rng = np.random.default_rng(0)
    painting = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
    # two pieces, each the painting's half with an opaque alpha, overlapping by transparent edges
    left = np.zeros((40, 36, 4), np.uint8)
    left[:, :30, :3], left[:, :30, 3] = painting[:, :30], 255
    right = np.zeros((40, 36, 4), np.uint8)
    right[:, 6:, :3], right[:, 6:, 3] = painting[:, 30:], 255
    qml = '''QtObject {
   property string instruction: qsTr("Test Artist, A Test Painting - 1900")
   property var levels : [
      { "pixmapfile" : "image/bg.svg", "type" : "SHAPE_BACKGROUND_IMAGE", "width": 60, "height": 40 },
      { "pixmapfile" : "image/p_b.webp", "x" : "0.7", "y" : "0.5" },
      { "pixmapfile" : "image/p_a.webp", "x" : "0.3", "y" : "0.5" }
   ]
}'''
    image, instruction = build.assemble_puzzle(qml, {"image/p_a.webp": png(left), "image/p_b.webp": png(right)})
    assert instruction == "Test Artist, A Test Painting - 1900"
    np.testing.assert_array_equal(np.asarray(image), painting)


def test_readme_licences_per_file(build):
    text = """Copyright: Timothee Giet, 2018
License: CC-BY-SA 4.0
Files:
key.svg
egypt/egypt.svg

Copyright: Kurt Kaiser
License: CC0-1.0
Source: https://commons.wikimedia.org/wiki/File:American_Bison_9.jpg
Files: bison.webp
"""
    found = build.readme_licences(text)
    assert found["bison.webp"] == ("Kurt Kaiser", "CC0-1.0")
    assert found["egypt.svg"] == ("Timothee Giet, 2018", "CC-BY-SA 4.0")


def test_a_failed_download_is_one_error_line(build, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no apt-get on the PATH: the download cannot run
    (tmp_path / "apt-get").write_text("#!/bin/sh\necho 'E: Unable to locate package' >&2\nexit 100\n")
    (tmp_path / "apt-get").chmod(0o755)
    assert build.main(["--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: apt-get download gcompris-qt-data failed")
    assert not (tmp_path / "out" / "photos").exists() and not (tmp_path / "out" / "paintings").exists()
