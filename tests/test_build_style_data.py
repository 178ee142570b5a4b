"""scripts/build_style_data.py without the network: the Qt .rcc reader on resource files built
here byte by byte, the puzzle reassembly on a tiny synthetic board, the licence parsers, and the
CLI's up-to-date and error paths."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "build_style_data.py"


@pytest.fixture(scope="module")
def bsd():
    spec = importlib.util.spec_from_file_location("build_style_data", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def make_rcc(tree: dict, version: int) -> bytes:
    """A Qt resource file as rcc writes it. `tree` nests dicts for directories; a file is
    (bytes, flags) with flags 0 (stored), 1 (zlib) or 4 (zstd; the bytes are stored as given).
    Children of a directory are consecutive entries, numbered breadth-first."""
    names, data, entries = bytearray(), bytearray(), []
    entry_size = 14 if version == 1 else 22

    def name_offset(name):
        offset = len(names)
        names.extend(struct.pack(">HI", len(name), 0) + name.encode("utf-16-be"))
        return offset

    def add_dir(index, children):
        first = len(entries)
        items = sorted(children.items())
        entries.extend([b""] * len(items))
        for i, (name, child) in enumerate(items):
            if isinstance(child, dict):
                entries[first + i] = (name_offset(name), child)  # filled below
            else:
                blob, flags = child
                if flags & 1:
                    blob = struct.pack(">I", len(blob)) + zlib.compress(blob)
                entries[first + i] = struct.pack(">IHHHI", name_offset(name), flags, 0, 0, len(data))
                data.extend(struct.pack(">I", len(blob)) + blob)
        entries[index] = struct.pack(">IHII", entries[index][0] if index else 0, 2, len(items), first)
        for i, entry in enumerate(entries[first:first + len(items)]):
            if isinstance(entry, tuple):
                entries[first + i] = (entry[0], None)
                add_dir(first + i, entry[1])

    entries.append((0, tree))
    add_dir(0, tree)
    table = b"".join(e.ljust(entry_size, b"\0") for e in entries)
    header = 20 + (4 if version >= 3 else 0)  # version 3 adds a u32 of overall flags
    offsets = (header, header + len(table), header + len(table) + len(data))
    head = b"qres" + struct.pack(">4I", version, *offsets) + (b"\0" * 4 if version >= 3 else b"")
    return head + table + bytes(data) + bytes(names)


PAYLOAD = bytes(range(256)) * 50 + "é Ü 漢".encode()


@pytest.mark.parametrize("version", [1, 2, 3])
def test_rcc_reader_returns_exact_bytes(bsd, version):
    tree = {"gcompris": {"src": {"act": {
        "README": (b"Copyright: someone\nLicense: CC0-1.0\nFiles: cat.webp\n", 0),
        "resource": {"cat.webp": (PAYLOAD, 1), "dög.qml": (b"QtObject {}", 0)}}}}}
    files = bsd.read_rcc(make_rcc(tree, version))
    assert files == {"gcompris/src/act/README": b"Copyright: someone\nLicense: CC0-1.0\nFiles: cat.webp\n",
                     "gcompris/src/act/resource/cat.webp": PAYLOAD,
                     "gcompris/src/act/resource/dög.qml": b"QtObject {}"}


def test_rcc_zstd_entry_without_zstandard_is_skipped_with_a_warning(bsd, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "zstandard", None)  # import zstandard -> ImportError
    files = bsd.read_rcc(make_rcc({"a": {"z.bin": (b"\x28\xb5\x2f\xfd...", 4), "p.txt": (b"plain", 0)}}, 2))
    assert files == {"a/z.bin": None, "a/p.txt": b"plain"}
    assert "warning: skipping /a/z.bin: zstd" in capsys.readouterr().err


def test_rcc_reader_refuses_other_files(bsd):
    with pytest.raises(ValueError, match="not a Qt resource file"):
        bsd.read_rcc(b"PK\x03\x04 a zip file")


BOARD = '''QtObject {
   property string instruction: qsTr("Katsushika Hokusa, A Test Print - 1830-1833")
   property var levels : [
      { "pixmapfile" : "image/bg.svg", "type" : "SHAPE_BACKGROUND_IMAGE", "width": 100, "height": 50 },
      { "pixmapfile" : "image/a.webp", "x" : "0.25", "y" : "0.5" },
      { "pixmapfile" : "image/b.webp", "x" : "0.7", "y" : "0.5" }
   ]
}'''
RED, BLUE, GREEN = (255, 0, 0, 255), (0, 0, 255, 255), (0, 255, 0, 255)


def png(image: Image.Image) -> Image.Image:
    """Round-trip through PNG bytes, as the pieces come out of the .rcc."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return Image.open(io.BytesIO(buffer.getvalue()))


