"""Build a photo folder and a painting folder for style-transfer training from Debian packages.

    python scripts/build_style_data.py [--out DIR] [--max-side 1024] [--force] [--styles]

Writes DIR/photos/ (about 200 real photos: animals, monuments, landscapes, nature, people and
objects) and DIR/paintings/ (30 public-domain paintings named by short style slugs such as
starry_night, great_wave, composition_viii), each with a PROVENANCE.csv (file, package,
path_in_package, title, artist, licence, source). DIR defaults to $ZOO_STYLE_DATA, else
$XDG_CACHE_HOME/keras-zoo/style-data (~/.cache/keras-zoo/style-data).

With --styles it also writes DIR/styles/, a style corpus of about 330 images for arbitrary-style
models, which must generalise to paintings they never saw: the 30 paintings, Wesnoth's painted
story landscapes and portraits, Tux Paint's colouring drawings, desktop wallpapers that are
artwork rather than photos (KDE Plasma, Lomiri, GNOME, Debian's themes), GIMP's splash, and the
paper, canvas, stone, wood and drawn-stroke textures of GIMP, Krita and MyPaint (seamless tiles,
tiled up to TILE_SIDE pixels). Geometric patterns (stripes, grids, dithers, checks) stay out: a
network trained on them learns to print a periodic grid. Its PROVENANCE.csv has a `split`
column: `test` for adain-paintings' six held-out paintings (every 5th painting by name, the rule
of zoo.models.adain) and every 10th other image by name, `train` for the rest. It costs another
~270 MB of downloads (wesnoth-1.16-data, krita-data, gnome-backgrounds, gimp-data...).

Why: style transfer is normally trained on COCO photos and WikiArt paintings, and neither can be
had on machines that reach only the pip and Debian registries. Debian packages hold enough of both
(see OFFLINE.md): GCompris' Qt resource files (photos from Wikimedia Commons, and paintings cut
into jigsaw pieces, reassembled here), opencv-doc's sample images (with The Starry Night),
mate-backgrounds, lomiri-wallpapers and plasma-workspace-wallpapers. The packages are fetched
with `apt-get download` (kept in DIR/.debs so re-runs are fast) and unpacked with `dpkg -x`;
nothing is installed.

Licences, recorded per file from the packages' READMEs, copyright files and metadata: the photos
are CC0 / public domain / CC BY / CC BY-SA (attribution and share-alike apply to redistribution),
GPL-2+ or LGPL-3 (desktop wallpapers), or only the package-wide Apache-2.0/BSD of opencv-doc,
whose samples record no origin. The paintings are public-domain works; GCompris ships its scans
as public domain or GPL-3.0+ (from the WebMuseum). Fine for training; check PROVENANCE.csv before
redistributing any image.

Every image is written as RGB JPEG (quality 92), its longer side at most --max-side. The folders
are built under DIR/.tmp-* and renamed into place, so an interrupted run never leaves a half
folder. Errors print one `error: ...` line and exit with status 2.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import fnmatch
import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import unicodedata
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PIL import Image, ImageOps

BUILD_VERSION = 1
MIN_SHORT_SIDE = 256
COLUMNS = ("file", "package", "path_in_package", "title", "artist", "licence", "source")
PACKAGES = ("gcompris-qt-data", "opencv-doc", "mate-backgrounds", "lomiri-wallpapers-16.04",
            "lomiri-wallpapers-20.04", "plasma-workspace-wallpapers")

RCC_DIR = "usr/share/gcompris-qt/rcc"
# GCompris activities whose images are real photos (the others hold drawings, icons, planets).
GCOMPRIS_PHOTO_ACTIVITIES = ("erase", "explore_monuments", "explore_world_animals", "explore_farm_animals",
                             "explore_world_music", "categorization", "details")
# opencv-doc's examples/data: the real colour photos. Test patterns, calibration boards, renders,
# grey stereo pairs, text, motion-blurred and near-copies (leuvenB, graf3, right, ela_modified) stay out.
OPENCV_PHOTOS = ("aero1", "aero3", "aloeL", "apple", "baboon", "board", "building", "butterfly", "chicky_512",
                 "ela_original", "fruits", "graf1", "home", "left", "leuvenA", "messi5", "orange",
                 "rubberwhale1", "smarties", "squirrel_cls", "stuff")
LOMIRI_NOT_PHOTOS = ("analogpattern", "umang", "Fossa", "Infinite-Sea", "Painting-Colors")  # renders
PLASMA_PHOTOS = ("BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow", "FallenLeaf",
                 "Grey", "Kite", "OneStandsOut", "Path", "summer_1am")  # the other 19 are renders/drawings
# --styles: the style corpus. Debian packages, their licences (per file where the package's
# debian/copyright says so, else package-wide) and what stays out of each.
STYLE_PACKAGES = ("gimp-data", "mypaint-data", "mypaint-data-extras", "krita-data", "tuxpaint-data",
                  "wesnoth-1.16-data", "desktop-base", "gnome-backgrounds")
STYLES_VERSION = 1
STYLE_COLUMNS = COLUMNS + ("split",)
MIN_STYLE_SHORT_SIDE = 256
TILE_SIDE = 512  # seamless tiles are repeated up to this square, so training crops see texture, not one tile
PAINTINGS_HOLD_OUT_EVERY = 5  # zoo.style.pipelines.HOLD_OUT_PAINTINGS_EVERY: adain-paintings' six held-out paintings
STYLES_HOLD_OUT_EVERY = 10
GIMP_PATTERNS = "usr/share/gimp/2.0/patterns"
GIMP_GEOMETRIC = ("3dgreen", "Stripes1px", "Stripes2px", "bluegrid", "bluesquares", "nops", "qube1", "recessed",
                  "redcube", "sm_squares", "warning")  # Legacy/: flat repeats of a few pixels, not texture
KRITA_PATTERNS = "usr/share/krita/patterns"
KRITA_GEOMETRIC = ("Cross", "DITH_", "Grid", "Pattern0", "Squares", "Stripes", "Zigzag", "hexacol", "Maze_lines",
                   "23-dynamic", "24-dynamic", "25-dynamic")  # dithers, screentones, line grids
MYPAINT_TEXTURES = ("paper", "canvas")  # backgrounds/: the others are flat colours, checks and page layouts
MYPAINT_NOT_TEXTURES = ("paper5a_score",)  # music staves
TUXPAINT_DRAWINGS = ("carcassone", "chicken", "frog", "hat", "jetplane", "nagasaki", "pansy", "reef", "reef-back",
                     "rocket", "shipwreck", "skyline-sf-dusk", "skyline-sf-dusk-back", "street", "tux_farmer")
WESNOTH = "usr/share/games/wesnoth/1.16/data/core/images"
WESNOTH_PORTRAITS_EVERY = 2  # every 2nd of 241 portraits: painted figures, but they should not outnumber the rest
WESNOTH_LICENCE = "GPL-2+ (debian/copyright: Wesnoth's code and art)"
GNOME_GEOMETRIC = ("grid", "pixels", "truchet")  # pixel grids and tilings
GNOME_LICENCE = "CC-BY-SA-3.0 (debian/copyright: Jakub Steiner and GNOME artists)"
NOT_PAINTINGS = ("Pieta",)  # paintings.rcc also holds a photo of Michelangelo's sculpture
ARTIST_FIXES = {"Katsushika Hokusa": "Katsushika Hokusai", "Pieter Brugel": "Pieter Bruegel the Elder",
                "Bazille": "Frédéric Bazille", "Vincent Van Gogh": "Vincent van Gogh"}  # as GCompris' qml has them
SHORT_NAMES = {  # file names for paintings whose titles make long or ambiguous slugs
    "The Starry Night": "starry_night", "The Great Wave off Kanagawa": "great_wave",
    "Bal du moulin de la Galette": "moulin_de_la_galette", "Lion": "durer_lion", "Spring": "arcimboldo_spring",
    "Viewing Sunset over the Ryogoku Bridge from the Ommaya Embankment": "ryogoku_bridge_sunset",
    "The Benzaiten Shrine at Inokashira in Snow": "inokashira_in_snow",
    "The Bridge of Langlois at Arles with a lady with umbrella": "langlois_bridge",
    "Entrance Hall of Saint-Paul Hospital": "saint_paul_hospital_hall", "La Pala di Pesaro": "pesaro_altarpiece",
}


class BuildError(Exception):
    """A failure the user can act on; printed as one `error:` line."""


@dataclass
class Candidate:
    """One image to consider, with what PROVENANCE.csv records about it."""
    kind: str  # "photos", "paintings" or "styles"
    name: str
    load: Callable[[], Image.Image]
    package: str
    path: str
    title: str
    artist: str = "unknown"
    licence: str = "unknown"
    source: str = ""


# ----------------------------------------------------------------------------- Qt resource files

def read_rcc(data: bytes) -> dict[str, bytes | None]:
    """Every file in a Qt .rcc resource file as {path: bytes}, so GCompris' images need no Qt.

    Layout: b"qres", then big-endian u32 version, tree, data and names offsets. Tree entries are
    14 bytes (version 1) or 22 (2+, with a modification time): name offset u32, flags u16, then
    child count and first child index (directory, flags & 2) or country, language and data offset
    (file). Data is u32 size + bytes; flags & 1 means zlib after a 4-byte length, flags & 4 zstd,
    which needs the optional `zstandard` module (without it the entry maps to None, with a warning;
    no entry of the packages used here is zstd).
    """
    if data[:4] != b"qres":
        raise ValueError("not a Qt resource file (no 'qres' magic)")
    version, tree, payload, names = struct.unpack(">4I", data[4:20])
    entry_size = 14 if version == 1 else 22
    files = {}

    def name_at(offset):
        (length,) = struct.unpack_from(">H", data, names + offset)
        return data[names + offset + 6:names + offset + 6 + 2 * length].decode("utf-16-be")

    def walk(index, prefix):
        name_offset, flags = struct.unpack_from(">IH", data, tree + index * entry_size)
        path = f"{prefix}/{name_at(name_offset)}" if index else ""
        if flags & 2:
            count, first = struct.unpack_from(">II", data, tree + index * entry_size + 6)
            for child in range(first, first + count):
                walk(child, path)
            return
        (offset,) = struct.unpack_from(">I", data, tree + index * entry_size + 10)
        (size,) = struct.unpack_from(">I", data, payload + offset)
        blob = data[payload + offset + 4:payload + offset + 4 + size]
        if flags & 4:
            blob = _unzstd(blob, path)
        elif flags & 1:
            blob = zlib.decompress(blob[4:])
        files[path.lstrip("/")] = blob

    walk(0, "")
    return files


def _unzstd(blob, path):
    """zstd-decompress an rcc entry when `zstandard` is installed; else warn and return None."""
    try:
        import zstandard
    except ImportError:
        print(f"warning: skipping {path}: zstd-compressed and the zstandard module is missing", file=sys.stderr)
        return None
    return zstandard.ZstdDecompressor().decompress(blob, max_output_size=1 << 30)


# ----------------------------------------------------------------------------- GCompris puzzles

def parse_board(qml: str):
    """(instruction, (width, height) or None, [(pixmap, x, y), ...]) of a GCompris board qml.

    x and y are a piece's centre as fractions of the board; boards of the details activity are a
    plain background image and have no width/height.
    """
    instruction = re.search(r'instruction:\s*qsTr\("(.*)"\)', qml).group(1)
    width = re.search(r'"width"\s*:\s*(\d+)', qml)
    height = re.search(r'"height"\s*:\s*(\d+)', qml)
    pieces = [(p, float(x), float(y)) for p, x, y in re.findall(
        r'"pixmapfile"\s*:\s*"([^"]+)"\s*,\s*"x"\s*:\s*"([\d.]+)"\s*,\s*"y"\s*:\s*"([\d.]+)"', qml)]
    size = (int(width.group(1)), int(height.group(1))) if width and height else None
    return instruction, size, pieces


def assemble_puzzle(board_size, pieces) -> Image.Image:
    """Rebuild a painting (RGBA) from its puzzle pieces [(image, x, y)]: each is pasted with its
    alpha, centred at (x*W, y*H), and the result cropped to the pieces' opaque bounding box.

    The qml gives centres to 3 decimals, so neighbours can land 1 px apart (Girls at the Piano has
    a 1-px seam across the picture, Great Wave a ragged bottom row); such gaps are filled from
    adjacent pixels (fill_seams) instead of turning black in the JPEG.
    """
    width, height = board_size
    placed = [(image.convert("RGBA"), round(x * width - image.width / 2), round(y * height - image.height / 2))
              for image, x, y in pieces]
    x0, y0 = min(left for _, left, _ in placed), min(top for _, _, top in placed)
    x1 = max(left + image.width for image, left, _ in placed)
    y1 = max(top + image.height for image, _, top in placed)
    canvas = Image.new("RGBA", (x1 - x0, y1 - y0))
    for image, left, top in placed:
        canvas.alpha_composite(image, (left - x0, top - y0))
    return fill_seams(canvas.crop(canvas.getchannel("A").getbbox()))


def fill_seams(image: Image.Image, reach: int = 2) -> Image.Image:
    """Fill pixels that are not fully opaque from neighbours up to `reach` px away.

    Copies of the image shifted by 1..reach px are composited underneath the original, so only
    gaps change (nearest shift wins) and opaque pixels stay exactly as they were.
    """
    filled = Image.new("RGBA", image.size)
    for d in range(reach, 0, -1):
        for dx, dy in ((d, 0), (-d, 0), (0, d), (0, -d)):
            filled.alpha_composite(image, (max(dx, 0), max(dy, 0)), (max(-dx, 0), max(-dy, 0)))
    filled.alpha_composite(image)
    return filled


def parse_instruction(text: str):
    """(title, artist) from a GCompris caption "Artist, Title - 1888" (the date is dropped)."""
    artist, _, title = text.partition(", ")
    title = re.sub(r"\s*(-\s*)?\d{4}[\d\s.-]*$", "", title).strip()
    return title, ARTIST_FIXES.get(artist.strip(), artist.strip())


# ----------------------------------------------------------------------------- licences

def parse_readme(text: str) -> dict[str, dict]:
    """GCompris' per-activity README as {file: {"copyright", "license", "source", "comment"}}.

    Paragraphs are separated by blank lines; any line that is a file name belongs to the
    paragraph (several paragraphs list their files without a "Files:" key).
    """
    result = {}
    for paragraph in re.split(r"\n\s*\n", text):
        fields, files, key = {}, [], None
        for line in paragraph.splitlines():
            value = line.strip()
            match = re.match(r"^(Copyright|License|Source|Comment|Comments|Files):\s*(.*)$", value)
            if match:
                key, value = match.group(1).lower().replace("comments", "comment"), match.group(2)
            if re.fullmatch(r"[\w./-]+\.(webp|png|jpe?g|svg|ogg|wav)", value):
                files.append(value)
            elif value and key and key != "files":
                fields[key] = f"{fields[key]} {value}" if key in fields else value
        for name in files:
            result[name] = fields
    return result


def readme_entry(files: dict, path: str) -> dict:
    """The README paragraph for an rcc image: nearest README up the tree, by relative path, then by
    a close match (one README lists `audaPalatina` for `aulaPalatina`)."""
    parts = path.split("/")
    for depth in range(len(parts) - 1, 0, -1):
        readme = "/".join(parts[:depth] + ["README"])
        if files.get(readme):
            entries = parse_readme(files[readme].decode("utf-8", "replace"))
            rel = "/".join(parts[depth:])
            close = difflib.get_close_matches(rel, entries, n=1, cutoff=0.9)
            entry = entries.get(rel) or entries.get(parts[-1]) or (entries[close[0]] if close else None)
            if entry:
                return entry
    return {}


def clean_holder(text: str | None) -> str:
    """A copyright holder without years, e-mail addresses or "Copyright"/"©"."""
    text = re.sub(r"<[^>]*>|©|\(c\)|\bCopyright\b", "", text or "", flags=re.I)
    text = re.sub(r"(^|,|\s)\d{4}(\s*[-–]\s*\d{2,4})?\.?(?=\s|,|$)", " ", text)
    return re.sub(r"\s+", " ", text).strip(" ,.´\"") or "unknown"


def parse_dep5(text: str) -> list[tuple[list[str], str, str]]:
    """A Debian machine-readable copyright file as [(file patterns, holders, licence)], in order."""
    result = []
    for paragraph in re.split(r"\n\s*\n", text):
        fields, key = {}, None
        for line in paragraph.splitlines():
            match = re.match(r"^([\w-]+):\s*(.*)$", line)
            if match:
                key = match.group(1)
                fields[key] = match.group(2)
            elif key and line[:1].isspace():
                fields[key] += "\n" + line.strip()
        if "Files" in fields:
            holders = "; ".join(clean_holder(h) for h in fields.get("Copyright", "").splitlines() if h.strip())
            result.append((fields["Files"].split(), holders, fields.get("License", "").splitlines()[0]))
    return result


def dep5_lookup(paragraphs, upstream_path: str):
    """(holders, licence) of the last paragraph whose pattern matches, as DEP-5 specifies."""
    found = ("unknown", "unknown")
    for patterns, holders, licence in paragraphs:
        if any(fnmatch.fnmatchcase(upstream_path, p) for p in patterns):
            found = (holders, licence)
    return found


# ----------------------------------------------------------------------------- sources

def slug(text: str) -> str:
    """Short lowercase ASCII file-name stem: camelCase and punctuation become underscores."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text)
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def painting_name(title: str) -> str:
    return SHORT_NAMES.get(title) or slug(title)


