"""Stylizing a folder of photos into another folder.

Every file directly in the folder (hidden ones aside) is tried: Pillow, not the file name,
decides what is a photo, so a `.tif` or an extension-less camera file works. A file that cannot
be read is reported and skipped: one bad file should not cost the rest of a holiday's photos,
but the caller learns of it (the CLI exits 1). Results are written as OUT_DIR/NAME.png, NAME
being the photo's file name without its extension: PNG because a stylized image is a finished
picture that should not lose its strokes to a second round of JPEG compression.
"""

from __future__ import annotations

import sys
from pathlib import Path

from zoo.errors import ZooError
from zoo.images import load_rgb, save_image

RESULT_SUFFIX = ".png"


def plan(folder, out_dir) -> list:
    """[(photo, result path)] for the files of `folder`, refused before anything is written when
    two photos would share a result or results would land among the photos."""
    folder, out_dir = Path(folder), Path(out_dir)
    if out_dir.resolve() == folder.resolve():
        raise ZooError(f"--out {out_dir} is the photo folder itself; give another folder for the results")
    if out_dir.exists() and not out_dir.is_dir():
        raise ZooError(f"--out {out_dir} is a file; a folder of photos is stylized into a folder")
    photos = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if not photos:
        raise ZooError(f"{folder} holds no files to stylize")
    pairs, taken = [], {}
    for photo in photos:
        result = out_dir / (photo.stem + RESULT_SUFFIX)
        if result in taken:
            raise ZooError(f"{taken[result].name} and {photo.name} would both be written to {result}; rename one")
        taken[result] = photo
        pairs.append((photo, result))
    return pairs


def stylize_folder(pairs, render, max_side: int | None = None) -> list:
    """Write `render(photo)` for each (photo, result) pair with a progress bar on stderr; returns
    [(photo, reason)] for the files that could not be read or written."""
    from tqdm import tqdm

    failed = []
    bar = tqdm(pairs, unit="photo", file=sys.stderr)
    for photo, result in bar:
        try:
            save_image(result, render(load_rgb(photo, max_side=max_side)))
        except ZooError as e:
            bar.write(f"skipped {photo.name}: {e}", file=sys.stderr)
            failed.append((photo, str(e)))
    return failed
