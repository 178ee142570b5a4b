"""Where style-transfer training images live: content photos and style paintings.

`scripts/build_style_data.py` rebuilds two folders from Debian packages (no COCO or WikiArt
copy can be had offline): `photos/` (about 200 real photos) and `paintings/` (about 30
public-domain paintings), each with a `PROVENANCE.csv`; with `--styles` a third, `styles/`
(about 330 paintings, drawings and textures for arbitrary-style models). They go into a cache folder, never into
the repository. Style images given on the command line are named by their file stem, which is
the name `zoo.stylize --style NAME` and the export manifest use.

Deliberately free of TensorFlow: the deploy CLIs resolve style names with it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from zoo.errors import ZooError

BUILD_COMMAND = "python scripts/build_style_data.py"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")


def cache_dir() -> Path:
    """`$ZOO_STYLE_DATA`, else `$XDG_CACHE_HOME/keras-zoo/style-data` (default ~/.cache/...)."""
    if os.environ.get("ZOO_STYLE_DATA"):
        return Path(os.environ["ZOO_STYLE_DATA"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "keras-zoo" / "style-data"


def photos_dir() -> Path:
    return cache_dir() / "photos"


def paintings_dir() -> Path:
    return cache_dir() / "paintings"


def styles_dir() -> Path:
    """The style corpus of `build_style_data.py --styles`: paintings, drawings and textures."""
    return cache_dir() / "styles"


def style_name(path) -> str:
    """A style's name: its file stem, lower case, runs of other characters as one underscore."""
    return re.sub(r"[^a-z0-9]+", "_", Path(path).stem.lower()).strip("_") or "style"


def images_in(folder: Path) -> list[Path]:
    """The image files directly in `folder`, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def resolve_styles(spec: str, count: int | None = None) -> list[Path]:
    """Style images from `spec`: comma-separated image files and folders (a folder gives all its
    images, sorted). With `count`, the first `count` of them; fewer is an error."""
    paths = []
    for item in (s.strip() for s in str(spec).split(",")):
        if not item:
            continue
        path = Path(item).expanduser()
        if path.is_dir():
            found = images_in(path)
            if not found:
                raise ZooError(f"style folder {path} holds no images ({', '.join(IMAGE_SUFFIXES)})")
            paths.extend(found)
        elif path.is_file():
            paths.append(path)
        else:
            hint = f"; build the offline paintings with {BUILD_COMMAND}" if str(paintings_dir()) in str(path) else ""
            raise ZooError(f"style image or folder {path} does not exist{hint}")
    if not paths:
        raise ZooError("--styles names no style image")
    if count is not None:
        if len(paths) < count:
            raise ZooError(f"--num-styles {count} asks for more styles than the {len(paths)} in {spec}")
        paths = paths[:count]
    names = [style_name(p) for p in paths]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ZooError(f"two style images share the name {repeated[0]!r}; rename one (names are file stems)")
    return [p.resolve() for p in paths]
