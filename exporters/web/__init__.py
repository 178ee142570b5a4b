"""The web export: a static folder that runs a model in the browser with onnxruntime-web.

    python -m exporters RUN_OR_RELEASED_DIR --format web [--out DIR]

The folder holds `index.html` (one page per task: stylizer, arbitrary-style, generator,
classifier), the pages' JavaScript and the one stylesheet, the smallest validated ONNX file of
each network the page runs, the style images where the model has them, onnxruntime-web's
JavaScript and WebAssembly files (from the npm package pinned in the project's package.json:
`npm ci`), and `manifest.json`: the export manifest's entries for the model files, a "page"
section the JavaScript reads (networks, tensor names, sizes, styles), and the sha256 of every
other file. `index.html` carries the manifest's sha256, so the page checks everything it loads.
The model files keep their names and manifest entries, so Python runs the very same files
(`python -m zoo.stylize PHOTO --model DIR/stylizer_dynamic_int8.onnx`).

Nothing here imports TensorFlow: the folder is packaged from an export folder whose ONNX files
were already validated against Keras.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import string
from pathlib import Path

from zoo.errors import ZooError
from zoo.fileio import atomic_dir, read_json, write_json, write_text
from zoo.deploy.runtime import export_folder, manifest_files, read_manifest
from zoo.fileio import sha256
from zoo.names import CLASSIFIER, CODES, DECODER, GENERATOR, LOGITS, MANIFEST, PRIOR, PROBABILITIES, TRUNCATION, Task
from zoo.style.arbitrary import ALPHA, MIN_STYLE_SIDE, MULTIPLE as ARBITRARY_MULTIPLE, STYLE_ENCODER, STYLE_IMAGE
from zoo.style.arbitrary import STYLE_SIDE, STYLE_STATS, TRANSFER
from zoo.style.tiling import IMAGE, MULTIPLE as STYLIZER_MULTIPLE, STYLE_WEIGHTS, STYLIZED

WEB = "web"  # its name in python -m exporters --format
PAGE_DIR = Path(__file__).with_name("page")
PROJECT_ROOT = Path(__file__).resolve().parents[2]
ORT_PACKAGE = "onnxruntime-web"
ORT_ENV = "ZOO_ORT_WEB_DIR"  # onnxruntime-web's dist/ folder, where it is not in the project's node_modules
# The runtime each backend loads: its module, the module's WebAssembly glue, and the binary.
RUNTIME = {
    "wasm": ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"),
    "webgpu": ("ort.webgpu.min.mjs", "ort-wasm-simd-threaded.asyncify.mjs", "ort-wasm-simd-threaded.asyncify.wasm"),
}
MAX_SIDE = 512  # the pages' default longer side of a photo (python -m zoo.stylize --max-size 512 matches)
THUMBNAIL_SIDE = 256  # style pictures shown beside a multi-style stylizer's names


@dataclasses.dataclass(frozen=True)
class Page:
    """A kind of page: its script (page/SCRIPT.js, with its controls and output in
    page/SCRIPT-controls.html and page/SCRIPT-output.html, set in page/page.html), what it says,
    {role in the script: exportable}, and the ONNX variants it may run (the manifest's
    quantizations): the smallest validated one goes into the folder."""

    script: str
    description: str
    networks: dict
    quantizations: tuple = ("float32", "fp16", "dynamic")


# A seed's samples must be zoo.generate's to 1e-3, and zoo.generate runs the float32 files.
# onnxruntime-web rounds the activations of the fp16 and int8 files otherwise than onnxruntime
# does, by more than that (the StyleGAN's fp16 generator, the DCGAN's dynamic int8 one).
EXACT = ("float32",)


PAGES = {
    "stylizer": Page("stylize", "Pick a photo and a style (or a blend of two): the stylizer paints it in your browser.",
                     {"transfer": "stylizer"}),
    "arbitrary": Page("stylize", "Pick a photo and any painting: the model gives the photo the painting's style, in "
                      "your browser.", {"style": STYLE_ENCODER, "transfer": TRANSFER}),
    "generator": Page("generate", "A grid of samples drawn from a seed, in your browser.", {"generator": GENERATOR},
                      EXACT),
    "vae": Page("generate", "A grid of samples drawn from a seed, and a walk between two of them, in your browser.",
                {"generator": DECODER}, EXACT),
    # (and in fp16 the prior's logits may pick another code where a draw falls between two codes'
    # cumulative probabilities)
    "vqvae": Page("generate", "A grid of samples from a seed: the PixelCNN prior draws each image's codes one "
                  "position at a time, the decoder paints them, in your browser.",
                  {"prior": PRIOR, "generator": DECODER}, EXACT),
    "classifier": Page("classify", "Upload or draw an image: the network's three likeliest classes, in your browser.",
                       {"classifier": CLASSIFIER}),
}


def page_kind(manifest: dict) -> str:
    """Which page an export gets, from what its manifest says."""
    task, exportables = manifest.get("task"), manifest.get("exportables", {})
    if task == Task.CLASSIFIER:
        return "classifier"
    if task == Task.GAN:
        return "generator"
    if task == Task.VAE:
        return "vae"
    if task == Task.VQ_VAE:
        return "vqvae"
    if task == Task.IMAGE_TO_IMAGE and "styles" in manifest:
        return "stylizer"
    if task == Task.IMAGE_TO_IMAGE and STYLE_ENCODER in exportables:
        return "arbitrary"
    raise ZooError(f"no web page for a {manifest.get('model')} model (task {task!r}); pages exist for "
                   f"{', '.join(PAGES)}")


def smallest_onnx(manifest: dict, exportable: str, folder: Path, quantizations=Page.quantizations) -> str:
    """The smallest ONNX file of `exportable` in one of `quantizations` that passed its parity
    check against Keras, a dynamic int8 file only where it is at most half the size of the
    smallest float one: its integer convolutions run several times slower than float32 on
    WebAssembly (as on CPUs), a price worth paying for VGG19's 28 MB, not for a small network."""
    candidates = [(entry["size_bytes"], entry.get("quantization") == "dynamic", name)
                  for name, entry in manifest_files(manifest, exportable, "onnx", quantizations).items()
                  if entry.get("validation", {}).get("outputs")]
    if not candidates:
        raise ZooError(f"{folder} has no validated ONNX file of {exportable!r}; export it first: "
                       f"python -m exporters RUN_DIR --format onnx")
    floats = [size for size, int8, _ in candidates if not int8]
    worth_it = [c for c in candidates if not c[1] or not floats or 2 * c[0] <= min(floats)]
    return min(worth_it)[2]