def _open_bytes(blob):
    return lambda: Image.open(io.BytesIO(blob))


def _open_path(path):
    return lambda: Image.open(path)


def gcompris_candidates(root: Path):
    """Photos of the photo activities (licence per file from their READMEs), the details activity's
    Van Gogh backgrounds, and the paintings puzzles reassembled from their pieces."""
    package = "gcompris-qt-data"
    for activity in GCOMPRIS_PHOTO_ACTIVITIES + ("paintings",):
        files = read_rcc((root / RCC_DIR / f"{activity}.rcc").read_bytes())
        where = f"/{RCC_DIR}/{activity}.rcc:"
        if activity == "paintings":
            yield from _puzzle_paintings(files, where)
            continue
        captions = {}  # details: background image name -> board caption
        for path, blob in files.items():
            if re.search(r"/board/board\d+_0\.qml$", path) and blob:
                qml = blob.decode()
                captions.update(dict.fromkeys(re.findall(r'"image/([^"]+_background\.webp)"', qml),
                                              parse_board(qml)[0]))
        for path, blob in sorted(files.items()):
            if blob is None or not path.endswith((".webp", ".jpg", ".png")) or "/resource/" not in path:
                continue
            entry = readme_entry(files, path)
            stem = path.rsplit("/", 1)[1].rsplit(".", 1)[0]
            title, artist = stem.replace("_", " "), clean_holder(entry.get("copyright"))
            licence, source, kind = entry.get("license", "unknown"), entry.get("source", ""), "photos"
            if activity == "details":
                caption = captions.get(path.rsplit("/", 1)[1])
                if caption is None:
                    continue  # the small detail crops
                comment, title = entry.get("comment", ""), caption
                original = re.search(r"by (.+?), (?:license ([^,]+), )?source at (\S+)", comment)
                if "original painting" in comment:
                    kind, (title, artist) = "paintings", parse_instruction(caption)
                    licence = f"public domain painting; GCompris file: {licence}"
                elif original:
                    artist = f"{original.group(1)} (adapted by {artist})"
                    licence = f"{licence} (original: {original.group(2) or 'unknown'})"
                    source = original.group(3)
            name = painting_name(title) if kind == "paintings" else \
                f"gcompris_{activity.replace('explore_', '')}_{slug(stem.replace('_background', ''))}"
            yield Candidate(kind, name, _open_bytes(blob), package, where + path, title, artist, licence, source)


