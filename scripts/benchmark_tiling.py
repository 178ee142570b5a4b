"""Big photos through the released stylizer: seams and memory of tiled stylization.

    python scripts/benchmark_tiling.py saved_models/stylizer-paintings [--style starry_night]
        [--runtime onnx] [--sizes 1536x1024,2048x1536,2400x1600] [--out DIR]

1. Fidelity: photos of 1.5 to 4 megapixels (a real photo, upscaled), stylized once in one pass and
   in tiles (`zoo.style.tiling`, as `zoo.stylize` does above 1 megapixel) after 0, 4 and 8 passes
   that refine the statistics, and after one per layer (zoo.stylize's default); PSNR of each tiled
   result against the one-pass result, the largest difference and the time.
2. Memory: `python -m zoo.stylize` on a 24-megapixel JPEG (6000 x 4000), in a fresh process; its
   peak resident memory (getrusage of the child) and wall time.

Writes tiling.json and tiling.md into DIR (default: the release folder). Needs the [deploy]
extra only (onnxruntime or ai-edge-litert, Pillow).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PHOTO = Path(importlib.util.find_spec("skimage").submodule_search_locations[0]) / "data" / "astronaut.png"


def seams(model, weights, photo, sizes, refines=(0, 4, 8, None)) -> list:
    from PIL import Image

    from exporters.validate import psnr
    from zoo.images import to_float, to_uint8
    from zoo.style.tiling import STYLE_WEIGHTS, STYLIZED, run_network, stylize_tiled

    rows, inputs = [], {STYLE_WEIGHTS: weights[None]}
    for width, height in sizes:
        image = np.asarray(Image.fromarray(photo).resize((width, height), Image.LANCZOS))
        start = time.perf_counter()
        whole = to_uint8(run_network(model.runner, to_float(image)[0], inputs)[STYLIZED])
        one_pass = time.perf_counter() - start
        for refine in refines:
            start = time.perf_counter()
            tiled = stylize_tiled(model.runner, model.tile_runner, image, inputs, norm_channels=model.norm_channels,
                                  refine=refine)
            rows.append({"size": f"{width}x{height}", "megapixels": round(width * height / 1e6, 2),
                         "refine": len(model.norm_channels) if refine is None else refine,
                         "psnr_tiled_vs_one_pass_db": round(psnr(whole / 255.0, tiled / 255.0), 2),
                         "max_abs_difference": int(np.abs(whole.astype(int) - tiled).max()),
                         "tiled_seconds": round(time.perf_counter() - start, 2), "one_pass_seconds": round(one_pass, 2)})
            print(rows[-1], flush=True)
    return rows


def memory(release, style, runtime, photo) -> dict:
    """Peak RSS of zoo.stylize on a 6000x4000 JPEG in a child process."""
    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "24mp.jpg"
        Image.fromarray(photo).resize((6000, 4000), Image.LANCZOS).save(big, quality=90)
        out = Path(tmp) / "out.jpg"
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "zoo.stylize", str(big), "--model", str(release), "--style", style,
                                 "--runtime", runtime, "--out", str(out)], cwd=ROOT, capture_output=True, text=True,
                                env={**os.environ, "HOME": tmp})
        seconds = time.perf_counter() - start
        if result.returncode != 0:
            raise SystemExit(f"zoo.stylize failed: {result.stderr.strip()[-500:]}")
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        with Image.open(out) as im:
            size = im.size
    return {"photo": "6000x4000 JPEG (24 megapixels)", "runtime": runtime, "output_size": f"{size[0]}x{size[1]}",
            "peak_rss_mb": round(peak_mb), "wall_seconds": round(seconds, 1)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("release", type=Path)
    p.add_argument("--style", help="default: the first style")
    p.add_argument("--runtime", choices=("onnx", "tflite"), default="onnx")
    p.add_argument("--photo", type=Path, default=PHOTO)
    p.add_argument("--sizes", default="1536x1024,2048x1536,2400x1600",
                   help="photo sizes WIDTHxHEIGHT of the fidelity table, comma-separated")
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    from zoo.images import load_rgb
    from zoo.style.model import open_model

    try:
        sizes = [tuple(int(n) for n in size.split("x")) for size in args.sizes.split(",")]
    except ValueError:
        p.error(f"--sizes takes WIDTHxHEIGHT,..., got {args.sizes!r}")
    model = open_model(args.release, args.runtime, threads=2)
    style = args.style or model.styles[0]
    weights = np.eye(len(model.styles), dtype=np.float32)[model.styles.index(style)]
    photo = load_rgb(args.photo)
    result = {"style": style, "runtime": args.runtime,
              "seams": seams(model, weights, photo, sizes),
              "memory": memory(args.release, style, args.runtime, photo)}
    out = args.out or args.release
    (out / "tiling.json").write_text(json.dumps(result, indent=2) + "\n")
    m = result["memory"]
    lines = ["# Tiled stylization", "", f"Style `{style}`, {args.runtime}. Tiled (as zoo.stylize does above 1 megapixel) "
             "against one pass, after `refine` passes that measure the statistics at full resolution "
             f"({len(model.norm_channels)}, one per layer, is zoo.stylize's default: exact statistics):", "",
             "| photo | megapixels | refine | PSNR tiled vs one pass | max difference (0-255) | tiled s | one pass s |",
             "|---|---|---|---|---|---|---|",
             *(f"| {r['size']} | {r['megapixels']} | {r['refine']} | {r['psnr_tiled_vs_one_pass_db']} dB | "
               f"{r['max_abs_difference']} | {r['tiled_seconds']} | {r['one_pass_seconds']} |" for r in result["seams"]),
             "", f"`python -m zoo.stylize` on a {m['photo']}: peak memory {m['peak_rss_mb']} MB, {m['wall_seconds']} s, "
             f"output {m['output_size']}.", ""]
    (out / "tiling.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
