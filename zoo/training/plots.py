"""Charts a person looks at to judge a run (matplotlib, headless): loss curves, a confusion
matrix, the worst predictions. A model's own pictures live in its file."""

from __future__ import annotations

import io
import math

import numpy as np

from zoo.fileio import write_bytes


def _figure_png(path, fig):
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    write_bytes(path, buf.getvalue())


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def loss_curves_png(path, history):
    """One panel per metric family (loss, accuracy...), its training and validation (val_) curves
    together; a metric measured on the validation split alone (the DCGAN's Fréchet distance) has
    a panel of its own."""
    plt = _pyplot()
    families = []
    for key in history[0]:
        family = key.removeprefix("val_")
        if key not in ("epoch", "seconds", "learning_rate") and family not in families:
            families.append(family)
    fig, axes = plt.subplots(1, len(families), figsize=(4 * len(families), 3.2), squeeze=False)
    epochs = [h["epoch"] for h in history]
    for ax, family in zip(axes[0], families):
        for label, key in (("train", family), ("validation", f"val_{family}")):
            if key in history[0]:
                ax.plot(epochs, [h[key] for h in history], marker="o", ms=3, label=label)
        ax.legend()
        ax.set_title(family)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    _figure_png(path, fig)


def confusion_matrix_png(path, labels, predictions, class_names):
    plt = _pyplot()
    k = len(class_names)
    cm = np.zeros((k, k), np.int64)
    np.add.at(cm, (labels, predictions), 1)
    fig, ax = plt.subplots(figsize=(1 + 0.6 * k, 1 + 0.55 * k))
    ax.imshow(cm, cmap="Blues")
    for i in range(k):
        for j in range(k):
            ax.text(j, i, cm[i, j], ha="center", va="center", fontsize=7,
                    color="white" if cm[i, j] > cm.max() / 2 else "black")
    ax.set_xticks(range(k), class_names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(k), class_names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"confusion matrix (accuracy {np.trace(cm) / cm.sum():.2%})")
    _figure_png(path, fig)


def worst_predictions_png(path, images, labels, logits, class_names, count=24):
    """The test images the classifier is most confidently wrong about (highest loss)."""
    plt = _pyplot()
    z = logits - logits.max(-1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(-1, keepdims=True))
    loss = -log_probs[np.arange(len(labels)), labels]
    worst = np.argsort(-loss)[:count]
    cols = 8
    fig, axes = plt.subplots(math.ceil(len(worst) / cols), cols, figsize=(cols * 1.5, math.ceil(len(worst) / cols) * 1.8))
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, worst):
        ax.imshow(images[i].squeeze(), cmap="gray" if images.shape[-1] == 1 else None, vmin=0, vmax=1)
        pred = int(logits[i].argmax())
        ax.set_title(f"true {class_names[labels[i]]}\npred {class_names[pred]} {np.exp(log_probs[i, pred]):.0%}", fontsize=6)
    _figure_png(path, fig)


def codebook_usage_png(path, history, counts):
    """A VQ-VAE's codebook: its perplexity (the number of codes in use, as exp of the entropy of
    their usage) per epoch, training and validation, and how often each code is chosen in the
    test images, most used first."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2))
    epochs = [h["epoch"] for h in history]
    for label, key in (("train", "perplexity"), ("validation", "val_perplexity")):
        if history and key in history[0]:
            left.plot(epochs, [h[key] for h in history], marker="o", ms=3, label=label)
    left.axhline(len(counts), color="grey", lw=0.8, ls="--", label=f"{len(counts)} codes")
    left.set_title("codebook perplexity")
    left.set_xlabel("epoch")
    left.legend()
    left.grid(alpha=0.3)
    share = np.sort(np.asarray(counts, np.float64))[::-1] / max(1, np.sum(counts))
    right.bar(np.arange(len(share)), share, width=1.0)
    right.set_title(f"code usage on the test images ({int((share > 0).sum())} of {len(share)} used)")
    right.set_xlabel("code, most used first")
    right.set_ylabel("share of positions")
    _figure_png(path, fig)