def _puzzle_paintings(files, where):
    """The paintings activity's boards, each reassembled into one image."""
    resource = "gcompris/src/activities/paintings/resource/"
    for path, blob in sorted(files.items()):
        if not re.search(r"/board/board\d+_0\.qml$", path):
            continue
        caption, size, levels = parse_board(blob.decode())
        title, artist = parse_instruction(caption)
        if title in NOT_PAINTINGS:
            continue
        pieces = [(p, x, y) for p, x, y in levels if p.endswith(".webp")]
        licence = readme_entry(files, resource + pieces[0][0]).get("license", "unknown")

        def load(pieces=pieces, size=size):
            return assemble_puzzle(size, [(Image.open(io.BytesIO(files[resource + p])), x, y)
                                          for p, x, y in pieces])

        yield Candidate("paintings", painting_name(title), load, "gcompris-qt-data",
                        f"{where}{path} (+{len(pieces)} pieces)", title, artist,
                        f"public domain painting; GCompris scan: {licence} (from the WebMuseum)")


def opencv_candidates(root: Path):
    """The Starry Night and the real photos among opencv-doc's sample images."""
    data = root / "usr/share/doc/opencv-doc/examples/data"
    _, licence = dep5_lookup(parse_dep5((root / "usr/share/doc/opencv-doc/copyright").read_text()),
                             "samples/data/x.jpg")
    licence = f"{licence} (package-wide; origin not recorded)"
    for path in sorted(data.glob("*.*")):
        where = f"/{path.relative_to(root)}"
        if path.stem == "starry_night":
            yield Candidate("paintings", "starry_night", _open_path(path), "opencv-doc", where,
                            "The Starry Night", "Vincent van Gogh", f"public domain painting; file: {licence}")
        elif path.stem in OPENCV_PHOTOS:
            yield Candidate("photos", f"opencv_{slug(path.stem)}", _open_path(path), "opencv-doc", where,
                            path.stem, "unknown", licence)