def test_puzzle_reassembles_pieces_with_their_alpha(bsd):
    instruction, size, levels = bsd.parse_board(BOARD)
    assert size == (100, 50) and levels == [("image/a.webp", 0.25, 0.5), ("image/b.webp", 0.7, 0.5)]
    assert bsd.parse_instruction(instruction) == ("A Test Print", "Katsushika Hokusai")
    # piece a: 50x50 red, centred at (25, 25) -> x 0..49. Piece b: 60x50, its first 10 columns
    # transparent (a jigsaw tab's surroundings), the rest blue with one green pixel; centred at
    # (70, 25) -> x 40..99, pasted after a: its transparent part lies over a and must leave it red.
    a = Image.new("RGBA", (50, 50), RED)
    b = Image.new("RGBA", (60, 50), BLUE)
    b.paste((0, 0, 0, 0), (0, 0, 10, 50))
    b.putpixel((30, 20), GREEN)
    pieces = {"image/a.webp": png(a), "image/b.webp": png(b)}
    painting = bsd.assemble_puzzle(size, [(pieces[p], x, y) for p, x, y in levels])
    assert painting.size == (100, 50)
    assert painting.getpixel((0, 0)) == RED and painting.getpixel((45, 10)) == RED  # under b's transparent edge
    assert painting.getpixel((49, 49)) == RED and painting.getpixel((50, 0)) == BLUE
    assert painting.getpixel((99, 49)) == BLUE and painting.getpixel((70, 20)) == GREEN
    assert painting.getchannel("A").getextrema() == (255, 255)
    assert {color: n for n, color in painting.getcolors()} == {RED: 50 * 50, BLUE: 50 * 50 - 1, GREEN: 1}


def test_puzzle_crops_to_the_pieces_and_fills_a_one_pixel_seam(bsd):
    # two 10x10 pieces whose rounded centres leave column 10 empty between them
    left, right = Image.new("RGBA", (10, 10), RED), Image.new("RGBA", (10, 10), BLUE)
    painting = bsd.assemble_puzzle((100, 100), [(left, 0.10, 0.10), (right, 0.21, 0.10)])
    assert painting.size == (21, 10)  # x 5..25 of the board: the pieces' bounding box, not the board
    assert painting.getchannel("A").getextrema() == (255, 255)
    assert painting.getpixel((9, 5)) == RED and painting.getpixel((11, 5)) == BLUE
    assert painting.getpixel((10, 5)) in (RED, BLUE)  # the seam takes a neighbour's colour, never black


def test_readme_paragraphs_with_and_without_a_files_key(bsd):
    text = """Copyright: Kurt Kaiser
License: CC0-1.0
Source: https://commons.wikimedia.org/wiki/File:American_Bison_9.jpg
Files: bison.webp

Copyright: 2000, 2008 Bruno Coudoin and others
License: CC-BY-SA 4.0
TowerBridge_0.webp
TowerBridge_background.webp
Comment: based on a photo by David Iliff, license CC-BY-SA 3.0, source at https://example.org/x.jpg

Copyright: Berthold Werner
License: Public Domain
Files:
germany/audaPalatina.webp
"""
    entries = bsd.parse_readme(text)
    assert entries["bison.webp"] == {"copyright": "Kurt Kaiser", "license": "CC0-1.0",
                                     "source": "https://commons.wikimedia.org/wiki/File:American_Bison_9.jpg"}
    assert entries["TowerBridge_background.webp"]["license"] == "CC-BY-SA 4.0"
    assert entries["TowerBridge_background.webp"]["comment"].startswith("based on a photo by David Iliff")
    files = {"g/act/resource/README": text.encode(), "g/act/resource/germany/aulaPalatina.webp": b""}
    assert bsd.readme_entry(files, "g/act/resource/germany/aulaPalatina.webp")["copyright"] == "Berthold Werner"
    assert bsd.clean_holder("2000, 2008 Bruno Coudoin and others") == "Bruno Coudoin and others"
    assert bsd.clean_holder("2008, Charles Barbin <barbinch@free.fr>´") == "Charles Barbin"