def has_validated_onnx(source) -> bool:
    """Whether the export of `source` holds every ONNX file its page needs."""
    try:
        manifest = read_manifest(export_folder(source))
        page = PAGES[page_kind(manifest)]
        for exportable in page.networks.values():
            smallest_onnx(manifest, exportable, Path(source), page.quantizations)
    except ZooError:
        return False
    return True


def onnxruntime_web(dist: Path | None = None) -> tuple[Path, str]:
    """onnxruntime-web's dist/ folder and version: `dist`, $ZOO_ORT_WEB_DIR, or the project's
    node_modules (npm ci), and the version must be package.json's pin."""
    pinned = json.loads((PROJECT_ROOT / "package.json").read_text())["dependencies"][ORT_PACKAGE] \
        if (PROJECT_ROOT / "package.json").is_file() else None
    dist = Path(dist or os.environ.get(ORT_ENV) or PROJECT_ROOT / "node_modules" / ORT_PACKAGE / "dist")
    package = dist.parent / "package.json"
    missing = [f for files in RUNTIME.values() for f in files if not (dist / f).is_file()]
    if missing or not package.is_file():
        raise ZooError(f"onnxruntime-web is not in {dist}: run `npm ci` in {PROJECT_ROOT} (it installs the version "
                       f"pinned in package.json), or set {ORT_ENV} to its dist/ folder")
    version = json.loads(package.read_text())["version"]
    if pinned and version != pinned:
        raise ZooError(f"{dist} holds onnxruntime-web {version}, but package.json pins {pinned}: run `npm ci`")
    return dist, version