def wallpaper_candidates(package: str, root: Path, kind: str = "photos"):
    """Photos among the desktop-background packages, or with kind "styles" the drawn and
    rendered ones of Plasma and Lomiri; licence per file from debian/copyright (installed paths
    mapped to the upstream paths it names) or plasma's metadata.json."""
    paragraphs = parse_dep5((root / "usr/share/doc" / package / "copyright").read_text())
    if package == "plasma-workspace-wallpapers":
        names = sorted(p.name for p in (root / "usr/share/wallpapers").iterdir())
        for name in PLASMA_PHOTOS if kind == "photos" else [n for n in names if n not in PLASMA_PHOTOS]:
            folder = root / "usr/share/wallpapers" / name
            meta = plasma_metadata(folder)
            sizes = {p.parent / p.readlink() if p.is_symlink() else p  # most sizes link to one file
                     for p in (folder / "contents/images").iterdir()}
            image = max(sorted(sizes), key=lambda p: _pixels(Image.open(p)))
            _, deb_licence = dep5_lookup(paragraphs, f"{name}/contents/images/{image.name}")
            authors = ", ".join(a["Name"] for a in meta.get("Authors", [])) or "unknown"
            yield Candidate(kind, f"plasma_{slug(name)}", _open_path(image), package,
                            f"/{image.relative_to(root)}", meta.get("Name", name), authors,
                            f"{meta.get('License', 'unknown')} ({meta['file']}; debian/copyright: {deb_licence})")
        return
    if package == "mate-backgrounds":
        images, upstream = sorted((root / "usr/share/backgrounds/mate/nature").glob("*.jpg")), "nature/"
        images = images if kind == "photos" else []
    else:  # lomiri-wallpapers-16.04 / -20.04: debian/copyright names them 16.04/..., 20.04/...
        images = [p for p in sorted((root / "usr/share/backgrounds").glob("*.jpg"))
                  if p.name.startswith(LOMIRI_NOT_PHOTOS) == (kind == "styles")]
        upstream = package.rsplit("-", 1)[1] + "/"
    for image in images:
        holders, licence = dep5_lookup(paragraphs, upstream + image.name)
        title = image.stem.split("_by_")[0]
        yield Candidate(kind, f"{package.split('-')[0]}_{slug(title)}", _open_path(image), package,
                        f"/{image.relative_to(root)}", title.replace("_", " "), holders, licence)


