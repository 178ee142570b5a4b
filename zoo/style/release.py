"""The model cards of the style-transfer releases: where their paintings and photos came from and
under which licences, whether the release is an interim one, what a person saw in its pictures,
the figures its benchmark scripts wrote next to it, and each model's own sections (its use, its
paintings, its loss). Each returns Markdown lines for `Recipe.release`, or none when there is
nothing to say."""

from __future__ import annotations

import csv
import shutil
from collections import Counter
from pathlib import Path

from zoo.data.sources import PROVENANCE
from zoo.fileio import read_json
from zoo.style.arbitrary import MIN_STYLE_SIDE, STYLE_ENCODER, TRANSFER
from zoo.style.data import BUILD_COMMAND
from zoo.style.losses import STYLIZER_CONTENT_LAYERS, STYLIZER_STYLE_LAYERS
from zoo.style.pipelines import HOLD_OUT_PAINTINGS_EVERY, split_paintings
from zoo.style.vgg import resolve_weights


def provenance(path) -> dict:
    """The row of `path` in the PROVENANCE.csv of its folder (scripts/build_style_data.py), or {}."""
    table = Path(path).parent / PROVENANCE
    if not table.is_file():
        return {}
    with open(table, newline="", encoding="utf-8") as f:
        return next((row for row in csv.DictReader(f) if row.get("file") == Path(path).name), {})


def painting_row(path, *cells) -> str:
    """A table row of a painting: `cells` first, then title, artist, source and licence."""
    found = provenance(path)
    return "| " + " | ".join([*cells, found.get("title", "?"), found.get("artist", "?"),
                              f"{found.get('package', '?')}: `{found.get('path_in_package', Path(path).name)}`",
                              found.get("licence", "see the source")]) + " |"


def interim_note(config, run_root, run_name) -> list:
    """A warning on top of the card when the run stopped before the epochs its command asked for,
    with the command that finishes it from the released checkpoint. A run under --time-limit asked
    for its time, not its epochs: it is finished."""
    if config.get("time_limit"):
        return []
    command = config.get("command", [])
    planned = int(command[command.index("--epochs") + 1]) if "--epochs" in command[:-1] else config["epochs"]
    done = read_json(Path(run_root) / "metrics.json").get("epochs", planned)
    if done >= planned:
        return []
    return [f"**Interim release: trained {done} of the {planned} epochs of its command.** Training goes on "
            f"from `checkpoint/` (weights and optimizer state): copy this folder to `saved_models/runs/{run_name}` "
            f"and run `python -m zoo.train {config['model']} --resume saved_models/runs/{run_name} "
            f"--epochs {planned}`.", ""]


def photo_sources(source) -> list:
    """The content photos' packages and licences, counted from their folder's PROVENANCE.csv;
    `source` is the run's dataset description, which names the folder."""
    table = Path(source.split("image folder ", 1)[-1].split(" (", 1)[0]) / PROVENANCE
    if not table.is_file():
        return []
    with open(table, newline="", encoding="utf-8") as f:
        counts = Counter((r["package"], r["licence"]) for r in csv.DictReader(f))
    return ["## Content photos", "", f"{source}; per file in `PROVENANCE.csv` of that folder, rebuilt by "
            f"`{BUILD_COMMAND}`:", "", "| package | licence | photos |", "|---|---|---|",
            *(f"| {p} | {lic} | {n} |" for (p, lic), n in sorted(counts.items())), ""]


def looked_at(dest) -> list:
    """LOOKED_AT.md of the release: what a person saw in its pictures at full size."""
    looked = Path(dest) / "LOOKED_AT.md"
    if not looked.is_file():
        return []
    return ["## Looked at", "", *looked.read_text(encoding="utf-8").strip().split("\n"), ""]


