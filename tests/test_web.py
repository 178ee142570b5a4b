"""The web export in a real browser: every released model's page, built by `python -m zoo.serve`
(exporters.web), opened in headless Chromium (Debian's `chromium`, driven by Playwright) from a
local server with every request outside it refused, run on fixed inputs and compared with
Python onnxruntime on the same files: the page's test contract (#status, #backend, #result and
the controls of each kind) is what the tests touch. Bad input must end in a readable `error:`
in #status, never in a blank page or an unexplained console error.

Screenshots of every page go to $ZOO_WEB_SCREENSHOTS (default: the test's temporary folder).
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import ROOT, SKIMAGE_DATA, error_line, run_cli

import playwright.sync_api as playwright  # noqa: E402 (the [dev] extra installs it)

CHROMIUM = os.environ.get("ZOO_CHROMIUM", "/usr/bin/chromium")
RELEASED = ROOT / "saved_models"
SHARED_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"]
# Console messages the page cannot avoid, each with its reason.
EXPLAINED = {
    "No available adapters.": "Chromium's WebGPU finds no GPU here; the page then runs on WebAssembly",
}


def psnr(a, b) -> float:
    mse = np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)
    return 100.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from zoo.serve import build_site

    folder, failures = build_site(tmp_path_factory.mktemp("web") / "site")
    assert not failures, failures
    return folder


@pytest.fixture(scope="module")
def server(site):
    from zoo.serve import make_server

    httpd = make_server(site, 0)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def chromium():
    """Launches Debian's Chromium: chromium(*extra_flags)."""
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install chromium (or set ZOO_CHROMIUM)")
    with playwright.sync_playwright() as p:
        yield lambda *flags: p.chromium.launch(executable_path=CHROMIUM, args=[*SHARED_FLAGS, *flags])


@pytest.fixture(scope="module")
def browser(chromium):
    b = chromium()
    yield b
    b.close()