def plasma_metadata(folder: Path) -> dict:
    """A Plasma wallpaper's name, authors and licence, from its metadata.json (KPlugin) or, in
    older wallpapers such as SafeLanding, its metadata.desktop, as {"Name", "Authors": [{"Name"}],
    "License", "file"}."""
    if (folder / "metadata.json").is_file():
        return {**json.loads((folder / "metadata.json").read_text())["KPlugin"], "file": "metadata.json"}
    entries = dict(re.findall(r"^([\w-]+)=(.*)$", (folder / "metadata.desktop").read_text(), flags=re.M))
    author = entries.get("X-KDE-PluginInfo-Author")
    return {"Name": entries.get("Name", folder.name), "Authors": [{"Name": author}] if author else [],
            "License": entries.get("X-KDE-PluginInfo-License", "unknown"), "file": "metadata.desktop"}


def _pixels(image):
    return image.width * image.height


# ----------------------------------------------------------------------------- style corpus

def read_gimp_pattern(data: bytes) -> Image.Image:
    """A GIMP .pat pattern (GIMP's and Krita's tiles): big-endian u32 header size, version,
    width, height and bytes per pixel (1 grey, 2 grey + alpha, 3 RGB, 4 RGBA), b"GPAT", the
    name up to the header size, then the raw pixels. Pillow reads only some of them."""
    header, _, width, height, depth = struct.unpack(">5I", data[:20])
    if data[20:24] != b"GPAT" or depth not in (1, 2, 3, 4):
        raise ValueError("not a GIMP pattern (no 'GPAT' magic)")
    return Image.frombytes(("L", "LA", "RGB", "RGBA")[depth - 1], (width, height),
                           data[header:header + width * height * depth])


def tiled(image: Image.Image, side: int = TILE_SIDE) -> Image.Image:
    """A seamless tile repeated to fill a side x side square (transparency flattened first, so
    that every repeat is the same RGB)."""
    tile = to_rgb(image)
    canvas = Image.new("RGB", (side, side))
    for top in range(0, side, tile.height):
        for left in range(0, side, tile.width):
            canvas.paste(tile, (left, top))
    return canvas


def cut_out(image: Image.Image) -> Image.Image:
    """A figure on a transparent background, cropped to its opaque pixels (then put on white)."""
    image = image.convert("RGBA")
    return image.crop(image.getchannel("A").getbbox())


def _tiled_pattern(path):
    return lambda: tiled(read_gimp_pattern(path.read_bytes()))


def _tiled_path(path):
    return lambda: tiled(Image.open(path))


def _cut_out_path(path):
    return lambda: cut_out(Image.open(path))