def test_debian_copyright_last_matching_paragraph_wins(bsd):
    text = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/

Files: *
Copyright: 2014 KDE Visual Design Group
License: GPL-2+

Files: 16.04/Bridge_by_Sander_Klootwijk.jpg
       16.04/other.jpg
Copyright: 2018. Sander Klootwijk
License: CC-BY-SA-4.0

License: GPL-2+
 This package is free software...
"""
    paragraphs = bsd.parse_dep5(text)
    assert bsd.dep5_lookup(paragraphs, "16.04/other.jpg") == ("Sander Klootwijk", "CC-BY-SA-4.0")
    assert bsd.dep5_lookup(paragraphs, "20.04/x.jpg") == ("KDE Visual Design Group", "GPL-2+")


def run_script(*args, env=None):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)


def test_failed_download_is_one_error_line_and_no_folders(tmp_path):
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "apt-get").write_text("#!/bin/sh\necho 'E: Unable to locate package gcompris-qt-data' >&2\n"
                                      "exit 100\n")
    (fake_bin / "apt-get").chmod(0o755)
    result = run_script("--out", tmp_path / "out", env={"PATH": str(fake_bin)})
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: apt-get download gcompris-qt-data failed: E: Unable to locate package "
                      "gcompris-qt-data (run `apt-get update` first; a Debian mirror must be reachable)"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [".debs"]  # no photos/, no .tmp-*
    assert list((tmp_path / "out" / ".debs").iterdir()) == []


def test_complete_folders_are_up_to_date_without_downloading(tmp_path):
    out = tmp_path / "out"
    for kind in ("photos", "paintings"):
        (out / kind).mkdir(parents=True)
        Image.new("RGB", (8, 8)).save(out / kind / "x.jpg")
        with open(out / kind / "PROVENANCE.csv", "w", newline="") as f:
            csv.writer(f).writerows([["file", "package"], ["x.jpg", "p"]])
    (out / ".build.json").write_text(json.dumps({"version": 1, "max_side": 1024}))
    no_apt = {"PATH": str(tmp_path)}  # nothing runnable: any download attempt would fail
    result = run_script("--out", out, env=no_apt)
    assert result.returncode == 0 and result.stdout.startswith(f"up to date: {out}"), result.stderr
    result = run_script("--out", out, "--max-side", 512, env=no_apt)  # other settings: rebuild (fails here)
    assert result.returncode == 2 and result.stderr.startswith("error: apt-get not found")
    assert (out / "photos" / "x.jpg").is_file()  # the failed rebuild left the old folders alone


# --- the style corpus (--styles) -------------------------------------------------------------

def test_gimp_pattern_reader_and_tiling(bsd):
    pixels = bytes(range(2 * 3 * 3))  # 3 x 2 RGB
    header = struct.pack(">5I", 24 + 5, 1, 3, 2, 3) + b"GPAT" + b"wood\0"
    pattern = bsd.read_gimp_pattern(header + pixels)
    assert pattern.mode == "RGB" and pattern.size == (3, 2) and pattern.tobytes() == pixels
    grey = bsd.read_gimp_pattern(struct.pack(">5I", 25, 1, 2, 2, 1) + b"GPAT" + b"\0" + bytes([0, 50, 100, 150]))
    assert grey.mode == "L" and grey.getpixel((1, 1)) == 150
    with pytest.raises(ValueError, match="not a GIMP pattern"):
        bsd.read_gimp_pattern(struct.pack(">5I", 24, 1, 1, 1, 3) + b"PNG!" + b"\0" * 3)
    square = bsd.tiled(pattern, side=8)
    assert square.size == (8, 8)
    assert square.getpixel((0, 0)) == square.getpixel((3, 2)) == square.getpixel((6, 4)) == pattern.getpixel((0, 0))


def test_figures_are_cut_out_to_their_opaque_pixels(bsd):
    figure = Image.new("RGBA", (20, 10), (0, 0, 0, 0))
    figure.paste(RED, (5, 2, 9, 8))
    cut = bsd.cut_out(figure)
    assert cut.size == (4, 6) and bsd.to_rgb(cut).getpixel((0, 0)) == RED[:3]


def test_plasma_metadata_from_json_or_desktop_file(bsd, tmp_path):
    (tmp_path / "New").mkdir()
    (tmp_path / "New" / "metadata.json").write_text(json.dumps(
        {"KPlugin": {"Name": "Flow", "Authors": [{"Name": "A"}], "License": "GPL-2.0+"}}))
    (tmp_path / "Old").mkdir()
    (tmp_path / "Old" / "metadata.desktop").write_text(
        "[Desktop Entry]\nName=Safe Landing\nName[de]=Sichere Landung\nX-KDE-PluginInfo-Author=Louis Durrant\n"
        "X-KDE-PluginInfo-License=CC-BY-SA-4.0\n")
    new, old = bsd.plasma_metadata(tmp_path / "New"), bsd.plasma_metadata(tmp_path / "Old")
    assert (new["Name"], new["Authors"], new["License"], new["file"]) == ("Flow", [{"Name": "A"}], "GPL-2.0+",
                                                                          "metadata.json")
    assert (old["Name"], old["Authors"], old["License"], old["file"]) == (
        "Safe Landing", [{"Name": "Louis Durrant"}], "CC-BY-SA-4.0", "metadata.desktop")


def test_held_out_styles_keep_adain_paintings_held_out_paintings(bsd, tmp_path):
    """The style corpus holds out the paintings that zoo.style.pipelines.split_paintings holds out of
    the paintings folder (adain-paintings' six), and every 10th other image."""
    from zoo.style.pipelines import split_paintings

    paintings = [f"painting_{i:02d}" for i in range(30)]
    folder = tmp_path / "paintings"
    folder.mkdir()
    for name in paintings:
        Image.new("RGB", (64, 64)).save(folder / f"{name}.jpg")
    _, adain_held = split_paintings(folder)
    others = [f"texture_{i:02d}" for i in range(50)]
    held = bsd.held_out_styles(paintings + others, set(paintings))
    assert {n for n in held if n.startswith("painting")} == {p.stem for p in adain_held}
    assert len(adain_held) == 6 and len(held) == 6 + 5


def test_provenance_split_column_and_completeness_with_styles(bsd, tmp_path):
    out = tmp_path / "out"
    collectors = {}
    for kind in ("photos", "paintings", "styles"):
        collectors[kind] = bsd.Collector(out / kind, 64)
        collectors[kind].add(bsd.Candidate(kind, "x", lambda: Image.new("RGB", (8, 8)), "p", "/x", "X"))
    collectors["styles"].add(bsd.Candidate("styles", "y", lambda: Image.effect_noise((8, 8), 60), "p", "/y", "Y"))
    for kind, collector in collectors.items():
        collector.write_provenance({"x"} if kind == "styles" else None)
    with open(out / "styles" / "PROVENANCE.csv", encoding="utf-8") as f:
        assert [(r["file"], r["split"]) for r in csv.DictReader(f)] == [("x.jpg", "test"), ("y.jpg", "train")]
    with open(out / "photos" / "PROVENANCE.csv", encoding="utf-8") as f:
        assert "split" not in next(csv.reader(f))
    (out / ".build.json").write_text(json.dumps(bsd.build_record(64, styles=False)))
    assert bsd.is_complete(out, 64) and not bsd.is_complete(out, 64, styles=True)
    (out / ".build.json").write_text(json.dumps(bsd.build_record(64, styles=True)))
    assert bsd.is_complete(out, 64) and bsd.is_complete(out, 64, styles=True)
    (out / "styles" / "y.jpg").unlink()
    assert bsd.is_complete(out, 64) and not bsd.is_complete(out, 64, styles=True)
