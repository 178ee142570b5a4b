"""Build the photo and painting folders that the stylizers train on, from Debian packages.

    python scripts/build_style_data.py [--out DIR] [--max-side 1024] [--force]

No COCO or WikiArt copy can be had without internet, but Debian's archive (which pip-only and
apt-only machines reach) holds real photos and public-domain paintings inside a few packages
(see ../shared/OFFLINE.md). This script downloads those packages with `apt-get download`
(nothing is installed), unpacks them with `dpkg -x`, and writes into DIR (default:
`zoo.style.data.cache_dir()`, i.e. ~/.cache/keras-zoo/style-data):

- `photos/`: about 200 photos of animals, monuments, landscapes, objects and people;
- `paintings/`: about 30 public-domain paintings, named by short slugs (`starry_night.jpg`,
  `great_wave.jpg`...), which are the style names the stylizer uses;

each with a `PROVENANCE.csv` (file, package, path_in_package, title, artist, licence). The
licences come from the packages: GCompris records one per photo in each activity's README (most
are CC BY(-SA) or CC0 photos from Wikimedia Commons); the paintings are public-domain works whose
scans GCompris ships under GPL-3.0+; opencv-doc's sample images are Apache-2.0/BSD test data of
unrecorded origin; the desktop wallpapers are CC BY(-SA) or GPL as their copyright files say.
Nothing of this is committed to the repository: the folders are rebuilt here on demand.

GCompris packs its images in Qt resource files (`.rcc`), read here without Qt, and its paintings
as jigsaw puzzles, reassembled here from the pieces and their positions in the board files.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image  # noqa: E402

from zoo.style.data import cache_dir  # noqa: E402

FIELDS = ("file", "package", "path_in_package", "title", "artist", "licence")
PACKAGES = ("gcompris-qt-data", "opencv-doc", "mate-backgrounds", "lomiri-wallpapers-16.04",
            "lomiri-wallpapers-20.04", "plasma-workspace-wallpapers")
RCC_DIR = "usr/share/gcompris-qt/rcc"
PUZZLE_LICENCE = "public domain (painting); scan shipped by GCompris under GPL-3.0-or-later"

# --- paintings ---------------------------------------------------------------------------------
# paintings.rcc: board number -> slug. Titles and artists come from the board's instruction.
PUZZLES = {
    1: "bal_du_moulin_de_la_galette", 2: "spring_arcimboldo", 3: "the_librarian", 4: "oiran_and_kamuro",
    5: "woman_holding_a_fan", 6: "ejiri_in_suruga", 7: "great_wave", 8: "benzaiten_shrine_in_snow",
    9: "horse_mackerel_and_prawn", 10: "sunset_over_ryogoku_bridge", 11: "poppies_hokusai", 12: "kazusa_sea_route",
    14: "mona_lisa", 15: "pala_di_pesaro", 16: "lion_durer", 17: "the_harvesters", 18: "girls_at_the_piano",
    19: "composition_viii", 20: "ramparts_at_aigues_mortes", 21: "summertime_cassatt", 22: "village_street_in_auvers",
}  # board 13 is a photo of Michelangelo's Pietà, a sculpture: not a painting's style
# details.rcc: Van Gogh paintings among the monument photos (file stem -> slug, title).
DETAILS_PAINTINGS = {
    "Van_Gogh_The_Night_Cafe_background": ("the_night_cafe", "The Night Café - 1888"),
    "VincentVanGoghBridge_background": ("langlois_bridge", "The Langlois Bridge at Arles - 1888"),
    "VincentVanGogh0019_background": ("the_harvest", "The Harvest - 1888"),
    "PortraitOfPereTanguy_background": ("pere_tanguy", "Portrait of Père Tanguy - 1887"),
    "Gogh4_background": ("cafe_terrace_at_night", "Café Terrace at Night - 1888"),
    "VincentVanGogh0012_background": ("vestibule_of_the_asylum", "Vestibule of the Asylum - 1889"),
    "VincentVanGogh0013_background": ("painter_on_the_road_to_tarascon", "The Painter on the Road to Tarascon - 1888"),
    "Eglise_dAuvers-sur-Oise_background": ("church_at_auvers", "The Church at Auvers - 1890"),
}
OPENCV_DATA = "usr/share/doc/opencv-doc/examples/data"
OPENCV_PAINTINGS = {"starry_night.jpg": ("starry_night", "The Starry Night - 1889", "Vincent van Gogh")}

# --- photos ------------------------------------------------------------------------------------
GCOMPRIS_PHOTOS = ("erase", "explore_monuments", "explore_world_animals", "details", "explore_farm_animals",
                   "categorization")
# opencv-doc's real photos (the rest are test charts, logos, renders, calibration boards).
OPENCV_PHOTOS = ("aero1.jpg", "aero3.jpg", "apple.jpg", "baboon.jpg", "building.jpg", "butterfly.jpg", "fruits.jpg",
                 "home.jpg", "leuvenA.jpg", "leuvenB.jpg", "messi5.jpg", "orange.jpg", "squirrel_cls.jpg",
                 "stuff.jpg", "lena.jpg", "graf1.png", "licenseplate_motion.jpg", "ela_original.jpg")
WALLPAPER_DIRS = ("usr/share/backgrounds", "usr/share/wallpapers")
# Wallpapers that are renders, gradients or patterns, not photos. MATE's photos are all in nature/.
NOT_PHOTOS = re.compile(r"analogpattern|painting-colors|picture_0b|picture_1a|free_by|greentock|fossa|umang|"
                        r"/mate/(?!nature/)", re.I)
PLASMA_PHOTOS = {"BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow", "FallenLeaf", "Grey",
                 "Kite", "MilkyWay", "OneStandsOut", "Path", "summer_1am", "Volna"}  # the rest are renders
MIN_PHOTO_SIDE = 256  # shorter side; smaller images are icons and thumbnails


class BuildError(Exception):
    """A failure the user can act on: printed as one `error:` line."""


# --- reading the packages -----------------------------------------------------------------------

def fetch(packages, work: Path) -> Path:
    """Download `packages` (cached in `work/debs`) and unpack them all into `work/root`."""
    debs, root = work / "debs", work / "root"
    debs.mkdir(parents=True, exist_ok=True)
    root.mkdir(parents=True, exist_ok=True)
    for name in packages:
        if not list(debs.glob(f"{name}_*.deb")):
            result = subprocess.run(["apt-get", "download", name], cwd=debs, capture_output=True, text=True)
            if result.returncode != 0:
                last = (result.stderr.strip().splitlines() or ["no message"])[-1]
                raise BuildError(f"apt-get download {name} failed ({last}); run `apt-get update` first, or check "
                                 "that this machine reaches a Debian mirror")
        (deb,) = debs.glob(f"{name}_*.deb")
        subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
    return root


def read_rcc(path: Path) -> dict:
    """{path inside: bytes} of a Qt resource file (no Qt needed; format in OFFLINE.md)."""
    data = path.read_bytes()
    if data[:4] != b"qres":
        raise BuildError(f"{path} is not a Qt resource file")
    version, tree, payload, names = struct.unpack(">4I", data[4:20])
    entry_size = 14 if version == 1 else 22

    def name(offset):
        (length,) = struct.unpack(">H", data[names + offset:names + offset + 2])
        return data[names + offset + 6:names + offset + 6 + 2 * length].decode("utf-16-be")

    files = {}

    def walk(index, prefix):
        entry = data[tree + index * entry_size:tree + (index + 1) * entry_size]
        name_offset, flags = struct.unpack(">IH", entry[:6])
        path_here = f"{prefix}/{name(name_offset)}" if index else ""
        if flags & 2:
            count, first = struct.unpack(">II", entry[6:14])
            for child in range(first, first + count):
                walk(child, path_here)
            return
        (offset,) = struct.unpack(">I", entry[10:14])
        (size,) = struct.unpack(">I", data[payload + offset:payload + offset + 4])
        blob = data[payload + offset + 4:payload + offset + 4 + size]
        if flags & 1:
            blob = zlib.decompress(blob[4:])  # a 4-byte uncompressed length precedes the stream
        elif flags & 4:
            try:
                import zstandard
            except ImportError:
                print(f"warning: {path.name}:{path_here} is zstd-compressed and zstandard is not installed; skipped",
                      file=sys.stderr)
                return
            blob = zstandard.ZstdDecompressor().decompress(blob)
        files[path_here.lstrip("/")] = blob

    walk(0, "")
    return files


def readme_licences(text: str) -> dict:
    """{file name: (copyright, licence)} from a GCompris resource README (Debian-copyright-like
    blocks of `Copyright:`, `License:`, `Source:` and `Files:` lines)."""
    found = {}
    for block in re.split(r"\n\s*\n", text):
        fields, key = {}, None
        for line in block.splitlines():
            m = re.match(r"(\w+):\s*(.*)", line)
            if m and m.group(1) in ("Copyright", "License", "Source", "Files", "Comments"):
                key = m.group(1)
                fields[key] = [m.group(2).strip()] if m.group(2).strip() else []
            elif key and line.strip():
                fields[key].append(line.strip())
        for f in fields.get("Files", []):
            for name in f.split():
                found[Path(name).name] = (" ".join(fields.get("Copyright", [])), " ".join(fields.get("License", [])))
    return found


def assemble_puzzle(board_qml: str, pieces: dict) -> tuple:
    """(painting as RGB Image, instruction) from a GCompris puzzle board: every piece pasted with
    its alpha, centred at (x * width, y * height) of the board, cropped to the pieces."""
    instruction = re.search(r'instruction:\s*qsTr\("([^"]*)"\)', board_qml).group(1)
    width = int(re.search(r'"width"\s*:\s*(\d+)', board_qml).group(1))
    height = int(re.search(r'"height"\s*:\s*(\d+)', board_qml).group(1))
    placed = re.findall(r'"pixmapfile"\s*:\s*"([^"]+)"\s*,\s*"x"\s*:\s*"?([\d.]+)"?\s*,\s*"y"\s*:\s*"?([\d.]+)"?', board_qml)
    canvas = Image.new("RGBA", (width * 2, height * 2), (0, 0, 0, 0))
    offset = (width // 2, height // 2)  # room for pieces that stick out of the board
    for name, x, y in placed:
        piece = Image.open(io.BytesIO(pieces[name])).convert("RGBA")
        left = offset[0] + round(float(x) * width - piece.width / 2)
        top = offset[1] + round(float(y) * height - piece.height / 2)
        canvas.alpha_composite(piece, (left, top))
    box = canvas.getchannel("A").getbbox()
    return canvas.crop(box).convert("RGB"), instruction


# --- writing the folders ------------------------------------------------------------------------

def save(image: Image.Image, folder: Path, stem: str, max_side: int) -> str:
    image = image.convert("RGB")
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.LANCZOS)
    name = f"{stem}.jpg"
    image.save(folder / name, quality=92)
    return name


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def build_paintings(root: Path, folder: Path, max_side: int) -> list:
    rows = []
    rcc = root / RCC_DIR
    paintings = read_rcc(rcc / "paintings.rcc")
    base = "gcompris/src/activities/paintings/resource/"
    pieces = {k[len(base):]: v for k, v in paintings.items() if k.startswith(base + "image/")}
    for board, stem in PUZZLES.items():
        qml = paintings[f"{base}board/board{board}_0.qml"].decode("utf-8")
        image, instruction = assemble_puzzle(qml, pieces)
        artist, _, title = instruction.partition(", ")
        artist = artist.replace("Hokusa ", "Hokusai ").replace("Katsushika Hokusa", "Katsushika Hokusai")
        artist = {"Pieter Brugel": "Pieter Bruegel the Elder", "Bazille": "Frédéric Bazille"}.get(artist, artist)
        rows.append((save(image, folder, stem, max_side), "gcompris-qt-data",
                     f"{RCC_DIR}/paintings.rcc:{base}board/board{board}_0.qml (puzzle pieces)", title, artist,
                     PUZZLE_LICENCE))
    details = read_rcc(rcc / "details.rcc")
    for path, blob in sorted(details.items()):
        if Path(path).stem in DETAILS_PAINTINGS:
            stem, title = DETAILS_PAINTINGS[Path(path).stem]
            rows.append((save(Image.open(io.BytesIO(blob)), folder, stem, max_side), "gcompris-qt-data",
                         f"{RCC_DIR}/details.rcc:{path}", title, "Vincent van Gogh", PUZZLE_LICENCE))
    for name, (stem, title, artist) in OPENCV_PAINTINGS.items():
        rows.append((save(Image.open(root / OPENCV_DATA / name), folder, stem, max_side), "opencv-doc",
                     f"{OPENCV_DATA}/{name}", title, artist, "public domain (painting); file Apache-2.0 (OpenCV samples)"))
    return rows


def build_photos(root: Path, folder: Path, max_side: int) -> list:
    rows = []
    rcc = root / RCC_DIR
    for activity in GCOMPRIS_PHOTOS:
        files = read_rcc(rcc / f"{activity}.rcc")
        licences = {}
        for path, blob in files.items():
            if Path(path).name == "README":
                licences.update(readme_licences(blob.decode("utf-8", "replace")))
        for path, blob in sorted(files.items()):
            if not path.endswith((".webp", ".jpg", ".png")) or Path(path).stem in DETAILS_PAINTINGS:
                continue
            owner, licence = licences.get(Path(path).name, ("", ""))
            if not licence or "GPL" in licence:  # drawings and icons carry the software's licence
                continue
            image = Image.open(io.BytesIO(blob))
            if min(image.size) < MIN_PHOTO_SIDE:
                continue
            stem = slug(f"gcompris_{activity}_{Path(path).stem.replace('_background', '')}")
            rows.append((save(image, folder, stem, max_side), "gcompris-qt-data", f"{RCC_DIR}/{activity}.rcc:{path}",
                         Path(path).stem, owner or "unknown", licence))
    for name in OPENCV_PHOTOS:
        path = root / OPENCV_DATA / name
        if path.is_file():
            rows.append((save(Image.open(path), folder, slug(f"opencv_{Path(name).stem}"), max_side), "opencv-doc",
                         f"{OPENCV_DATA}/{name}", Path(name).stem, "unknown", "Apache-2.0 / BSD (OpenCV sample data)"))
    for path in sorted(p for d in WALLPAPER_DIRS for p in (root / d).rglob("*") if p.suffix.lower() in (".jpg", ".png")):
        rel = path.relative_to(root).as_posix()
        theme = path.parts[path.parts.index("wallpapers") + 1] if "wallpapers" in path.parts else path.stem
        if NOT_PHOTOS.search(rel) or ("wallpapers/" in rel and theme not in PLASMA_PHOTOS):
            continue
        image = Image.open(path)
        if min(image.size) < MIN_PHOTO_SIDE:
            continue
        if "wallpapers/" in rel:  # plasma: one photo per theme, the largest size
            if any(r[0].startswith(slug(f"plasma_{theme}")) for r in rows):
                continue
            package, licence, stem = "plasma-workspace-wallpapers", "GPL-2+ (see its copyright file)", f"plasma_{theme}"
        elif "/mate/" in rel:
            package, licence, stem = "mate-backgrounds", "GPL-2+ / CC-BY-SA-4.0 (see its copyright file)", f"mate_{path.stem}"
        else:
            package, licence, stem = "lomiri-wallpapers", "CC-BY-4.0 / CC-BY-SA / CC0 (see its copyright file)", f"lomiri_{path.stem}"
        author = path.stem.split("_by_")[-1].replace("_", " ") if "_by_" in path.stem else "unknown"
        rows.append((save(image, folder, slug(stem), max_side), package, rel, path.stem, author, licence))
    return rows


def write_folder(dest: Path, build, root: Path, max_side: int) -> int:
    """Build a folder next to `dest` and rename it into place: never a half-written folder."""
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{dest.name}-", dir=dest.parent))
    try:
        rows = build(root, tmp, max_side)
        with open(tmp / "PROVENANCE.csv", "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(FIELDS)
            writer.writerows(sorted(rows))
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return len(rows)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=cache_dir(), help="where photos/ and paintings/ go")
    p.add_argument("--max-side", type=int, default=1024, help="longer side of the written images")
    p.add_argument("--force", action="store_true", help="rebuild even if both folders are there")
    args = p.parse_args(argv)
    out = args.out.expanduser()
    if not args.force and all((out / d / "PROVENANCE.csv").is_file() for d in ("photos", "paintings")):
        print(f"up to date: {out}/photos and {out}/paintings (--force rebuilds them)")
        return 0
    try:
        out.mkdir(parents=True, exist_ok=True)
        root = fetch(PACKAGES, out / ".debs")
        paintings = write_folder(out / "paintings", build_paintings, root, args.max_side)
        photos = write_folder(out / "photos", build_photos, root, args.max_side)
    except BuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: cannot build {out}: {e}", file=sys.stderr)
        return 2
    shutil.rmtree(out / ".debs" / "root", ignore_errors=True)
    print(f"wrote {photos} photos to {out / 'photos'} and {paintings} paintings to {out / 'paintings'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
