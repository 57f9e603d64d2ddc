"""The re-encoder: what it keeps (pixels, upright), what it drops (every kind of metadata),
and what it refuses, each with its reason."""

import hashlib
import io

import pytest
from PIL import Image, ImageCms, PngImagePlugin

from forum.figures.images import MAX_PIXELS, MAX_UPLOAD_BYTES, ImageRefused, reencode
from forum.figures.tests.helpers import image_bytes

GPS = {1: "N", 2: (35.0, 41.0, 22.2), 3: "E", 4: (139.0, 41.0, 30.1)}  # latitude and longitude of somebody's home


def exif_with_gps(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0131] = "SecretApp 1.0"  # Software
    exif[0x0112] = orientation
    exif[0x8825] = GPS  # the GPS IFD
    return exif


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_a_jpeg_with_exif_gps_loses_every_tag_and_stands_upright():
    source = io.BytesIO()
    Image.new("RGB", (40, 20), (10, 120, 200)).save(source, "JPEG", exif=exif_with_gps(orientation=6).tobytes(),
                                                   comment=b"taken at home")
    data = source.getvalue()
    assert opened(data).getexif().get_ifd(0x8825), "the source really carries GPS"

    result = reencode(data)

    stored = opened(result.data)
    assert (result.ext, result.content_type, stored.format) == ("jpg", "image/jpeg", "JPEG")
    assert dict(stored.getexif()) == {} and stored.getexif().get_ifd(0x8825) == {}
    for leak in (b"Exif", b"PhoneMaker", b"SecretApp", b"taken at home", b"ICC_PROFILE"):
        assert leak not in result.data, leak
    assert set(stored.info) <= {"jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi"}
    # Orientation 6 (rotate 90°) is applied before the tag is dropped: the picture stays upright.
    assert (result.width, result.height) == stored.size == (20, 40)
    assert result.sha256 == hashlib.sha256(result.data).hexdigest()


def test_a_png_loses_text_chunks_exif_and_its_colour_profile():
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "chiyuki@example.net")
    info.add_itxt("Comment", "東京都港区 1-2-3", lang="ja")
    info.add_text("Secret", "zipped", zip=True)
    source = io.BytesIO()
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.new("RGBA", (30, 10), (255, 0, 0, 128)).save(source, "PNG", pnginfo=info, exif=exif_with_gps().tobytes(),
                                                      icc_profile=profile)
    result = reencode(source.getvalue())
    stored = opened(result.data)
    assert (result.ext, stored.format, stored.mode, stored.size) == ("png", "PNG", "RGBA", (30, 10))
    assert stored.info.get("icc_profile") is None and not stored.getexif() and not getattr(stored, "text", {})
    for chunk in (b"tEXt", b"iTXt", b"zTXt", b"eXIf", b"iCCP", b"chiyuki"):
        assert chunk not in result.data, chunk
    assert stored.getpixel((0, 0)) == (255, 0, 0, 128)