def _copy(src: Path, dest: Path):
    """Hard-link where possible (the runtime is the same 44 MB in every page), else copy."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dest)
    except OSError:
        shutil.copy2(src, dest)


def _style_pictures(source: Path, names, side: int, dest: Path) -> list:
    """[{name, path}] of the pictures in `source`/styles/ (those of `names` where given), written
    to `dest`/styles/ as JPEGs at most `side` pixels long."""
    from PIL import Image, ImageOps

    folder = source / "styles"
    if not folder.is_dir():
        return []
    files = {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp")}
    pictures = []
    for stem in (names if names is not None else files):
        if stem not in files:
            continue
        with Image.open(files[stem]) as im:
            im = ImageOps.exif_transpose(im).convert("RGB")
            im.thumbnail((side, side), Image.LANCZOS)
            (dest / "styles").mkdir(exist_ok=True)
            im.save(dest / "styles" / f"{stem}.jpg", quality=90)
        pictures.append({"name": stem, "path": f"styles/{stem}.jpg"})
    return pictures


def _tensor_names(entry: dict) -> tuple[dict, dict]:
    return {t["name"]: t for t in entry["inputs"]}, {t["name"]: t for t in entry["outputs"]}


def page_config(kind: str, manifest: dict, networks: dict, source: Path, dest: Path, title: str) -> dict:
    """The "page" section of the web manifest: everything the page's JavaScript reads."""
    config = {"kind": kind, "title": title, "model": manifest.get("model"), "networks": networks,
              "runtime": {backend: {"module": f"ort/{module}", "wasm": f"ort/{binary}"}
                          for backend, (module, _, binary) in RUNTIME.items()}}
    files = manifest["files"]
    if kind in ("stylizer", "arbitrary"):
        config.update(max_side=MAX_SIDE, outputs={"stylized": STYLIZED})
    if kind == "stylizer":
        config.update(multiple=STYLIZER_MULTIPLE, styles=manifest["styles"],
                      inputs={"image": IMAGE, "style_weights": STYLE_WEIGHTS},
                      examples=_style_pictures(source, manifest["styles"], THUMBNAIL_SIDE, dest))
    elif kind == "arbitrary":
        config.update(multiple=manifest.get("image_multiple", ARBITRARY_MULTIPLE), style_side=STYLE_SIDE,
                      min_style_side=manifest.get("min_style_side", MIN_STYLE_SIDE),
                      inputs={"image": IMAGE, "style_image": STYLE_IMAGE, "style_stats": STYLE_STATS, "alpha": ALPHA},
                      outputs={"stylized": STYLIZED, "style_stats": STYLE_STATS},
                      examples=_style_pictures(source, None, STYLE_SIDE, dest))
    elif kind in ("generator", "vae"):
        inputs, outputs = _tensor_names(files[networks["generator"]])
        truncation = inputs.pop(TRUNCATION, None)  # a StyleGAN's psi: the page's psi field
        (latent,) = inputs.values()
        image = next(t for t in outputs.values() if len(t["shape"]) == 4)
        config.update(latent_dim=latent["shape"][1], inputs={"latent": latent["name"]},
                      outputs={"image": image["name"]}, walk=kind == "vae", truncation=truncation is not None)
        if truncation is not None:
            config["inputs"]["truncation"] = truncation["name"]
    elif kind == "vqvae":
        config.update(grid=manifest["code_grid"], num_codes=manifest["num_codes"], inputs={"codes": CODES},
                      outputs={"image": IMAGE, "logits": LOGITS}, walk=False)
    elif kind == "classifier":
        inputs, outputs = _tensor_names(files[networks["classifier"]])
        (image,) = inputs.values()
        if PROBABILITIES not in outputs:
            raise ZooError(f"{networks['classifier']} has no {PROBABILITIES!r} output; export the model again")
        config.update(input_shape=[1, *image["shape"][1:]], inputs={"image": image["name"]},
                      outputs={"probabilities": PROBABILITIES}, class_names=manifest.get("class_names"))
    return config