def texture_candidates(package: str, root: Path):
    """Seamless textures of the drawing programs, tiled: GIMP's patterns (wood, stone, paper,
    fabric, sky, water...), Krita's paper, canvas, drawn-stroke and material textures and
    MyPaint's papers and canvases; geometric repeats stay out (GIMP_GEOMETRIC, KRITA_GEOMETRIC)."""
    paragraphs = parse_dep5((root / "usr/share/doc" / package / "copyright").read_text())
    if package == "gimp-data":
        for path in sorted((root / GIMP_PATTERNS).glob("*/*.pat")):
            if path.stem in GIMP_GEOMETRIC:
                continue
            _, licence = dep5_lookup(paragraphs, f"data/patterns/{path.parent.name}/{path.name}")
            yield Candidate("styles", f"gimp_{slug(path.parent.name)}_{slug(path.stem)}", _tiled_pattern(path), package,
                            f"/{path.relative_to(root)}", f"{path.parent.name}: {path.stem}", "GIMP artists", licence)
        for path in sorted((root / "usr/share/gimp/2.0/scripts/images").glob("texture*.jpg")):
            _, licence = dep5_lookup(paragraphs, f"plug-ins/script-fu/scripts/images/{path.name}")
            yield Candidate("styles", f"gimp_{slug(path.stem)}", _open_path(path), package,
                            f"/{path.relative_to(root)}", path.stem, "GIMP artists", licence)
        splash = root / "usr/share/gimp/2.0/images/gimp-splash.png"
        _, licence = dep5_lookup(paragraphs, "data/images/gimp-splash.png")
        yield Candidate("styles", "gimp_splash", _open_path(splash), package, f"/{splash.relative_to(root)}",
                        "GIMP 2.10 splash screen", "GIMP artists", licence)
    elif package == "krita-data":
        for path in sorted((root / KRITA_PATTERNS).iterdir()):
            if path.name.startswith(KRITA_GEOMETRIC):
                continue
            load = _tiled_pattern(path) if path.suffix == ".pat" else _tiled_path(path)
            _, licence = dep5_lookup(paragraphs, f"krita/data/patterns/{path.name}")
            yield Candidate("styles", f"krita_{slug(path.stem)}", load, package, f"/{path.relative_to(root)}",
                            path.stem.replace("_", " "), "Krita artists", licence)
    else:  # mypaint-data, mypaint-data-extras
        folder = root / "usr/share/mypaint/backgrounds"
        for path in sorted(folder.rglob("*.png")):
            top_level = path.parent == folder
            if top_level and (not path.stem.startswith(MYPAINT_TEXTURES) or path.stem in MYPAINT_NOT_TEXTURES):
                continue
            upstream = f"backgrounds/{path.relative_to(folder)}"
            holders, licence = dep5_lookup(paragraphs, upstream)
            load = _tiled_path(path) if min(Image.open(path).size) < MIN_STYLE_SHORT_SIDE else _open_path(path)
            yield Candidate("styles", f"mypaint_{slug(path.stem)}", load, package, f"/{path.relative_to(root)}",
                            path.stem.replace("_", " "), holders, licence)


def artwork_candidates(package: str, root: Path):
    """Drawn and painted artwork: Wesnoth's story landscapes, campaign map and (every
    WESNOTH_PORTRAITS_EVERY-th) unit portraits, Tux Paint's colour starter drawings, Debian's
    desktop themes (their boot-screen renders) and GNOME's drawn wallpapers."""
    if package == "wesnoth-1.16-data":
        for path in [*sorted((root / WESNOTH / "story").glob("*.jpg")), root / WESNOTH / "maps/background.jpg"]:
            yield Candidate("styles", f"wesnoth_{slug(path.stem)}", _open_path(path), package,
                            f"/{path.relative_to(root)}", path.stem.replace("-", " "), "Wesnoth artists",
                            WESNOTH_LICENCE)
        portraits = sorted((root / WESNOTH / "portraits").rglob("*.png"))
        for path in portraits[::WESNOTH_PORTRAITS_EVERY]:
            name = slug("_".join(path.relative_to(root / WESNOTH / "portraits").with_suffix("").parts))
            yield Candidate("styles", f"wesnoth_portrait_{name}", _cut_out_path(path), package,
                            f"/{path.relative_to(root)}", f"portrait: {path.stem.replace('-', ' ')}", "Wesnoth artists",
                            WESNOTH_LICENCE)
        return
    if package == "gnome-backgrounds":
        for path in sorted((root / "usr/share/backgrounds/gnome").glob("*.webp")):
            if not path.stem.startswith(GNOME_GEOMETRIC):
                yield Candidate("styles", f"gnome_{slug(path.stem)}", _open_path(path), package,
                                f"/{path.relative_to(root)}", path.stem, "GNOME artists", GNOME_LICENCE)
        return
    paragraphs = parse_dep5((root / "usr/share/doc" / package / "copyright").read_text())
    if package == "tuxpaint-data":
        folder = root / "usr/share/tuxpaint/starters"
        for path in sorted(p for p in folder.iterdir() if p.suffix in (".png", ".jpeg")
                           and p.stem in TUXPAINT_DRAWINGS):
            holders, licence = dep5_lookup(paragraphs, f"starters/{path.name}")
            yield Candidate("styles", f"tuxpaint_{slug(path.stem)}", _open_path(path), package,
                            f"/{path.relative_to(root)}", path.stem.replace("_", " "), holders, licence)
    else:  # desktop-base
        for path in sorted((root / "usr/share/desktop-base").glob("*-theme/grub/grub-16x9.png")):
            theme = path.parent.parent.name
            holders, licence = dep5_lookup(paragraphs, f"{theme}/grub/{path.name}")
            yield Candidate("styles", f"debian_{slug(theme)}", _open_path(path), package, f"/{path.relative_to(root)}",
                            f"Debian {theme.replace('-theme', '')} theme", holders, licence)


