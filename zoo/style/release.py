"""Model-card sections that the style-transfer releases share (the stylizer's and AdaIN's): where
their paintings and photos came from and under which licences, whether the release is an interim
one, what a person saw in its pictures, and the figures its benchmark scripts wrote next to it.
Each returns Markdown lines for `Recipe.release`, or none when there is nothing to say."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from zoo.data.sources import PROVENANCE
from zoo.fileio import read_json
from zoo.style.data import BUILD_COMMAND


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
