"""Stylizing a video frame by frame, with less flicker than the frames have on their own.

Frames are decoded and encoded by the ffmpeg binary that the `imageio-ffmpeg` package ships
(the `[video]` extra), streamed one frame at a time so a long clip never sits in memory. The
result has the input's frame count and frame rate, encoded as H.264 (yuv420p, which every
player takes); the audio is dropped. It is written under a temporary name in the target folder
and renamed at the end, so a clip that fails half-way leaves no half-written file behind.

A feed-forward stylizer sees every frame afresh: tiny changes between frames (sensor noise,
compression, a slight pan) move its brush strokes, and the video flickers. `Deflicker` blends
the previous output frame into the current one wherever the input frame barely changed (static
background), and leaves moving parts alone, so motion does not leave ghosts.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np

from zoo.errors import ZooError
from zoo.fileio import atomic_path

VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv", ".avi", ".webm", ".mpg", ".mpeg", ".wmv")
OUTPUT_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv")  # containers that take H.264
QUALITY = 7  # imageio-ffmpeg's 0-10 scale: x264 CRF 15, near transparent for painted textures
MOTION = 0.1  # a pixel whose colour moved this much (of the [0, 1] range) counts as moving


def is_video(path) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def _ffmpeg():
    try:
        import imageio_ffmpeg
    except ImportError:
        raise ZooError("videos need imageio-ffmpeg: pip install 'keras-zoo[video]'") from None
    # It warns on every read whose frame size differs from the file's, which is what --max-size asks.
    logging.getLogger("imageio_ffmpeg").setLevel(logging.ERROR)
    return imageio_ffmpeg


def _reason(error: Exception) -> str:
    """ffmpeg's own last word (imageio-ffmpeg puts its stderr at the end of the message)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def read_video(path, max_side: int | None = None):
    """(meta, frames) of the video at `path`: meta has `fps`, `size` (w, h) and `duration`, frames
    yields uint8 [H, W, 3]. With `max_side`, ffmpeg scales the frames down so their longer side is
    at most that (never up). A file ffmpeg cannot decode fails here, before anything is written."""
    path = Path(path)
    if not path.is_file():
        raise ZooError(f"video {path} does not exist" if not path.exists() else f"{path} is not a file")
    meta, reader = _open(path)
    if max_side and max(meta["size"]) > max_side:
        reader.close()
        w, h = fit(meta["size"], max_side)
        meta, reader = _open(path, ["-vf", f"scale={w}:{h}:flags=area"])
    return meta, _frames(reader, meta["size"], path)


def fit(size, max_side: int) -> tuple:
    """(w, h) scaled so the longer side is at most `max_side`, rounded down to even sides (H.264's
    yuv420p halves both). Computed here, not by ffmpeg's scale options, which older ffmpeg lacks."""
    w, h = size
    scale = max_side / max(w, h)
    return max(2, int(w * scale) // 2 * 2), max(2, int(h * scale) // 2 * 2)


def _open(path: Path, output_params=None):
    """(meta, reader) from imageio-ffmpeg, the first ffmpeg error as a ZooError."""
    reader = _ffmpeg().read_frames(str(path), output_params=output_params)
    try:
        meta = next(reader)
    except (OSError, RuntimeError, ValueError, AttributeError, StopIteration) as e:
        reader.close()
        text = str(e)  # ffmpeg's log: the streams it found, then why it gave up
        reason = "it holds no video stream" if "Stream #" in text and "Video:" not in text else _reason(e)
        raise ZooError(f"cannot decode video {path}: {reason}") from None
    if not meta.get("fps"):
        reader.close()
        raise ZooError(f"cannot tell the frame rate of video {path}")
    return meta, reader


def _frames(reader, size, path):
    w, h = size
    try:
        for raw in reader:
            yield np.frombuffer(raw, np.uint8).reshape(h, w, 3)
    except RuntimeError as e:
        raise ZooError(f"cannot decode video {path}: {_reason(e)}") from None
    finally:
        reader.close()


class Deflicker:
    """Temporal smoothing of stylized frames where the input stands still.

    Each output pixel is `keep * previous output + (1 - keep) * current stylized`, with
    `keep = alpha * max(0, 1 - change / MOTION)` and `change` the pixel's mean absolute colour
    change between the previous and the current input frame: an exponential moving average on
    static parts, no smoothing on moving ones or after a cut. `alpha` in [0, 1); 0 turns it off."""

    def __init__(self, alpha: float):
        self.alpha = alpha
        self.previous_frame = self.previous_output = None

    def __call__(self, frame: np.ndarray, stylized: np.ndarray) -> np.ndarray:
        """uint8 input frame and its stylized version -> the uint8 frame to write."""
        x, out = frame.astype(np.float32) / 255.0, stylized.astype(np.float32)
        if self.alpha and self.previous_frame is not None:
            change = np.abs(x - self.previous_frame).mean(axis=-1, keepdims=True)
            keep = self.alpha * np.clip(1.0 - change / MOTION, 0.0, 1.0)
            out = keep * self.previous_output + (1.0 - keep) * out
        self.previous_frame, self.previous_output = x, out  # float: no rounding builds up
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def stylize_video(src, dst, render, deflicker: float = 0.0, max_side: int | None = None) -> dict:
    """Write `render(frame)` of every frame of `src` to `dst` (smoothed by `Deflicker(deflicker)`),
    with a progress bar on stderr; returns the frame count, fps and size written."""
    from tqdm import tqdm

    dst = Path(dst)
    if dst.suffix.lower() not in OUTPUT_SUFFIXES:
        raise ZooError(f"--out {dst} must end in {', '.join(OUTPUT_SUFFIXES)} for a video")
    smooth = Deflicker(deflicker)
    meta, frames = read_video(src, max_side)
    estimate = round(meta["duration"] * meta["fps"]) or None
    count = 0
    with atomic_path(dst, suffix=dst.suffix) as tmp:
        writer = _ffmpeg().write_frames(str(tmp), meta["size"], fps=meta["fps"], quality=QUALITY,
                                        macro_block_size=2, ffmpeg_log_level="error")
        try:
            writer.send(None)
            for frame in tqdm(frames, total=estimate, unit="frame", file=sys.stderr):
                writer.send(np.ascontiguousarray(smooth(frame, render(frame))))
                count += 1
        except OSError as e:
            raise ZooError(f"cannot write video {dst}: {_reason(e)}") from None
        finally:
            writer.close()
        if not count:
            raise ZooError(f"video {src} holds no frames")
        if not tmp.is_file() or not tmp.stat().st_size:
            raise ZooError(f"ffmpeg wrote nothing to {dst}")
    return {"frames": count, "fps": meta["fps"], "size": tuple(meta["size"])}
