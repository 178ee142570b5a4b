"""The stylizer in the browser against Python, side by side: one 512x512 photo through the same
ONNX file in headless Chromium (onnxruntime-web, WebAssembly, 2 threads, the page served
cross-origin isolated by zoo.serve) and in Python's onnxruntime (2 threads), alternating, and
the page's download size.

    python scripts/benchmark_web.py [--model stylizer-paintings] [--runs 7] [--out scripts/benchmark_web.md]

Writes the table (medians, and the ratio of the medians) to --out, the raw times to the .json
beside it, and a screenshot of the page to the .png beside it. Chromium is Debian's
(`apt-get install chromium`, or $ZOO_CHROMIUM).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from exporters import web  # noqa: E402
from zoo.training.runs import locate  # noqa: E402
from zoo.deploy.runtime import load  # noqa: E402
from zoo.serve import make_server  # noqa: E402

SIDE = 512
THREADS = 2
CHROMIUM = os.environ.get("ZOO_CHROMIUM", "/usr/bin/chromium")


def photo(path: Path) -> Path:
    """A real photo (scikit-image's astronaut) at 512x512, as PNG."""
    import skimage

    with Image.open(Path(skimage.__file__).parent / "data" / "astronaut.png") as im:
        im.convert("RGB").resize((SIDE, SIDE), Image.LANCZOS).save(path)
    return path


def gzip_size(folder: Path, names) -> int:
    return sum(len(gzip.compress((folder / n).read_bytes(), 6)) for n in names)


def sizes(folder: Path) -> dict:
    manifest = json.loads((folder / "manifest.json").read_text())
    return {"wasm_bytes": web.download_size(folder, "wasm"), "webgpu_bytes": web.download_size(folder, "webgpu"),
            "wasm_gzip_bytes": gzip_size(folder, web.page_files(folder, "wasm")),
            "model_files": {n: e["size_bytes"] for n, e in manifest["files"].items()},
            "folder_bytes": sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="stylizer-paintings")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--out", type=Path, default=ROOT / "scripts" / "benchmark_web.md")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        folder = web.build(locate(args.model), tmp / args.model)
        manifest = json.loads((folder / "manifest.json").read_text())
        network = manifest["page"]["networks"]["transfer"]
        styles = manifest["page"]["styles"]
        image = photo(tmp / "astronaut.png")
        runner = load(folder / network, threads=THREADS)
        x = np.asarray(Image.open(image), np.float32)[None] / 255.0
        server = make_server(tmp, 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/{args.model}/index.html?threads={THREADS}"
        times = {"browser_network_ms": [], "browser_click_to_done_ms": [], "python_ms": []}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu",
                                                                       "--disable-background-networking"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url)
            page.wait_for_function("() => window.zoo.ready", timeout=120_000)
            # The browser's own count of bytes over the wire (headers and encoded bodies), page included.
            fetched = page.evaluate("""() => performance.getEntriesByType('navigation').concat(
                performance.getEntriesByType('resource')).reduce((sum, e) => sum + e.transferSize, 0)""")
            backend = page.inner_text("#backend")
            page.set_input_files("#photo", image)
            page.wait_for_function("() => document.getElementById('status').textContent.startsWith('photo ready')")
            for i in range(args.runs + 1):  # the first of each side warms up and is not counted
                weights = np.eye(len(styles), dtype=np.float32)[i % len(styles)][None]
                page.select_option("#style", styles[i % len(styles)])  # a new style: the network runs again
                start = time.perf_counter()
                page.click("#run")
                page.wait_for_function("() => ['done', 'error'].some(s => document.getElementById('status').textContent.startsWith(s))",
                                       timeout=300_000)
                click_ms = 1000 * (time.perf_counter() - start)
                assert page.inner_text("#status") == "done", page.inner_text("#status")
                network_ms = page.evaluate("window.zoo.ms")
                start = time.perf_counter()
                runner(image=x, style_weights=weights)
                python_ms = 1000 * (time.perf_counter() - start)
                if i:
                    times["browser_network_ms"].append(network_ms)
                    times["browser_click_to_done_ms"].append(click_ms)
                    times["python_ms"].append(python_ms)
            page.screenshot(path=args.out.with_suffix(".png"))
            version = browser.version
            browser.close()
        server.shutdown()
        server.server_close()
        medians = {k: statistics.median(v) for k, v in times.items()}
        result = {"model": args.model, "network": network, "photo": f"{SIDE}x{SIDE}", "threads": THREADS,
                  "backend": backend, "chromium": version, "onnxruntime_web": manifest["onnxruntime_web"],
                  "machine": f"{platform.machine()}, {os.cpu_count()} cores", "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                  "runs": args.runs, "times": times, "fetched_bytes_until_ready": fetched, "medians_ms": medians,
                  "ratio_browser_to_python": medians["browser_network_ms"] / medians["python_ms"], "sizes": sizes(folder)}
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    s = result["sizes"]
    table = [
        f"# The {args.model} page against Python ({result['date']})",
        "",
        f"`python scripts/benchmark_web.py --model {args.model} --runs {args.runs}`: one {SIDE}x{SIDE} photo through "
        f"`{network}`, {args.runs} runs a side after one warm-up each, alternating, on {result['machine']}; "
        f"Chromium {version} headless ({backend}), onnxruntime-web {result['onnxruntime_web']}.",
        "",
        "| side | median | runs (ms) |",
        "|---|---|---|",
        f"| page: network (`session.run`) | {medians['browser_network_ms']:.0f} ms | "
        f"{', '.join(f'{t:.0f}' for t in times['browser_network_ms'])} |",
        f"| page: click to picture (pre- and post-processing, drawing) | {medians['browser_click_to_done_ms']:.0f} ms | "
        f"{', '.join(f'{t:.0f}' for t in times['browser_click_to_done_ms'])} |",
        f"| Python onnxruntime, {THREADS} threads | {medians['python_ms']:.0f} ms | "
        f"{', '.join(f'{t:.0f}' for t in times['python_ms'])} |",
        "",
        f"Page network time / Python: **{result['ratio_browser_to_python']:.2f}x** (target: at most 2x).",
        "",
        f"Download of the page with its runtime, as Chromium fetched it from `zoo.serve` (gzip) until the page was "
        f"ready: **{result['fetched_bytes_until_ready'] / 1e6:.1f} MB**; its files: {s['wasm_bytes'] / 1e6:.1f} MB "
        f"on WebAssembly ({s['wasm_gzip_bytes'] / 1e6:.1f} MB gzip-compressed), {s['webgpu_bytes'] / 1e6:.1f} MB on WebGPU; "
        f"the model: {', '.join(f'`{n}` {b / 1e6:.2f} MB' for n, b in s['model_files'].items())}; "
        f"the whole folder, both runtimes: {s['folder_bytes'] / 1e6:.1f} MB.",
        "",
    ]
    args.out.write_text("\n".join(table))
    print("\n".join(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