@pytest.fixture
def screenshots(tmp_path):
    folder = Path(os.environ.get("ZOO_WEB_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Page:
    """One page in a fresh browser context, offline but for the local server, its console kept."""

    def __init__(self, browser, server, path):
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.messages = []
        self.page.on("console", lambda m: self.messages.append((m.type, m.text)))
        self.page.on("pageerror", lambda e: self.messages.append(("pageerror", str(e))))
        self.context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(server)
                           else route.abort())
        self.page.goto(f"{server}/{path}")

    def status(self) -> str:
        return self.page.inner_text("#status")

    def wait(self, *prefixes, timeout=300):
        """Wait until #status starts with one of `prefixes` or with 'error:'; return it."""
        self.page.wait_for_function(
            "prefixes => { const s = document.getElementById('status').textContent;"
            " return prefixes.some(p => s.startsWith(p)) || s.startsWith('error:'); }",
            arg=list(prefixes), timeout=timeout * 1000)
        return self.status()

    def ready(self):
        assert self.wait("ready") == "ready", self.status()
        return self

    def run(self, timeout=300):
        self.page.click("#run")
        status = self.wait("done", timeout=timeout)
        assert status == "done", status
        return self.page.evaluate("window.zoo.outputs")

    def canvas(self, selector="#result") -> np.ndarray:
        """The RGB pixels of a canvas, as drawn."""
        data = self.page.evaluate(f"""() => {{ const c = document.querySelector('{selector}');
            return {{w: c.width, h: c.height, d: Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)}}; }}""")
        return np.array(data["d"], np.uint8).reshape(data["h"], data["w"], 4)[..., :3]

    def unexplained_console(self) -> list:
        return [(kind, text) for kind, text in self.messages
                if kind in ("error", "pageerror", "warning") and text not in EXPLAINED]

    def close(self):
        self.context.close()


@pytest.fixture
def open_page(browser, server):
    pages = []

    def make(path):
        pages.append(Page(browser, server, path))
        return pages[-1]

    yield make
    for page in pages:
        page.close()


def output(outputs, name) -> np.ndarray:
    return np.asarray(outputs[name]["data"], np.float32).reshape(outputs[name]["dims"])


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    """A real photo as PNG (no decoder differences), 448x296: under the pages' 512, so both sides
    stylize the very same pixels."""
    path = tmp_path_factory.mktemp("photo") / "chelsea.png"
    with Image.open(SKIMAGE_DATA / "chelsea.png") as im:
        im = im.convert("RGB")
        im.thumbnail((512, 512))
        im.crop((0, 0, im.width // 8 * 8, im.height // 8 * 8)).save(path)
    return path


def python_stylize(tmp_path, photo, model_file, *flags) -> np.ndarray:
    out = tmp_path / f"python-{len(list(tmp_path.iterdir()))}.png"
    result = run_cli("zoo.stylize", photo, "--model", model_file, "--runtime", "onnx", "--max-size", 512,
                     "--threads", 2, "--out", out, *flags, env={"HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr[-2000:]
    with Image.open(out) as im:
        return np.asarray(im.convert("RGB"))


@pytest.mark.parametrize("controls,flags", [
    ({}, ["--style", "starry_night"]),
    ({"style": "great_wave", "style2": "composition_viii", "mix": "0.3", "strength": "0.6", "preserve": True},
     ["--style", "great_wave:0.7,composition_viii:0.3", "--strength", 0.6, "--preserve-color"]),
])
def test_stylizer_page_matches_python(open_page, site, photo, tmp_path, screenshots, controls, flags):
    page = open_page("stylizer-paintings/index.html").ready()
    assert "WebAssembly" in page.page.inner_text("#backend")
    page.page.set_input_files("#photo", photo)
    assert page.wait("photo ready").startswith("photo ready")
    page.page.select_option("#style", controls.get("style", "starry_night"))
    if "style2" in controls:
        page.page.select_option("#style2", controls["style2"])
        page.page.fill("#mix", controls["mix"])
    if "strength" in controls:
        page.page.fill("#strength", controls["strength"])
    if controls.get("preserve"):
        page.page.check("#preserve-color")
    page.run()
    in_browser = page.canvas()
    network = json.loads((site / "stylizer-paintings" / "manifest.json").read_text())["page"]["networks"]["transfer"]
    in_python = python_stylize(tmp_path, photo, site / "stylizer-paintings" / network, *flags)
    assert in_browser.shape == in_python.shape == (296, 448, 3)
    assert psnr(in_browser, in_python) >= 35, psnr(in_browser, in_python)
    page.page.screenshot(path=screenshots / f"stylizer-{len(controls)}.png", full_page=True)
    assert not page.unexplained_console()


def test_arbitrary_page_matches_python(open_page, site, photo, tmp_path, screenshots):
    page = open_page("adain-paintings/index.html").ready()
    painting = tmp_path / "painting.png"
    with Image.open(RELEASED / "stylizer-paintings" / "styles" / "great_wave.jpg") as im:
        im.convert("RGB").resize((320, 216)).save(painting)
    small = tmp_path / "photo.png"
    with Image.open(photo) as im:
        im.resize((224, 144)).save(small)  # the VGG19 transfer network is heavy: a small photo keeps the test short
    page.page.set_input_files("#painting", painting)
    assert page.wait("painting ready").startswith("painting ready")
    page.page.set_input_files("#photo", small)
    assert page.wait("photo ready").startswith("photo ready")
    page.page.fill("#strength", "0.8")
    page.run(timeout=600)
    network = json.loads((site / "adain-paintings" / "manifest.json").read_text())["page"]["networks"]["transfer"]
    in_python = python_stylize(tmp_path, small, site / "adain-paintings" / network, "--style", painting,
                               "--strength", 0.8)
    assert psnr(page.canvas(), in_python) >= 35, psnr(page.canvas(), in_python)
    page.page.screenshot(path=screenshots / "arbitrary.png", full_page=True)
    assert not page.unexplained_console()


def test_page_and_python_draw_the_same_latents(open_page):
    from zoo.portable_random import standard_normal, uniform

    page = open_page("dcgan-fashion_mnist/index.html").ready()
    for seed in (0, 1234, 2**32 - 1):
        drawn = page.page.evaluate("async seed => Array.from((await import('./zoo.js')).standardNormal(seed, 10001))", seed)
        expected = standard_normal(seed, 10001)
        assert np.abs(np.asarray(drawn, np.float32) - expected).max() <= 1e-6 * np.abs(expected).max()
        assert abs(expected.mean()) < 0.03 and abs(expected.std() - 1) < 0.03
        drawn = page.page.evaluate("async seed => Array.from((await import('./zoo.js')).uniform(seed, 1001))", seed)
        assert np.array_equal(np.asarray(drawn), uniform(seed, 1001))  # the codes' draws, to the last bit


@pytest.mark.parametrize("model", ["dcgan-fashion_mnist", "vae-fashion_mnist", "stylegan-fashion_mnist"])
def test_generator_page_draws_pythons_samples(open_page, site, tmp_path, screenshots, model):
    """The page's grid for a seed (and, for the StyleGAN, a truncation psi) is the one python -m
    zoo.generate draws from the same files."""
    from zoo.deploy import runtime
    from zoo.portable_random import standard_normal

    page = open_page(f"{model}/index.html").ready()
    config = json.loads((site / model / "manifest.json").read_text())["page"]
    assert page.page.is_visible("#truncation-controls") == config["truncation"] == (model.startswith("stylegan"))
    page.page.fill("#seed", "1234")
    page.page.fill("#count", "16")
    feed, flags = {config["inputs"]["latent"]: standard_normal(1234, (16, config["latent_dim"]))}, []
    if config["truncation"]:
        page.page.fill("#truncation", "3")  # out of range: one readable line, nothing drawn
        page.page.click("#run")
        assert page.wait("done") == "error: the truncation psi must be a number from 0 to 2, not 3"
        page.page.fill("#truncation", "0.7")
        feed[config["inputs"]["truncation"]] = np.full((16, 1), 0.7, np.float32)
        flags = ["--truncation", 0.7]
    outputs = page.run()
    runner = runtime.load(site / model / config["networks"]["generator"], threads=2)
    expected = runner(**feed)
    in_browser = output(outputs, config["outputs"]["image"])
    assert np.abs(in_browser - expected[config["outputs"]["image"]]).max() < 1e-3
    grid = tmp_path / "grid.png"
    result = run_cli("zoo.generate", site / model, "--model", site / model / config["networks"]["generator"],
                     "--seed", 1234, "-n", 16, "--out", grid, *flags)
    assert result.returncode == 0, result.stderr[-2000:]
    with Image.open(grid) as im:  # the same picture as python -m zoo.generate, to rounding
        assert np.abs(page.canvas().astype(int) - np.asarray(im.convert("RGB")).astype(int)).max() <= 1
    if config["walk"]:
        page.page.fill("#walk", "0.5")
        assert page.wait("done") == "done"
        assert page.canvas("#walk-view").std() > 10  # a picture, not an empty canvas
    page.page.screenshot(path=screenshots / f"{model}.png", full_page=True)
    assert not page.unexplained_console()


def test_vqvae_page_draws_pythons_samples(open_page, site, tmp_path, screenshots):
    """The prior's loop in the browser (one run of the ONNX prior per position, each code drawn
    from the seed's uniform numbers) paints the grid that python -m zoo.generate paints with the
    same files."""
    model = "vqvae-fashion_mnist"
    page = open_page(f"{model}/index.html").ready()
    page.page.fill("#seed", "1234")
    page.page.fill("#count", "16")
    page.run()
    config = json.loads((site / model / "manifest.json").read_text())["page"]
    grid = tmp_path / "grid.png"
    result = run_cli("zoo.generate", site / model, "--model", site / model / config["networks"]["prior"],
                     "--seed", 1234, "-n", 16, "--out", grid)
    assert result.returncode == 0, result.stderr[-2000:]
    with Image.open(grid) as im:
        assert np.abs(page.canvas().astype(int) - np.asarray(im.convert("RGB")).astype(int)).max() <= 1
    page.page.screenshot(path=screenshots / f"{model}.png", full_page=True)
    assert not page.unexplained_console()


def test_classifier_page_matches_python(open_page, site, tmp_path, screenshots):
    from zoo.classify import preprocess
    from zoo.data.idx import read_idx
    from zoo.deploy import runtime

    images = read_idx(ROOT / "zoo" / "data" / "fashion_mnist_sample" / "t10k-images-idx3-ubyte.gz")
    page = open_page("cnn-fashion_mnist/index.html").ready()
    config = json.loads((site / "cnn-fashion_mnist" / "manifest.json").read_text())["page"]
    runner = runtime.load(site / "cnn-fashion_mnist" / config["networks"]["classifier"], threads=2)
    for i in (0, 1, 2):
        path = tmp_path / f"test-{i}.png"
        Image.fromarray(images[i]).save(path)
        page.page.set_input_files("#photo", path)
        assert page.wait("photo ready").startswith("photo ready")
        in_browser = output(page.run(), "probabilities")[0]
        expected = runner(image=preprocess(path, 28, 28, 1)[None])["probabilities"][0]
        assert in_browser.argmax() == expected.argmax()
        assert np.abs(in_browser - expected).max() < 1e-3
        top = page.page.inner_text("#top").splitlines()
        assert len(top) == 3 and top[0].startswith(config["class_names"][expected.argmax()])
    page.page.screenshot(path=screenshots / "classifier.png", full_page=True)
    assert not page.unexplained_console()


def test_drawing_on_the_pad_is_classified(open_page):
    page = open_page("cnn-fashion_mnist/index.html").ready()
    box = page.page.locator("#pad").bounding_box()
    page.page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.2)
    page.page.mouse.down()
    for x, y in ((0.3, 0.8), (0.7, 0.8), (0.7, 0.2)):
        page.page.mouse.move(box["x"] + box["width"] * x, box["y"] + box["height"] * y, steps=8)
    page.page.mouse.up()
    probabilities = output(page.run(), "probabilities")[0]
    assert abs(probabilities.sum() - 1) < 1e-4 and len(page.page.inner_text("#top").splitlines()) == 3
    assert page.canvas().max() > 200  # the strokes reached the network's input


def test_photo_by_drag_and_drop(open_page, photo):
    import base64

    page = open_page("stylizer-paintings/index.html").ready()
    transfer = page.page.evaluate_handle("""b64 => { const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
        const data = new DataTransfer(); data.items.add(new File([bytes], 'dropped.png', {type: 'image/png'}));
        return data; }""", base64.b64encode(photo.read_bytes()).decode())
    page.page.dispatch_event("main", "drop", {"dataTransfer": transfer})
    assert page.wait("photo ready").startswith("photo ready")
    assert page.page.inner_text("#photo-name") == "dropped.png, 448x296"
    assert page.run() and page.canvas().shape == (296, 448, 3)


def test_photo_from_the_camera(chromium, server):
    browser = chromium("--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream")  # Chromium's test camera
    try:
        page = Page(browser, server, "stylizer-paintings/index.html").ready()
        page.page.click("#camera")
        assert page.wait("photo ready").startswith("photo ready")
        assert page.page.inner_text("#photo-name").startswith("camera.png, ")
        assert page.run() and page.canvas().std() > 1
        assert not page.unexplained_console()
    finally:
        browser.close()


# ---- bad input ----------------------------------------------------------------------------------


def test_bad_files_give_a_readable_status(open_page, tmp_path):
    not_image = tmp_path / "notes.jpg"
    not_image.write_text("this is not a picture\n")
    huge = tmp_path / "huge.jpg"  # 100 megapixels: scaled down, and the page says so
    ramp = np.broadcast_to(np.linspace(0, 255, 10000).astype(np.uint8)[None, :, None], (10000, 10000, 3))
    Image.fromarray(np.ascontiguousarray(ramp)).save(huge, quality=80)
    page = open_page("stylizer-paintings/index.html").ready()
    page.page.set_input_files("#photo", not_image)
    assert page.wait("photo ready") == "error: notes.jpg is not an image this browser can read (choose a JPEG, PNG or WebP file)"
    page.page.click("#run")  # no photo yet
    assert page.wait("done").startswith("error: choose a photo first")
    page.page.set_input_files("#photo", huge)
    status = page.wait("photo ready", timeout=120)
    assert status.startswith("photo ready") and "scaled down from 10000x10000 to 512x512" in status, status
    assert page.page.is_visible("#notice")
    assert page.run() is not None
    assert page.canvas().shape == (512, 512, 3)
    assert not page.unexplained_console()


@pytest.mark.parametrize("damaged", ["model", "manifest", "runtime"])
def test_damaged_files_are_refused(open_page, site, damaged):
    copy = site / f"damaged-{damaged}"
    shutil.copytree(site / "dcgan-fashion_mnist", copy, copy_function=shutil.copy2)
    manifest = json.loads((copy / "manifest.json").read_text())
    target = {"model": manifest["page"]["networks"]["generator"], "manifest": "manifest.json",
              "runtime": manifest["page"]["runtime"]["wasm"]["wasm"]}[damaged]
    data = bytearray((copy / target).read_bytes())
    data[len(data) // 2] ^= 0x01
    (copy / target).write_bytes(bytes(data))
    page = open_page(f"{copy.name}/index.html")
    status = page.wait("ready")
    assert status == f"error: {target} is damaged or was changed: its sha256 does not match manifest.json; " \
                     "export the model again", status
    assert page.page.is_enabled("#run") is False
    assert not page.unexplained_console()


def test_browser_without_webassembly(chromium, server):
    browser = chromium("--js-flags=--jitless")  # V8 without its JIT has no WebAssembly (as hardened browsers run)
    try:
        page = Page(browser, server, "vae-fashion_mnist/index.html")
        assert page.wait("ready") == ("error: this browser has no WebAssembly (or it is switched off), which the "
                                      "page needs to run the model")
        assert not page.unexplained_console()
    finally:
        browser.close()


# ---- the gallery and its server --------------------------------------------------------------------


def test_gallery_links_every_released_model(open_page, site, screenshots):
    from zoo.api import released_models

    page = open_page("index.html")
    links = page.page.eval_on_selector_all(".gallery a", "links => links.map(a => a.getAttribute('href'))")
    assert sorted(links) == sorted(f"{name}/index.html" for name in released_models())
    assert page.page.evaluate("crossOriginIsolated") is True  # COOP/COEP: WebAssembly may use threads
    page.page.screenshot(path=screenshots / "gallery.png", full_page=True)
    assert not page.unexplained_console()


def test_serve_refuses_a_taken_port(tmp_path):
    from zoo.serve import make_server

    taken = make_server(tmp_path, 0)
    try:
        line = error_line(run_cli("zoo.serve", "--port", taken.server_address[1], "--out", tmp_path / "site"))
    finally:
        taken.server_close()
    assert line == f"error: port {taken.server_address[1]} is taken (another server is running there?); choose another with --port"
    assert not (tmp_path / "site").exists()


def test_web_export_cli_writes_a_checked_folder(tmp_path):
    from exporters import web
    from zoo.fileio import sha256

    out = tmp_path / "dcgan-web"
    result = run_cli("exporters", RELEASED / "dcgan-fashion_mnist", "--format", "web", "--out", out)
    assert result.returncode == 0, result.stderr[-2000:]
    manifest = json.loads((out / "manifest.json").read_text())
    listed = {**manifest["web_files"], **manifest["files"]}
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {"manifest.json", "index.html"}
    assert set(listed) == on_disk
    assert all(sha256(out / name) == entry["sha256"] for name, entry in listed.items())
    assert f'content="{sha256(out / "manifest.json")}"' in (out / "index.html").read_text()
    assert manifest["onnxruntime_web"] == json.loads((ROOT / "package.json").read_text())["dependencies"]["onnxruntime-web"]
    assert web.download_size(out) < web.download_size(out, "webgpu")
