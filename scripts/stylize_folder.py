"""Demo: stylize every photo of a folder with one or more released stylizers, and write a contact
sheet (one row per photo: the photo, then each style).

    python scripts/stylize_folder.py PHOTOS_DIR --model saved_models/stylizer-ihc \\
        --model saved_models/stylizer-raphael_madonna --runtime tflite --out contact_sheet.png

With --runtime onnx or tflite, TensorFlow is not needed (as on a phone). Unreadable files are
reported and skipped, not fatal.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zoo.errors import ZooError, cli  # noqa: E402
from zoo.images import grid, load_rgb, save_image  # noqa: E402
from zoo.stylize import open_model, stylize  # noqa: E402

SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


@cli
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("photos", type=Path, help="folder of photos")
    p.add_argument("--model", action="append", required=True, help="stylizer folder or file (repeat for several)")
    p.add_argument("--runtime", choices=("keras", "onnx", "tflite"), default="tflite")
    p.add_argument("--size", type=int, default=512, help="longer side the photos are scaled to")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=Path("contact_sheet.png"))
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    if not args.photos.is_dir():
        raise ZooError(f"{args.photos} is not a folder")
    files = sorted(f for f in args.photos.iterdir() if f.suffix.lower() in SUFFIXES)
    if not files:
        raise ZooError(f"no photos ({', '.join(sorted(SUFFIXES))}) in {args.photos}")
    runners = [open_model(m, args.runtime, args.threads)[0] for m in args.model]
    rows, seconds, count = [], 0.0, 0
    for f in files:
        try:
            photo = load_rgb(f, max_side=args.size)
        except ZooError as e:
            print(f"skipped: {e}", file=sys.stderr)
            continue
        row = [photo]
        for runner in runners:
            start = time.perf_counter()
            row.append(stylize(runner, photo))
            seconds += time.perf_counter() - start
            count += 1
        rows.append(row)
    if not rows:
        raise ZooError(f"none of the files in {args.photos} could be read")
    save_image(args.out, grid(rows, ["photo", *(Path(m).name for m in args.model)], height=192))
    print(f"wrote {args.out}: {len(rows)} photos x {len(runners)} styles, {seconds / count:.2f} s per stylization "
          f"({args.runtime})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