def test_a_webp_loses_exif_and_profile_and_a_lossless_one_stays_lossless():
    source = io.BytesIO()
    Image.new("RGB", (16, 16), (0, 200, 0)).save(source, "WEBP", lossless=True, exif=exif_with_gps().tobytes(),
                                                 icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    result = reencode(source.getvalue())
    stored = opened(result.data)
    assert (result.ext, result.content_type, stored.format) == ("webp", "image/webp", "WEBP")
    assert b"EXIF" not in result.data and b"ICCP" not in result.data and b"PhoneMaker" not in result.data
    assert result.data[12:16] == b"VP8L" and stored.getpixel((3, 3)) == (0, 200, 0)


@pytest.mark.parametrize(("fmt", "ext"), [("PNG", "png"), ("JPEG", "jpg"), ("WEBP", "webp")])
def test_each_format_stays_itself_and_the_same_image_gives_the_same_file(fmt, ext):
    first, second = reencode(image_bytes(fmt)), reencode(image_bytes(fmt))
    assert first.ext == ext and first.data == second.data and first.sha256 == second.sha256
    assert (first.width, first.height) == (64, 48)


@pytest.mark.parametrize("mode", ["P", "LA", "L", "1", "I;16", "CMYK"])
def test_unusual_modes_are_made_plain(mode):
    out = io.BytesIO()
    Image.new(mode, (8, 8)).save(out, "JPEG" if mode == "CMYK" else "PNG")
    assert opened(reencode(out.getvalue()).data).mode in {"RGB", "RGBA", "L"}


def test_an_exif_thumbnail_inside_a_jpeg_is_not_mistaken_for_trailing_data():
    thumb = io.BytesIO()
    Image.new("RGB", (8, 8)).save(thumb, "JPEG")
    exif = exif_with_gps()
    source = io.BytesIO()
    # A JPEG inside APP1 holds its own end-of-image marker before the real image's.
    Image.new("RGB", (32, 32)).save(source, "JPEG", exif=exif.tobytes() + thumb.getvalue())
    assert reencode(source.getvalue()).ext == "jpg"


def png_bomb(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("1", (width, height)).save(out, "PNG")  # a few KB that decode to gigabytes
    return out.getvalue()


def animated(fmt: str) -> bytes:
    frames = [Image.new("RGB", (10, 10), colour) for colour in ((0, 0, 0), (255, 0, 0))]
    out = io.BytesIO()
    frames[0].save(out, fmt, save_all=True, append_images=frames[1:], duration=100)
    return out.getvalue()


def text_bomb() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "A" * (20 * 1024 * 1024), zip=True)  # 20 MB of text in a few KB
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


BAD = {
    "zero bytes": (b"", "empty"),
    "binary garbage": (bytes(range(256)) * 40, "not_an_image"),
    "HTML named .png": (b"<!doctype html><script>alert(1)</script>", "not_an_image"),
    "SVG named .png": (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>',
                      "not_an_image"),
    "SVG with an XML prolog": (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "not_an_image"),
    "GIF": (image_bytes("GIF"), "not_an_image"),
    "BMP": (image_bytes("BMP"), "not_an_image"),
    "TIFF": (image_bytes("TIFF"), "not_an_image"),
    "only a PNG signature": (b"\x89PNG\r\n\x1a\n", "not_an_image"),
    "truncated PNG": (image_bytes("PNG", size=(300, 300), color=None, mode="RGB")[:200], "broken"),
    "truncated JPEG": (image_bytes("JPEG", size=(300, 300))[:-300], "broken"),
    "PNG with HTML after it": (image_bytes("PNG") + b"<html><script>alert(1)</script></html>", "polyglot"),
    "JPEG with a zip after it": (image_bytes("JPEG") + b"PK\x03\x04" + b"\x00" * 26 + b"evil.js", "polyglot"),
    "WebP with a page after it": (image_bytes("WEBP") + b"<script>alert(1)</script>", "polyglot"),
    "animated PNG": (animated("PNG"), "animated"),
    "animated WebP": (animated("WEBP"), "animated"),
    "over the pixel limit": (png_bomb(8000, 5001), "too_many_pixels"),
    "Pillow's decompression bomb": (png_bomb(20000, 20000), "too_many_pixels"),
    "a text chunk that unpacks to 20 MB": (text_bomb(), "bomb"),
}


@pytest.mark.parametrize("name", BAD)
def test_bad_input_is_refused_with_its_reason(name):
    data, code = BAD[name]
    with pytest.raises(ImageRefused) as refused:
        reencode(data)
    assert refused.value.code == code and str(refused.value)


def test_the_limits():
    assert 8000 * 5001 > MAX_PIXELS >= 8000 * 5000
    with pytest.raises(ImageRefused) as refused:
        reencode(b"\x89PNG" + b"\x00" * MAX_UPLOAD_BYTES)
    assert refused.value.code == "too_large"
