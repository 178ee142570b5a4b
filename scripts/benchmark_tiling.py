"""Big photos through the released stylizer: fidelity, time and memory of tiled stylization.

    python scripts/benchmark_tiling.py saved_models/stylizer-paintings [--style starry_night]
        [--runtime onnx] [--sizes 1536x1024,2400x1600] [--phone PHOTO.jpg] [--exact-timing] [--out DIR]

1. Fidelity: photos of 1.5 to 4 megapixels (a real photo, upscaled), stylized once in one pass and
   in tiles (`zoo.style.tiling`, as `zoo.stylize` does above 1 megapixel) with the statistics of
   a downscaled copy only, with zoo.stylize's default plan (that copy, then a few refining passes
   over a sample of the tiles) and with the exact plan (--exact-stats: one pass over every tile
   per layer); PSNR of each tiled result against the one-pass result, the largest difference and
   the time.
2. A phone photo (4000 x 3000, 12 megapixels: `--phone`, cropped or scaled to that size; default
   the real photo above, upscaled): `python -m zoo.stylize` at full size (the default plan, and
   with --exact-stats if `--exact-timing`) and at --max-size 1024, each in a fresh process, one
   at a time; wall time, peak resident memory, and the ratio of the times.

Writes tiling.json and tiling.md into DIR (default: the release folder). Needs the [deploy]
extra only (onnxruntime or ai-edge-litert, Pillow).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PHOTO = Path(importlib.util.find_spec("skimage").submodule_search_locations[0]) / "data" / "astronaut.png"


def seams(model, weights, photo, sizes) -> list:
    from PIL import Image

    from exporters.validate import psnr
    from zoo.images import to_float, to_uint8
    from zoo.style.model import TILE_SIDE
    from zoo.style.tiling import STYLE_WEIGHTS, STYLIZED, run_network, statistics_plan, stylize_tiled

    plans = {"downscaled copy only": {"refine": 0}, "default": statistics_plan(), "exact": statistics_plan(exact=True)}
    rows, inputs = [], {STYLE_WEIGHTS: weights[None]}
    for width, height in sizes:
        image = np.asarray(Image.fromarray(photo).resize((width, height), Image.LANCZOS))
        start = time.perf_counter()
        whole = to_uint8(run_network(model.runner, to_float(image)[0], inputs)[STYLIZED])
        one_pass = time.perf_counter() - start
        for name, plan in plans.items():
            start = time.perf_counter()
            tiled = stylize_tiled(model.runner, model.tile_runner, image, inputs, norm_channels=model.norm_channels,
                                  tile=TILE_SIDE, **plan)
            rows.append({"size": f"{width}x{height}", "megapixels": round(width * height / 1e6, 2), "statistics": name,
                         "psnr_tiled_vs_one_pass_db": round(psnr(whole / 255.0, tiled / 255.0), 2),
                         "max_abs_difference": int(np.abs(whole.astype(int) - tiled).max()),
                         "tiled_seconds": round(time.perf_counter() - start, 2), "one_pass_seconds": round(one_pass, 2)})
            print(rows[-1], flush=True)
    return rows


# Runs zoo.stylize in the child and reports its peak memory from /proc: getrusage would also
# count what the child inherited from this process when it was forked.
CHILD = ("import re, sys; from zoo.stylize import main; rc = main(sys.argv[1:]); "
         "print('peak_kb', re.search(r'VmHWM:\\s*(\\d+)', open('/proc/self/status').read()).group(1)); sys.exit(rc)")


def phone(release, style, runtime, photo, exact_timing) -> dict:
    """zoo.stylize on a 4000x3000 JPEG at full size and at --max-size 1024, each in a fresh process."""
    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "phone.jpg"
        image = Image.fromarray(photo)
        scale = max(4000 / image.width, 3000 / image.height)
        if scale > 1:
            image = image.resize((round(image.width * scale), round(image.height * scale)), Image.LANCZOS)
        left, top = (image.width - 4000) // 2, (image.height - 3000) // 2
        image.crop((left, top, left + 4000, top + 3000)).save(big, quality=92)
        runs = {"max_size_1024": ["--max-size", "1024"], "full_size": []}
        if exact_timing:
            runs["full_size_exact_stats"] = ["--exact-stats"]
        result = {"photo": "4000x3000 JPEG (12 megapixels)" + (" upscaled" if scale > 1 else ""), "runtime": runtime}
        for name, flags in runs.items():
            out = Path(tmp) / f"{name}.png"
            start = time.perf_counter()
            run = subprocess.run([sys.executable, "-c", CHILD, str(big), "--model", str(release), "--style", style,
                                  "--runtime", runtime, "--threads", "2", "--out", str(out), *flags], cwd=ROOT,
                                 capture_output=True, text=True, env={**os.environ, "HOME": tmp})
            seconds = time.perf_counter() - start
            if run.returncode != 0:
                raise SystemExit(f"zoo.stylize failed: {run.stderr.strip()[-500:]}")
            with Image.open(out) as im:
                size = im.size
            stylize_seconds = float(re.search(r"\(\d+x\d+, ([\d.]+) s\)", run.stdout).group(1))  # its own figure
            result[name] = {"output_size": f"{size[0]}x{size[1]}", "stylize_seconds": stylize_seconds,
                            "wall_seconds": round(seconds, 1),
                            "peak_rss_mb": round(int(run.stdout.split("peak_kb")[-1]) / 1024)}
            print(name, result[name], flush=True)
        if exact_timing:  # how far the default comes from the exact statistics at this size
            from exporters.validate import psnr

            default, exact = (np.asarray(Image.open(Path(tmp) / f"{n}.png").convert("RGB")) / 255.0
                              for n in ("full_size", "full_size_exact_stats"))
            result["full_size"]["psnr_vs_exact_stats_db"] = round(psnr(exact, default), 2)
        for name in runs:  # the stylization's own time: start-up and reading the JPEG would flatter the ratio
            result[name]["times_max_size_1024"] = round(result[name]["stylize_seconds"] /
                                                        result["max_size_1024"]["stylize_seconds"], 1)
    return result


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("release", type=Path)
    p.add_argument("--style", help="default: the first style")
    p.add_argument("--runtime", choices=("onnx", "tflite"), default="onnx")
    p.add_argument("--photo", type=Path, default=PHOTO)
    p.add_argument("--sizes", default="1536x1024,2400x1600",
                   help="photo sizes WIDTHxHEIGHT of the fidelity table, comma-separated")
    p.add_argument("--phone", type=Path, help="the photo of the timing (default: --photo)")
    p.add_argument("--exact-timing", action="store_true", help="also time --exact-stats on the phone photo (slow)")
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    from zoo.api import open as open_bundle
    from zoo.images import load_rgb
    from zoo.style.model import TILE, stylizer_model

    try:
        sizes = [tuple(int(n) for n in size.split("x")) for size in args.sizes.split(",")]
    except ValueError:
        p.error(f"--sizes takes WIDTHxHEIGHT,..., got {args.sizes!r}")
    model = stylizer_model(open_bundle(args.release, args.runtime, threads=2, low_memory=(TILE,)))
    style = args.style or model.styles[0]
    weights = np.eye(len(model.styles), dtype=np.float32)[model.styles.index(style)]
    photo = load_rgb(args.photo)
    result = {"style": style, "runtime": args.runtime,
              "seams": seams(model, weights, photo, sizes),
              "phone": phone(args.release, style, args.runtime, load_rgb(args.phone or args.photo), args.exact_timing)}
    out = args.out or args.release
    (out / "tiling.json").write_text(json.dumps(result, indent=2) + "\n")
    m = result["phone"]
    lines = ["# Tiled stylization", "", f"Style `{style}`, {args.runtime}. Tiled (as zoo.stylize does above 1 megapixel) "
             "against one pass, with the statistics of a downscaled copy only, with zoo.stylize's default (that "
             "copy, then refining passes over a sample of the tiles) and exact (`--exact-stats`: a pass over every "
             f"tile for each of the {len(model.norm_channels)} layers):", "",
             "| photo | megapixels | statistics | PSNR tiled vs one pass | max difference (0-255) | tiled s | one pass s |",
             "|---|---|---|---|---|---|---|",
             *(f"| {r['size']} | {r['megapixels']} | {r['statistics']} | {r['psnr_tiled_vs_one_pass_db']} dB | "
               f"{r['max_abs_difference']} | {r['tiled_seconds']} | {r['one_pass_seconds']} |" for r in result["seams"]),
             "", f"`python -m zoo.stylize` on a {m['photo']}, 2 threads, each run alone in a fresh process:", "",
             "| run | output | stylize s | times --max-size 1024 | wall s (with start-up) | peak memory MB |",
             "|---|---|---|---|---|---|",
             *(f"| {name} | {r['output_size']} | {r['stylize_seconds']} | {r['times_max_size_1024']} | "
               f"{r['wall_seconds']} | {r['peak_rss_mb']} |"
               for name, r in m.items() if isinstance(r, dict)), "",
             *([f"At full size the default comes {m['full_size']['psnr_vs_exact_stats_db']} dB PSNR from --exact-stats.", ""]
               if "psnr_vs_exact_stats_db" in m["full_size"] else [])]
    (out / "tiling.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
