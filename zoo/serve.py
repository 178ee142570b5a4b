"""`python -m zoo.serve [--port 8000] [--out DIR] [--models NAME,...]`: every released model in the
browser, on one local site.

Builds the web folder of each released model (exporters.web: the page, its smallest validated
ONNX files and onnxruntime-web) under DIR (default ~/.cache/keras-zoo/site), writes an index page
that links them, and serves the site on localhost with the headers that make a page
cross-origin isolated (COOP `same-origin`, COEP `require-corp`), without which onnxruntime-web
runs on one thread; files go gzip-encoded to browsers that take it. `--build-only` writes the site and exits (to copy it to any static host that
sends those headers).
"""

from __future__ import annotations

import errno
import functools
import gzip
import html
import os
import shutil
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from zoo.training.runs import locate, released_models
from zoo.errors import ArgumentParser, DefaultsRawDescriptionHelpFormatter, ZooError, cli
from zoo.fileio import atomic_dir, read_json, write_text
from zoo.names import MANIFEST

DEFAULT_PORT = 8000
PREVIEWS = ("quality.jpg", "images/samples.png", "images/confusion_matrix.png")
ISOLATION_HEADERS = {"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp",
                     "Cross-Origin-Resource-Policy": "same-origin"}


def default_site() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "keras-zoo" / "site"


@functools.lru_cache(maxsize=64)
def _gzipped(path: str, mtime_ns: int, size: int) -> bytes:
    """A file's gzip encoding, made once per version of the file (the runtime's 15 MB of
    WebAssembly shrinks to about a third)."""
    return gzip.compress(Path(path).read_bytes(), compresslevel=6)


class IsolatedHandler(SimpleHTTPRequestHandler):
    """Static files with cross-origin isolation, the right types for ES modules and WebAssembly,
    gzip-encoded where the browser takes it, and no caching (a rebuilt site is seen at once)."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".mjs": "text/javascript", ".js": "text/javascript",
                      ".wasm": "application/wasm", ".onnx": "application/octet-stream", ".json": "application/json"}
    COMPRESSED = (".wasm", ".mjs", ".js", ".onnx", ".json", ".html", ".css")

    def do_GET(self):
        path = Path(self.translate_path(self.path))
        if not (path.suffix in self.COMPRESSED and path.is_file()
                and "gzip" in self.headers.get("Accept-Encoding", "")):
            return super().do_GET()
        stat = path.stat()
        body = _gzipped(str(path), stat.st_mtime_ns, stat.st_size)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Vary", "Accept-Encoding")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def end_headers(self):
        for name, value in ISOLATION_HEADERS.items():
            self.send_header(name, value)
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        if os.environ.get("ZOO_SERVE_LOG"):
            super().log_message(format, *args)


def make_server(root, port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """A server of `root` on `host`:`port` (0: any free port), or one clear error."""
    handler = functools.partial(IsolatedHandler, directory=str(root))
    try:
        return ThreadingHTTPServer((host, port), handler)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise ZooError(f"port {port} is taken (another server is running there?); choose another with --port") from None
        if e.errno == errno.EACCES:
            raise ZooError(f"port {port} needs privileges; choose one above 1023 with --port") from None
        raise ZooError(f"cannot serve on {host}:{port}: {e.strerror}") from None


def _preview(model_root: Path, dest: Path) -> str | None:
    """A picture of the model's output for its gallery card, copied next to its page."""
    for name in PREVIEWS:
        if (model_root / name).is_file():
            target = dest / f"preview{Path(name).suffix}"
            shutil.copy2(model_root / name, target)
            return f"{dest.name}/{target.name}"
    return None


def build_site(out, names=None) -> tuple[Path, list]:
    """The web folder of every released model (or of `names`) under `out`, and an index page.
    Returns (site folder, [(name, error)] of models that could not be built)."""
    from exporters import web

    names = names or list(released_models())
    failures, cards = [], []
    out = Path(out)
    with atomic_dir(out) as tmp:
        shutil.copy2(web.PAGE_DIR / "style.css", tmp / "style.css")
        for name in names:
            try:
                root = locate(name)
                folder = web.build(root, tmp / name, home="../index.html")
            except ZooError as e:
                failures.append((name, str(e)))
                continue
            preview = _preview(root, folder)
            page = read_json(folder / MANIFEST)["page"]
            cards.append(f'<a href="{html.escape(name)}/index.html"><h2>{html.escape(name)}</h2>'
                         + (f'<img src="{html.escape(preview)}" alt="">' if preview else "")
                         + f'<p>{html.escape(web.PAGES[page["kind"]].description)}</p></a>')
        if not cards:
            raise ZooError("no released model could be built: " + "; ".join(f"{n}: {e}" for n, e in failures))
        write_text(tmp / "index.html", _INDEX.format(cards="\n".join(cards)))
    return out, failures


_INDEX = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>keras-zoo in the browser</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="style.css">
</head>
<body>
<header><h1>keras-zoo in the browser</h1>
<p>Every released model of the zoo, running in this browser with onnxruntime-web: nothing is uploaded.</p></header>
<main class="gallery">
{cards}
</main>
</body>
</html>
"""


@cli
def main(argv=None):
    parser = ArgumentParser(prog="python -m zoo.serve", description=__doc__.split("\n\n")[0],
                            formatter_class=DefaultsRawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port on localhost (default {DEFAULT_PORT})")
    parser.add_argument("--out", type=Path, default=None, help="site folder (default ~/.cache/keras-zoo/site)")
    parser.add_argument("--models", help="comma-separated released models (default: all)")
    parser.add_argument("--build-only", action="store_true", help="write the site, do not serve it")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if not 0 < args.port < 65536:
        raise ZooError(f"--port must be from 1 to 65535, got {args.port}")
    site = args.out or default_site()
    server = None if args.build_only else make_server(site, args.port)  # a taken port fails before the build
    site, failures = build_site(site, args.models.split(",") if args.models else None)
    for name, error in failures:
        print(f"warning: {name} has no page: {error}", file=sys.stderr)
    if server is None:
        print(f"wrote {site}")
        return 0
    print(f"serving {site} at http://localhost:{server.server_address[1]}/ (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
