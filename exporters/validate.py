"""Check an exported file against the Keras model it came from, as Hugging Face optimum does:
the same output names, then the same shapes, then values within the format's tolerance; then
the task metric (classifier accuracy, PSNR of generated images), which is what tells whether a
quantized file is still the same model. Every failure names the file, the output and by how much.
"""

from __future__ import annotations

import numpy as np

from zoo.errors import ZooError
from zoo.names import LOGITS


class ValidationError(ZooError):
    """An exported file does not reproduce the Keras model closely enough."""


def compare(label, reference: dict, got: dict, tolerance: float, outliers: float = 0.0) -> dict:
    """Max |got - reference| per output, allowed up to `tolerance` x the range of the reference;
    for image outputs ([B, H, W, C]), on all but the `outliers` fraction of their values."""
    if sorted(got) != sorted(reference):
        raise ValidationError(f"{label}: outputs {sorted(got)} but Keras has {sorted(reference)}")
    report = {}
    for name, ref in reference.items():
        out = got[name]
        if out.shape != ref.shape:
            raise ValidationError(f"{label}: output {name!r} has shape {out.shape}, Keras {ref.shape}")
        spread = float(ref.max() - ref.min()) or max(float(np.abs(ref).max()), 1.0)
        error = np.abs(out - ref)
        diff, allowed = float(error.max()), tolerance * spread
        some_beyond = bool(outliers) and ref.ndim == 4
        held = float(np.quantile(error, 1 - outliers)) if some_beyond else diff
        if not held <= allowed:  # also catches NaN
            beyond = f" on all but {outliers:g} of its values" if some_beyond else ""
            raise ValidationError(f"{label}: output {name!r} differs from Keras by up to {held:.3g}{beyond} "
                                  f"(allowed {allowed:.3g} = {tolerance:g} x its range {spread:.3g})")
        report[name] = {"max_abs_diff": diff, "allowed": allowed,
                        **({"outliers": outliers, "held_abs_diff": held} if some_beyond else {})}
    return report


def psnr(reference, got) -> float:
    """Peak signal-to-noise ratio in dB for images in [0, 1] (capped at 100 dB for identical ones)."""
    mse = float(np.mean((np.asarray(got, np.float64) - reference) ** 2))
    return 100.0 if mse < 1e-10 else float(10 * np.log10(1.0 / mse))


def accuracy(runner, images, labels, output=LOGITS, batch_size=100) -> float:
    """Top-1 accuracy in per cent of `runner` on `images`."""
    input_name = runner.inputs[0].name
    hits = sum(int((runner(**{input_name: images[i:i + batch_size]})[output].argmax(-1) == labels[i:i + batch_size]).sum())
               for i in range(0, len(images), batch_size))
    return 100.0 * hits / len(images)


def validate(label, exportable, fmt, runner) -> dict:
    """Run every check of `fmt` on `runner` (an opened export); return the measured figures."""
    report = {"tolerance": fmt.tolerance, "min_psnr_db": fmt.min_psnr}
    for inputs, reference in exportable.checks:
        got = runner(**inputs)
        size = "x".join(map(str, next(iter(inputs.values())).shape))
        outputs = compare(f"{label} (input {size})", reference, got, fmt.tolerance, fmt.outliers)
        for name, ref in reference.items():
            if ref.ndim == 4:  # image outputs: generators, decoders, image-to-image models
                value = psnr(ref, got[name])
                if value < fmt.min_psnr:
                    raise ValidationError(f"{label}: output {name!r} has PSNR {value:.1f} dB against Keras "
                                          f"for input {size} (at least {fmt.min_psnr:g} dB required)")
                outputs[name]["psnr_db"] = round(value, 2)
        report.setdefault("outputs", {})[size] = outputs
    if exportable.eval_labels is not None:
        acc = accuracy(runner, exportable.eval_images, exportable.eval_labels)
        drop = exportable.keras_accuracy - acc
        report["accuracy"] = {"value": acc, "keras": exportable.keras_accuracy, "images": len(exportable.eval_labels)}
        if abs(drop) > fmt.max_accuracy_drop:
            raise ValidationError(f"{label}: test accuracy {acc:.2f}% vs Keras {exportable.keras_accuracy:.2f}% "
                                  f"on {len(exportable.eval_labels)} images (at most {fmt.max_accuracy_drop:g} "
                                  "points of difference allowed)")
    return report