def benchmark_figures(dest, benchmarks) -> list:
    """The tables that benchmark scripts wrote into the release as NAME.md (after a title line),
    for each (name, section title, script) of `benchmarks` that was run."""
    lines = []
    for name, title, script in benchmarks:
        figures = Path(dest) / f"{name}.md"
        if figures.is_file():
            lines += [f"## {title}", "", f"From `python scripts/{script} {Path(dest).as_posix()}` "
                      f"(`{name}.md`, `{name}.json`):", "", *figures.read_text(encoding="utf-8").split("\n")[2:], ""]
    return lines


def vgg_weights(config) -> str:
    return f"- VGG19 weights: {resolve_weights(config.get('vgg_weights'))[1]}."


def stylizer_card(config, run_root, dest) -> list:
    """styles/NAME.jpg for every style of the stylizer, and its sections: the paintings'
    provenance, the loss, the photos' sources, the contact sheet, and the benchmark figures if
    they were measured."""
    from PIL import Image

    folder = Path(dest) / "styles"
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, path in zip(config["style_names"], map(Path, config["style_files"])):
        if path.suffix.lower() in (".jpg", ".jpeg"):
            shutil.copy2(path, folder / f"{name}.jpg")
        else:
            Image.open(path).convert("RGB").save(folder / f"{name}.jpg", quality=92)
        rows.append(painting_row(path, f"`{name}`"))
    c = config
    lines = [*interim_note(c, run_root, Path(dest).name),
             "## Styles", "", "`python -m zoo.stylize PHOTO --model DIR --style NAME` (or `NAME:0.7,OTHER:0.3`); "
             "each painting is in `styles/NAME.jpg`.", "",
             "| style | title | artist | source (Debian package: path) | licence |", "|---|---|---|---|---|", *rows, "",
             "## Loss", "",
             f"- Gram style loss at {', '.join(STYLIZER_STYLE_LAYERS)} (weight {c['style_weight']:g}) against each "
             f"painting scaled to {c['style_size']} px on its longer side; content loss at "
             f"{', '.join(STYLIZER_CONTENT_LAYERS)} (weight {c['content_weight']:g}); total variation "
             f"(weight {c['tv_weight']:g}). Random {c['crop_size']} px crops of the photos, each with a random "
             f"painting, batch {c['batch_size']}, Adam.", vgg_weights(c), "",
             *photo_sources((c.get("dataset_info") or {}).get("source", ""))]
    if (Path(run_root) / "images" / "contact_sheet.jpg").is_file():
        lines += ["## Contact sheet", "", "Held-out photos (never trained on) in every style:", "",
                  "![contact sheet](images/contact_sheet.jpg)", ""]
    return lines + looked_at(dest) + benchmark_figures(
        dest, (("benchmark", "Quality and speed", "benchmark_stylizer_vs_peer.py"),
               ("tiling", "Big photos in tiles", "benchmark_tiling.py"),
               ("grid", "Grid texture", "benchmark_grid.py")))


def arbitrary_use(config, run_root, dest, statistics: str) -> list:
    """An arbitrary-style release's first sections: the interim warning, and how to use it;
    `statistics` says what its style encoder gives."""
    where = Path(dest).as_posix()
    return [*interim_note(config, run_root, Path(dest).name),
            "## Use", "", "```",
            f"python -m zoo.stylize PHOTO --model {where} --style PAINTING.jpg [--strength 0.7] [--preserve-color]",
            f"python -m zoo.stylize PHOTO --model {where} --style a.jpg:0.5,b.jpg:0.5   "
            "# two paintings' statistics, blended",
            "```", "",
            f"Any painting with sides of at least {MIN_STYLE_SIDE} pixels. The exports are a `{STYLE_ENCODER}` "
            f"(painting -> {statistics}, once per painting) and a `{TRANSFER}` network "
            f"(photo + {statistics} + alpha -> stylized photo); `export/manifest.json` says how they connect.", ""]


def example_paintings(dest, paths) -> None:
    """styles/ of an arbitrary-style release: held-out paintings (`paths`) with their rows of
    PROVENANCE.csv, which its web page offers as examples and `scripts/benchmark_grid.py` stylizes."""
    folder = Path(dest) / "styles"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rows = []
    for path in map(Path, paths):
        shutil.copy2(path, folder / path.name)
        rows.append(provenance(path) or {"file": path.name})
    with open(folder / PROVENANCE, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(dict.fromkeys(k for row in rows for k in row)))
        writer.writeheader()
        writer.writerows(rows)


