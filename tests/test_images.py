"""zoo.images: every kind of photo a user has either becomes upright 8-bit RGB or a ZooError."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from zoo.errors import ZooError
from zoo.images import grid, load_rgb, sample_grid, save_image


def gradient(h=40, w=60):
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // (w - 1), y * 255 // (h - 1), np.full_like(x, 128)], -1).astype(np.uint8)


def test_rgb_jpeg_and_png(tmp_path):
    Image.fromarray(gradient()).save(tmp_path / "a.png")
    a = load_rgb(tmp_path / "a.png")
    assert a.shape == (40, 60, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, gradient())


def test_grayscale_becomes_rgb(tmp_path):
    Image.fromarray(gradient()[..., 0]).save(tmp_path / "g.png")
    a = load_rgb(tmp_path / "g.png")
    assert a.shape == (40, 60, 3)
    np.testing.assert_array_equal(a[..., 0], a[..., 2])
    np.testing.assert_array_equal(a[..., 1], gradient()[..., 0])


def test_rgba_is_composited_on_white(tmp_path):
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:5, :, 3] = 255  # top half opaque red, bottom half transparent
    Image.fromarray(rgba).save(tmp_path / "t.png")
    a = load_rgb(tmp_path / "t.png")
    assert a[0, 0].tolist() == [255, 0, 0]
    assert a[9, 9].tolist() == [255, 255, 255]


def test_16_bit_grayscale_is_rescaled(tmp_path):
    sixteen = (np.arange(100, dtype=np.uint16).reshape(10, 10) * 650).astype(np.uint16)
    Image.fromarray(sixteen).save(tmp_path / "d.png")
    assert Image.open(tmp_path / "d.png").mode.startswith("I")
    a = load_rgb(tmp_path / "d.png")
    expected = np.round(sixteen / 65535 * 255).astype(np.uint8)
    assert np.abs(a[..., 0].astype(int) - expected).max() <= 1
    assert a.max() > 200  # not clipped to white or crushed to black by a naive 8-bit cast


def test_exif_rotation_is_applied(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    Image.fromarray(gradient()).save(tmp_path / "r.jpg", exif=exif)
    assert load_rgb(tmp_path / "r.jpg").shape == (60, 40, 3)


def test_max_side_downscales(tmp_path):
    Image.fromarray(gradient(400, 600)).save(tmp_path / "big.jpg")
    assert load_rgb(tmp_path / "big.jpg", max_side=150).shape == (100, 150, 3)


def test_truncated_file_is_an_error(tmp_path):
    Image.fromarray(gradient(200, 200)).save(tmp_path / "full.jpg", quality=95)
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(ZooError, match="cannot decode image .*cut.jpg"):
        load_rgb(tmp_path / "cut.jpg")


def test_not_an_image_and_missing(tmp_path):
    (tmp_path / "notes.jpg").write_text("not a picture")
    with pytest.raises(ZooError, match="not an image file"):
        load_rgb(tmp_path / "notes.jpg")
    with pytest.raises(ZooError, match="does not exist"):
        load_rgb(tmp_path / "nope.png")


def png_header_only(path, width, height):
    """A PNG whose header claims width x height, with no pixel data at all."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))


def test_huge_image_is_refused_from_its_header(tmp_path):
    # Had the pixels been decoded, each file would need 180 MB or 1.2 GB; no data is there at all.
    png_header_only(tmp_path / "big.png", 10000, 6000)
    with pytest.raises(ZooError, match=r"10000x6000 \(60 megapixels\).*downscale it first"):
        load_rgb(tmp_path / "big.png")
    png_header_only(tmp_path / "huge.png", 20000, 20000)  # Pillow's own bomb guard answers first
    with pytest.raises(ZooError, match=r"huge.png refused, too large .*downscale it first"):
        load_rgb(tmp_path / "huge.png")


def test_grid_and_save_image(tmp_path):
    sheet = grid([[gradient(), gradient(80, 40)], [gradient()]], ["a", "b"], height=50)
    assert sheet.dtype == np.uint8 and sheet.shape[2] == 3
    save_image(tmp_path / "sheet.jpg", sheet)
    assert Image.open(tmp_path / "sheet.jpg").format == "JPEG"
    with pytest.raises(ZooError, match="cannot write"):
        save_image(tmp_path / "sheet.unknown-format", sheet)


def test_sample_grid_is_pixel_exact(tmp_path):
    """Ten grayscale 28-pixel images, four to a row, 2 pixels apart, enlarged twice (nearest)."""
    values = np.linspace(0, 1, 10, dtype=np.float32)
    sheet = sample_grid(values[:, None, None, None] * np.ones((10, 28, 28, 1), np.float32), cols=4)
    assert sheet.dtype == np.uint8 and sheet.shape == (2 * (3 * 30 + 2), 2 * (4 * 30 + 2), 1)
    for i, value in enumerate(values):
        row, col = divmod(i, 4)
        y, x = 2 * (2 + row * 30), 2 * (2 + col * 30)
        assert (sheet[y:y + 56, x:x + 56] == round(value * 255)).all(), i
        assert (sheet[y - 4:y] == 255).all() and (sheet[y:y + 56, x - 4:x] == 255).all()  # white gaps
    assert (sheet[2 * (2 + 2 * 30):, 2 * (2 + 2 * 30):] == 255).all()  # the two empty cells
    save_image(tmp_path / "samples.png", sheet)
    with Image.open(tmp_path / "samples.png") as im:
        assert im.mode == "L" and im.size == (sheet.shape[1], sheet.shape[0])


def test_grid_mixes_sizes_modes_and_labels():
    """A contact sheet: a uint8 RGB image and a float grayscale one of half its size, scaled to
    one height, with labels above the first row only."""
    gray = np.linspace(0, 1, 20 * 30, dtype=np.float32).reshape(20, 30)
    sheet = grid([[gradient(), gray], [gray[..., None]]], ["photo", "gray"], height=40, pad=4)
    assert sheet.shape == (4 + 14 + 2 * (40 + 4), 4 + 60 + 4 + 60 + 4, 3)
    np.testing.assert_array_equal(sheet[18:58, 4:64], gradient())
    for tile in (sheet[18:58, 68:128], sheet[62:102, 4:64]):  # grayscale, scaled to 40x60, as RGB
        assert (tile[..., 0] == tile[..., 2]).all() and tile[:, 0].mean() < tile[:, -1].mean()
    assert (sheet[62:102, 68:] == 255).all()  # the second row is shorter
    assert (sheet[4:18, :4] == 255).all() and (sheet[4:18] < 255).any()  # the labels