def held_out_styles(names, paintings) -> set:
    """The style files held out of training: the paintings that zoo.models.adain holds out of its
    paintings folder (every PAINTINGS_HOLD_OUT_EVERY-th by name), so that adain-paintings and
    arbitrary-style models are judged on the same unseen six, and every STYLES_HOLD_OUT_EVERY-th
    of the other style images by name."""
    held = set(sorted(paintings)[::PAINTINGS_HOLD_OUT_EVERY])
    return held | set(sorted(n for n in names if n not in paintings)[::STYLES_HOLD_OUT_EVERY])


# ----------------------------------------------------------------------------- building

def to_rgb(image: Image.Image) -> Image.Image:
    """RGB with EXIF orientation applied; transparency is flattened onto white."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
        flat = Image.new("RGB", image.size, "white")
        flat.paste(image, mask=image.getchannel("A"))
        return flat
    return image.convert("RGB")


def dhash(image: Image.Image, n: int = 16) -> int:
    """n*n-bit difference hash (is each pixel of an (n+1) x n thumbnail brighter than its right
    neighbour), to spot one picture at another size or compression. Measured here: a rescaled,
    recompressed copy differs in 0-3 of 256 bits, the closest distinct photos in 57 (8x8 hashes
    confused two smooth dusk scenes)."""
    small = image.convert("L").resize((n + 1, n), Image.Resampling.LANCZOS).tobytes()
    pairs = ((small[r * (n + 1) + c], small[r * (n + 1) + c + 1]) for r in range(n) for c in range(n))
    return sum(1 << i for i, (a, b) in enumerate(pairs) if a > b)


class Collector:
    """Writes one folder's JPEGs and remembers their provenance, dropping small images and
    duplicates: the same picture by hash, or for paintings the same title slug (the same work from
    two packages); the larger copy is kept."""

    def __init__(self, folder: Path, max_side: int, min_short_side: int = 0, same_name_is_same=False):
        self.folder, self.max_side, self.min_short_side = folder, max_side, min_short_side
        self.same_name_is_same = same_name_is_same
        self.rows, self.seen = {}, {}  # name -> CSV row; name -> (hash, aspect, pixels)
        folder.mkdir(parents=True)

    def add(self, c: Candidate) -> None:
        image = to_rgb(c.load())
        if min(image.size) < self.min_short_side:
            return
        key = (dhash(image), image.width / image.height, _pixels(image))
        for name, (h, aspect, pixels) in list(self.seen.items()):
            if (self.same_name_is_same and name == c.name) or \
                    (bin(h ^ key[0]).count("1") <= 16 and abs(aspect / key[1] - 1) < 0.05):
                if pixels >= key[2]:
                    print(f"  duplicate skipped: {c.path} (same as {name})")
                    return
                print(f"  duplicate replaced: {name} by {c.path}")
                (self.folder / f"{name}.jpg").unlink()
                del self.rows[name], self.seen[name]
        name = next(n for n in (c.name, *(f"{c.name}_{i}" for i in range(2, 1000))) if n not in self.rows)
        image.thumbnail((self.max_side, self.max_side), Image.Resampling.LANCZOS, reducing_gap=None)
        image.save(self.folder / f"{name}.jpg", quality=92)
        self.seen[name] = key
        self.rows[name] = dict(zip(COLUMNS, (f"{name}.jpg", c.package, c.path, c.title, c.artist, c.licence,
                                             c.source)))

    def adopt(self, other: "Collector") -> None:
        """Take another folder's images as they are, names and provenance too (the paintings
        into the style corpus, so both folders hold the same files)."""
        for name, row in other.rows.items():
            shutil.copy2(other.folder / row["file"], self.folder / row["file"])
            self.rows[name], self.seen[name] = dict(row), other.seen[name]

    def write_provenance(self, held_out: set | None = None):
        """PROVENANCE.csv; with `held_out` (names) also the `split` column, test or train."""
        rows = sorted(self.rows.values(), key=lambda r: r["file"])
        if held_out is not None:
            rows = [{**r, "split": "test" if r["file"][:-4] in held_out else "train"} for r in rows]
        with open(self.folder / "PROVENANCE.csv", "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, COLUMNS if held_out is None else STYLE_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)


def fetch(package: str, debs: Path) -> Path:
    """The package's .deb from DIR/.debs, downloaded with `apt-get download` when missing."""
    cached = sorted(debs.glob(f"{package}_*.deb"))
    if cached:
        return cached[-1]
    print(f"downloading {package} ...", flush=True)
    with tempfile.TemporaryDirectory(dir=debs, prefix=".part-") as part:  # never a half .deb in the cache
        try:
            result = subprocess.run(["apt-get", "download", package], cwd=part, capture_output=True, text=True)
        except FileNotFoundError:
            raise BuildError("apt-get not found: this script needs a Debian or Ubuntu system") from None
        found = list(Path(part).glob(f"{package}_*.deb"))
        if result.returncode or not found:
            lines = result.stderr.strip().splitlines()
            why = next((line for line in lines if line.startswith("E:")), lines[-1] if lines else "no .deb written")
            raise BuildError(f"apt-get download {package} failed: {why} "
                             "(run `apt-get update` first; a Debian mirror must be reachable)")
        return Path(shutil.move(found[0], debs / found[0].name))