def held_out_pairs(run_root, dest) -> list:
    """The run's last picture of held-out photos in held-out styles, copied into the release."""
    grids = sorted((Path(run_root) / "images").glob("stylized-epoch-*.png"))
    if not grids:
        return []
    (Path(dest) / "images").mkdir(parents=True, exist_ok=True)
    if Path(dest).resolve() != Path(run_root).resolve():
        shutil.copy2(grids[-1], Path(dest) / "images" / grids[-1].name)
    return ["## Held-out pairs", "", "Held-out photos (rows) in the style of held-out paintings (columns), "
            "after the last epoch:", "", f"![held-out pairs](images/{grids[-1].name})", ""]


def style_corpus(folder: Path, train: list, held: list) -> list:
    """A style corpus: the held-out images one by one, the training images counted by package
    and licence (every file's row is in the folder's PROVENANCE.csv)."""
    counts = Counter((row.get("package", "?"), row.get("licence", "see the source")) for row in map(provenance, train))
    return ["## Style images", "",
            f"{len(train)} style images trained on and {len(held)} held out (never seen in training), from {folder}, "
            f"rebuilt by `{BUILD_COMMAND} --styles`; every file's package, path and licence are in its "
            "`PROVENANCE.csv`. Held out:", "",
            "| file | title | artist | source (Debian package: path) | licence |", "|---|---|---|---|---|",
            *(painting_row(p, f"`{Path(p).name}`") for p in held), "",
            "Trained on:", "", "| package | licence | images |", "|---|---|---|",
            *(f"| {package} | {licence} | {n} |" for (package, licence), n in sorted(counts.items())), ""]


def arbitrary_benchmarks(dest) -> list:
    return benchmark_figures(dest, (("benchmark", "Quality and speed", "benchmark_arbitrary_vs_peer.py"),
                                    ("grid", "Grid texture", "benchmark_grid.py")))


def adain_card(config, run_root, dest, statistics: int) -> list:
    """AdaIN's sections: how to use it, which paintings it trained on and which it never saw
    (with their provenance), the loss, the photos' sources, the last held-out grid, and the
    benchmark figures if they were measured. `statistics`: the style encoder's output size."""
    c = config
    lines = arbitrary_use(c, run_root, dest, f"{statistics} statistics")
    styles = Path(c["styles"])
    if styles.is_dir():
        train, held = split_paintings(styles)
        example_paintings(dest, held)
        lines += ["## Paintings", "",
                  f"{len(train)} paintings trained on and {len(held)} held out (every {HOLD_OUT_PAINTINGS_EVERY}th "
                  f"in name order, never seen in training), from {styles}, rebuilt by `{BUILD_COMMAND}`:",
                  "", "| split | file | title | artist | source (Debian package: path) | licence |",
                  "|---|---|---|---|---|---|",
                  *(painting_row(p, split, f"`{Path(p).name}`")
                    for split, paths in (("train", train), ("held out", held)) for p in paths), ""]
    lines += ["## Loss", "",
              f"- Content loss at {STYLIZER_CONTENT_LAYERS[0]} against the AdaIN target, style loss on the means and "
              f"standard deviations of {', '.join(STYLIZER_STYLE_LAYERS)} (weight {c['style_weight']:g}), on VGG19 "
              "features divided by each layer's mean activation (the paper's normalised network). Random "
              f"{c['crop_size']} px crops of photos resized to {2 * c['crop_size']} px, each with a random "
              f"painting, batch {c['batch_size']}, Adam at {c['learning_rate']:g}; decoder widths {c['widths']}.",
              vgg_weights(c), "", *photo_sources((c.get("dataset_info") or {}).get("source", ""))]
    return lines + held_out_pairs(run_root, dest) + looked_at(dest) + arbitrary_benchmarks(dest)