def _fragment(name: str, **values) -> str:
    return string.Template((PAGE_DIR / name).read_text(encoding="utf-8")).substitute(values)


def index_html(kind: str, **values) -> str:
    """The page of `kind`: page.html around the script's controls and output (a stylizer's style
    controls are its kind's: names for a multi-style stylizer, paintings for an arbitrary one)."""
    script = PAGES[kind].script
    styles = _fragment(f"{kind}-styles.html") if script == "stylize" else ""
    return _fragment("page.html", script=script, controls=_fragment(f"{script}-controls.html", styles=styles, **values),
                     output=_fragment(f"{script}-output.html", **values), **values)


def build(source, out=None, home: str | None = None, ort_dist=None) -> Path:
    """Write the web folder of the model at `source` (a run or released folder with an export,
    or an export folder) to `out` (default: SOURCE/web), atomically. `home`: a link back to a
    gallery's index. Returns the folder."""
    source = Path(source)
    folder = export_folder(source)
    manifest = read_manifest(folder)
    kind = page_kind(manifest)
    page = PAGES[kind]
    dist, ort_version = onnxruntime_web(ort_dist)
    networks = {role: smallest_onnx(manifest, exportable, folder, page.quantizations)
                for role, exportable in page.networks.items()}
    model_root = folder.parent if folder.name == "export" else folder
    title = model_root.name if (model_root / "config.json").is_file() else manifest.get("model", "model")
    out = Path(out) if out else model_root / "web"
    if out.resolve() == folder.resolve():
        raise ZooError(f"--out {out} is the export folder itself; give another folder for the web page")
    with atomic_dir(out) as tmp:
        for name in networks.values():
            if sha256(folder / name) != manifest["files"][name]["sha256"]:
                raise ZooError(f"{folder / name} does not match its manifest.json entry; export the model again")
            _copy(folder / name, tmp / name)
        for name in (f for files in RUNTIME.values() for f in files):
            _copy(dist / name, tmp / "ort" / name)
        for name in ("zoo.js", f"{page.script}.js", "style.css"):
            shutil.copy2(PAGE_DIR / name, tmp / name)
        config = page_config(kind, manifest, networks, model_root, tmp, title)
        web_files = {p.relative_to(tmp).as_posix(): {"sha256": sha256(p), "size_bytes": p.stat().st_size}
                     for p in sorted(tmp.rglob("*")) if p.is_file() and p.name not in networks.values()}
        web_manifest = {key: value for key, value in manifest.items() if key not in ("files", "exportables")}
        web_manifest.update(
            files={name: manifest["files"][name] for name in networks.values()},
            exportables={manifest["files"][name]["exportable"]: [name] for name in networks.values()},
            page=config, web_files=web_files, onnxruntime_web=ort_version)
        write_json(tmp / MANIFEST, web_manifest)
        footer = (f"Runs in this browser with onnxruntime-web {ort_version}: nothing leaves the page. Exported by "
                  f"keras-zoo from {manifest.get('model')} ({', '.join(networks.values())}).")
        write_text(tmp / "index.html", index_html(
            kind, title=title, description=page.description, manifest_sha256=sha256(tmp / MANIFEST), home=home or "",
            home_label="All models" if home else "", max_side=MAX_SIDE, model_ref=title, footer=footer))
    return out


def page_files(folder, backend: str = "wasm") -> list[str]:
    """The files (relative to `folder`) a browser fetches to open the page on `backend` ("wasm"
    or "webgpu"): every file but the other backend's runtime (style pictures included, though a
    page fetches only those it shows)."""
    folder = Path(folder)
    manifest = read_json(folder / MANIFEST)
    other = {f"ort/{f}" for b, files in RUNTIME.items() if b != backend for f in files} - \
        {f"ort/{f}" for f in RUNTIME[backend]}
    return [n for n in manifest["web_files"] if n not in other] + list(manifest["files"]) + [MANIFEST, "index.html"]


def download_size(folder, backend: str = "wasm") -> int:
    """Bytes of `page_files` before any transfer encoding."""
    return sum((Path(folder) / name).stat().st_size for name in page_files(folder, backend))