def unpack(deb: Path, dest: Path) -> Path:
    """`dpkg -x` a .deb into its own folder (so each file's package is known)."""
    dest.mkdir(parents=True, exist_ok=True)
    try:
        result = subprocess.run(["dpkg", "-x", str(deb), str(dest)], capture_output=True, text=True)
    except FileNotFoundError:
        raise BuildError("dpkg not found: this script needs a Debian or Ubuntu system") from None
    if result.returncode:
        why = (result.stderr.strip().splitlines() or [f"exit status {result.returncode}"])[0]
        raise BuildError(f"dpkg -x {deb.name} failed: {why}")
    return dest


def build_record(max_side: int, styles: bool) -> dict:
    """What .build.json records: the settings a build used (and the style corpus's version)."""
    return {"version": BUILD_VERSION, "max_side": max_side, **({"styles": STYLES_VERSION} if styles else {})}


def is_complete(out: Path, max_side: int, styles: bool = False) -> bool:
    """The folders exist, list only files that exist, and were built with these settings (a
    build with the style corpus also serves a request without it)."""
    try:
        record = json.loads((out / ".build.json").read_text())
        if (record.get("version"), record.get("max_side")) != (BUILD_VERSION, max_side) or \
                (styles and record.get("styles") != STYLES_VERSION):
            return False
        for kind in ("photos", "paintings") + (("styles",) if styles else ()):
            with open(out / kind / "PROVENANCE.csv", encoding="utf-8") as f:
                rows = list(csv.DictReader(f))
            if not rows or not all((out / kind / r["file"]).is_file() for r in rows):
                return False
    except (OSError, ValueError, KeyError):
        return False
    return True


def build(out: Path, max_side: int, styles: bool = False) -> dict:
    """Download, unpack, collect and swap the new folders into place; returns per-package counts."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob(".tmp-*"):  # left by a killed run
        shutil.rmtree(stale, ignore_errors=True)
    debs = out / ".debs"
    debs.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out, prefix=".tmp-") as work:
        work = Path(work)
        roots = {p: unpack(fetch(p, debs), work / "unpacked" / p)
                 for p in (PACKAGES + STYLE_PACKAGES if styles else PACKAGES)}
        collectors = {"photos": Collector(work / "new" / "photos", max_side, MIN_SHORT_SIDE),
                      "paintings": Collector(work / "new" / "paintings", max_side, same_name_is_same=True)}
        sources = [gcompris_candidates(roots["gcompris-qt-data"]), opencv_candidates(roots["opencv-doc"])]
        sources += [wallpaper_candidates(p, roots[p]) for p in PACKAGES[2:]]
        for source in sources:
            for candidate in source:
                collectors[candidate.kind].add(candidate)
        if styles:
            collectors["styles"] = Collector(work / "new" / "styles", max_side, MIN_STYLE_SHORT_SIDE)
            collectors["styles"].adopt(collectors["paintings"])
            sources = [wallpaper_candidates(p, roots[p], "styles") for p in PACKAGES[3:]]
            sources += [texture_candidates(p, roots[p]) for p in ("gimp-data", "krita-data", "mypaint-data",
                                                                  "mypaint-data-extras")]
            sources += [artwork_candidates(p, roots[p]) for p in ("wesnoth-1.16-data", "tuxpaint-data",
                                                                   "desktop-base", "gnome-backgrounds")]
            for source in sources:
                for candidate in source:
                    collectors["styles"].add(candidate)
        counts = {}
        for kind, collector in collectors.items():
            collector.write_provenance(held_out_styles(collector.rows, collectors["paintings"].rows)
                                       if kind == "styles" else None)
            for row in collector.rows.values():
                counts.setdefault(kind, {}).setdefault(row["package"], 0)
                counts[kind][row["package"]] += 1
        (out / ".build.json").unlink(missing_ok=True)
        for kind in collectors:
            if (out / kind).exists():
                (out / kind).rename(work / f"old-{kind}")
            (work / "new" / kind).rename(out / kind)
        (out / ".build.json").write_text(json.dumps(build_record(max_side, styles)))
    return counts


def default_out() -> Path:
    if os.environ.get("ZOO_STYLE_DATA"):
        return Path(os.environ["ZOO_STYLE_DATA"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "keras-zoo" / "style-data"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help=f"output folder (default: {default_out()})")
    parser.add_argument("--max-side", type=int, default=1024, help="longest side of written images in px")
    parser.add_argument("--force", action="store_true", help="rebuild even when the folders are complete")
    parser.add_argument("--styles", action="store_true",
                        help="also build styles/, a corpus of ~330 paintings, drawings and textures (~270 MB more)")
    args = parser.parse_args(argv)
    if args.max_side < 64:
        parser.error("--max-side must be at least 64")
    out = (args.out or default_out()).expanduser()
    if not args.force and is_complete(out, args.max_side, args.styles):
        print(f"up to date: {out} (--force rebuilds)")
        return 0
    try:
        counts = build(out, args.max_side, args.styles)
    except BuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: cannot build {out}: {e}", file=sys.stderr)
        return 2
    for kind, per_package in counts.items():
        detail = ", ".join(f"{p} {n}" for p, n in per_package.items())
        print(f"{kind}: {sum(per_package.values())} in {out / kind} ({detail})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
