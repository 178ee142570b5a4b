"""`python -m exporters.benchmark RUN_DIR`: export (or reuse), validate and time every format, as
`yolo benchmark` does, and save the table as benchmark.md and benchmark.json in the export folder.

Latency is the median of --runs timed calls after --warmup calls, at batch 1 and batch 32, with a
fixed thread count for every runtime (TensorFlow, onnxruntime, LiteRT), printed with the table.
Keras is the model's serving function in a tf.function: the baseline of the speed column. A
format that fails to export or validate is reported as failed and the others still run.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from exporters.__main__ import add_selection_arguments  # noqa: E402
from zoo.errors import ArgumentParser, ZooError, check_at_least, cli  # noqa: E402
from zoo.fileio import write_json, write_text  # noqa: E402
from zoo.log import log, setup  # noqa: E402

BATCH_SIZES = (1, 32)


def latency_ms(runner, inputs, runs, warmup) -> float:
    """Median wall time of one call, in milliseconds."""
    for _ in range(warmup):
        runner(**inputs)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        runner(**inputs)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def batch_of(inputs: dict, size: int) -> dict:
    """The validation inputs repeated or cut to `size` examples."""
    return {k: np.ascontiguousarray(np.resize(v, (size, *v.shape[1:]))) for k, v in inputs.items()}


def task_metric(entry) -> str:
    checks = entry.get("validation", {})
    if "accuracy" in checks:
        return f"accuracy {checks['accuracy']['value']:.2f}%"
    outputs = [o for size in checks.get("outputs", {}).values() for o in size.values()]
    if any("psnr_db" in o for o in outputs):
        return f"PSNR {min(o['psnr_db'] for o in outputs if 'psnr_db' in o):.1f} dB"
    return f"max diff {max(o['max_abs_diff'] for o in outputs):.2g}" if outputs else ""


def benchmark(run_dir, *, formats, quantize, threads, runs, warmup, opset, eval_images, out=None):
    import tensorflow as tf

    # Must happen before TensorFlow runs its first op.
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from exporters.export import export_file, open_runner, start_export
    from exporters.validate import validate
    from exporters.keras_runtime import KerasRunner

    job = start_export(run_dir, formats=formats, quantize=quantize, out=out, opset=opset, check=True,
                       eval_images=eval_images)
    folder, files = job.folder, job.files
    results = []
    for ex in job.loaded.exportables:
        keras_ms = {}
        keras = KerasRunner(ex.serve)
        for b in BATCH_SIZES:
            keras_ms[b] = latency_ms(keras, batch_of(ex.checks[0][0], b), runs, warmup) / b
        metric = f"accuracy {ex.keras_accuracy:.2f}%" if ex.keras_accuracy is not None else "reference"
        results.append({"exportable": ex.name, "format": "keras", "file": "model.keras", "status": "ok",
                        "size_mb": round(job.loaded.run.model_path.stat().st_size / 1e6, 2), "metric": metric,
                        **{f"ms_per_image_b{b}": keras_ms[b] for b in BATCH_SIZES}})
        for fmt in job.rows_of(ex):
            name = job.filename(ex, fmt)
            row = {"exportable": ex.name, "format": fmt.key, "file": name}
            try:
                if name in files:
                    log.info(f"reusing {folder / name}")
                    files[name]["validation"] = validate(name, ex, fmt, open_runner(folder / name))
                    row["status"] = "ok (reused)"
                else:
                    log.info(f"exporting {ex.name} -> {folder / name}")
                    files[name] = export_file(ex, fmt, folder / name, opset=opset, check=True)
                    row["status"] = "ok"
                runner = open_runner(folder / name, threads=threads)
                row.update(size_mb=round(files[name]["size_bytes"] / 1e6, 2), metric=task_metric(files[name]))
                for b in BATCH_SIZES:
                    ms = latency_ms(runner, batch_of(ex.checks[0][0], b), runs, warmup) / b
                    row[f"ms_per_image_b{b}"] = ms
                    row[f"speedup_b{b}"] = keras_ms[b] / ms
            except ZooError as e:
                files.pop(name, None)
                row["status"] = f"failed: {e}"
            results.append(row)
    job.write_manifest()
    return folder, results


def markdown(results, threads, runs, warmup) -> str:
    lines = [f"threads: {threads}; latency: median of {runs} runs after {warmup} warm-up runs; "
             f"speed: Keras (tf.function) ms per image / the format's", "",
             "| model | format | status | size MB | task metric | ms/image b1 | ms/image b32 | images/s b32 "
             "| speed vs Keras b1 | speed vs Keras b32 |",
             "|---|---|---|---:|---|---:|---:|---:|---:|---:|"]
    for r in results:
        def num(key, pattern):
            return pattern.format(r[key]) if key in r else "-"
        ips = f"{1000 / r['ms_per_image_b32']:.0f}" if "ms_per_image_b32" in r else "-"
        lines.append(f"| {r['exportable']} | {r['format']} | {r['status']} | {num('size_mb', '{:.2f}')} | "
                     f"{r.get('metric', '-')} | {num('ms_per_image_b1', '{:.3f}')} | {num('ms_per_image_b32', '{:.3f}')} "
                     f"| {ips} | {num('speedup_b1', '{:.2f}x')} | {num('speedup_b32', '{:.2f}x')} |")
    return "\n".join(lines) + "\n"


@cli
def main(argv=None):
    parser = ArgumentParser(prog="python -m exporters.benchmark", description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", help="run folder; files already in the export folder are reused when unchanged")
    add_selection_arguments(parser)
    parser.add_argument("--threads", type=int, default=min(4, os.cpu_count() or 1), help="CPU threads of every runtime (default: %(default)s)")
    parser.add_argument("--runs", type=int, default=20, help="timed runs per measurement, at least 20 (default: %(default)s)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs first (default: %(default)s)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    check_at_least("runs", args.runs, 20)  # fewer give no stable median
    check_at_least("threads", args.threads)
    check_at_least("warmup", args.warmup, 0)
    setup()
    print(f"benchmarking {args.run_dir} with {args.threads} thread(s)", flush=True)
    folder, results = benchmark(args.run_dir, formats=args.format, quantize=args.quantize, threads=args.threads,
                                runs=args.runs, warmup=args.warmup, opset=args.opset, eval_images=args.eval_images,
                                out=args.out)
    table = markdown(results, args.threads, args.runs, args.warmup)
    write_text(folder / "benchmark.md", table)
    write_json(folder / "benchmark.json", {"threads": args.threads, "runs": args.runs, "warmup": args.warmup,
                                           "batch_sizes": list(BATCH_SIZES), "results": results})
    print(table)
    print(f"saved {folder / 'benchmark.md'} and benchmark.json")
    return 1 if any(r["status"].startswith("failed") for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
