"""`zoo.stylize VIDEO --model ...` on a real clip encoded here with the ffmpeg of imageio-ffmpeg
(12 small frames panning slowly over a sample photo, H.264): the result keeps the frame count,
frame rate and size, deflicker steadies it, the deploy path needs no TensorFlow, and a video
that cannot be decoded or fails half-way leaves nothing behind."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from test_stylize import PHOTO, read, run_without_tensorflow, stylize_cli

imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")

FRAMES, FPS, SIZE = 12, 12, (64, 48)


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # onnxruntime writes a cache under $HOME


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """64x48 crops of a photo, 2 pixels further right in every frame, as H.264 at 12 fps."""
    photo = read(PHOTO)
    path = tmp_path_factory.mktemp("video") / "pan.mp4"
    writer = imageio_ffmpeg.write_frames(str(path), SIZE, fps=FPS, macro_block_size=2, ffmpeg_log_level="error")
    writer.send(None)
    for i in range(FRAMES):
        writer.send(np.ascontiguousarray(photo[120:120 + SIZE[1], 150 + 2 * i:150 + 2 * i + SIZE[0]]))
    writer.close()
    return path


def frames_of(path):
    """(meta, [uint8 frames]) of a video, read back with ffmpeg."""
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    w, h = meta["size"]
    return meta, [np.frombuffer(raw, np.uint8).reshape(h, w, 3).astype(np.float32) for raw in reader]


def flicker(frames) -> float:
    """Mean absolute difference between consecutive frames, in 0-255 levels."""
    return float(np.mean([np.abs(b - a).mean() for a, b in zip(frames, frames[1:])]))


def test_video_keeps_frame_count_rate_and_size(run_dir, clip, tmp_path, capsys):
    out = tmp_path / "out" / "styled.mp4"
    rc, stdout, err = stylize_cli(capsys, clip, "--model", run_dir, "--runtime", "onnx", "--style", "great_wave",
                                  "--out", out)
    assert rc == 0, err
    meta, frames = frames_of(out)
    assert len(frames) == FRAMES and meta["fps"] == FPS and meta["size"] == SIZE
    assert f"{FRAMES}/{FRAMES}" in err and "frame/s" in err  # the progress bar
    assert f"({FRAMES} frames, 64x48, 12 fps, no audio)" in stdout
    _, inputs = frames_of(clip)
    assert np.abs(frames[5] - inputs[5]).mean() > 5  # stylized, not copied
    assert [p.name for p in out.parent.iterdir()] == ["styled.mp4"]  # no temporary file left


def test_max_size_scales_frames(run_dir, clip, tmp_path, capsys):
    out = tmp_path / "small.mkv"
    rc, _, err = stylize_cli(capsys, clip, "--model", run_dir, "--runtime", "tflite", "--style", "composition_viii",
                             "--max-size", 32, "--out", out)
    assert rc == 0, err
    meta, frames = frames_of(out)
    assert meta["size"] == (32, 24) and len(frames) == FRAMES


def test_deflicker_steadies_the_video(run_dir, clip, tmp_path, capsys):
    """Consecutive output frames differ less with --deflicker, yet stay near the per-frame result."""
    results = {}
    for alpha in ("0", "0.6"):
        out = tmp_path / f"deflicker{alpha}.mp4"
        rc, _, err = stylize_cli(capsys, clip, "--model", run_dir, "--runtime", "onnx", "--style", "starry_night",
                                 "--deflicker", alpha, "--out", out)
        assert rc == 0, err
        results[alpha] = frames_of(out)[1]
    plain, steady = flicker(results["0"]), flicker(results["0.6"])
    assert steady < 0.8 * plain, (plain, steady)
    drift = np.mean([np.abs(a - b).mean() for a, b in zip(results["0"], results["0.6"])])
    assert drift < plain, (drift, plain)  # smoothing, not a frozen picture


def test_deflicker_leaves_moving_parts_and_cuts_alone():
    from zoo.style.video import MOTION, Deflicker

    rng = np.random.default_rng(0)
    still = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    styled = [rng.integers(0, 256, (16, 16, 3), dtype=np.uint8) for _ in range(3)]
    smooth = Deflicker(0.5)
    np.testing.assert_array_equal(smooth(still, styled[0]), styled[0])  # the first frame as it is
    second = smooth(still, styled[1]).astype(np.float32)  # the input stood still: half of each
    assert np.abs(second - (styled[0].astype(np.float32) + styled[1]) / 2).max() <= 1
    cut = 255 - still
    moved = np.abs(cut.astype(np.float32) - still).mean(axis=-1) / 255 >= MOTION
    assert moved.mean() > 0.8
    np.testing.assert_array_equal(smooth(cut, styled[2])[moved], styled[2][moved])  # what moved is left alone


def test_video_without_tensorflow(run_dir, clip, tmp_path):
    out = tmp_path / "phone.mp4"
    result = run_without_tensorflow(tmp_path, "zoo.stylize", clip, "--model", run_dir, "--runtime", "tflite",
                                    "--style", "great_wave", "--deflicker", 0.5, "--preserve-color", "--out", out)
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(frames_of(out)[1]) == FRAMES


def test_videos_that_cannot_be_read_or_written(run_dir, clip, tmp_path, capsys):
    (tmp_path / "noise.mp4").write_bytes(np.random.default_rng(0).bytes(20000))
    (tmp_path / "cut.mp4").write_bytes(clip.read_bytes()[:len(clip.read_bytes()) // 2])  # its index is at the end
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "sine=duration=0.5", "-c:a",
                    "aac", str(tmp_path / "sound.mp4")], check=True)
    model = ["--model", run_dir, "--runtime", "onnx", "--style", "great_wave"]
    out = tmp_path / "out" / "result.mp4"
    for argv, message in [
        ([tmp_path / "noise.mp4", *model], "cannot decode video"),
        ([tmp_path / "cut.mp4", *model], "cannot decode video"),
        ([tmp_path / "sound.mp4", *model], "it holds no video stream"),
        ([tmp_path / "missing.mp4", *model], "does not exist"),
        ([clip, *model, "--deflicker", "1"], "--deflicker must be at least 0 and below 1"),
        ([clip, *model, "--out", tmp_path / "out" / "result.gif"], "must end in .mp4, .mov, .m4v, .mkv"),
        ([clip, "--style", PHOTO, "--method", "optimize"], "a video needs --model"),
    ]:
        rc, _, err = stylize_cli(capsys, *argv, *([] if "--out" in argv else ["--out", out]))
        assert rc == 2, (argv, err)
        lines = [line for line in err.splitlines() if line.startswith("error: ")]
        assert len(lines) == 1 and message in lines[0] and "Traceback" not in err, (argv, err)
        assert not (tmp_path / "out").exists(), argv


def test_failure_half_way_leaves_no_file(clip, tmp_path):
    from zoo.errors import ZooError
    from zoo.style.video import stylize_video

    seen = []

    def render(frame):
        seen.append(frame)
        if len(seen) == 5:
            raise ZooError("the model failed")
        return frame

    with pytest.raises(ZooError, match="the model failed"):
        stylize_video(clip, tmp_path / "out.mp4", render)
    assert list(tmp_path.iterdir()) == []
