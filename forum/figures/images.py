"""A member's screenshot made safe to serve: decoded by Pillow, re-encoded, nothing else kept.

What a file is is decided by decoding it (PNG, JPEG and WebP decoders only), never by its name
or the type the browser declared. The stored file is Pillow's own encoding of the pixels: no
EXIF (GPS included), no ICC profile, no text chunks, no comment, no trailing bytes. Pure
functions; no Django.
"""

import hashlib
import io
import struct
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
# Decoders Pillow may try: SVG, GIF, TIFF, PSD… are never even parsed.
DECODERS = ("PNG", "JPEG", "WEBP")
EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}
CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}
JPEG_QUALITY = 90
WEBP_QUALITY = 90


class ImageRefused(ValueError):
    """Not an image Daiou stores; the message (English, translated by the caller) says why."""

    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


@dataclass(frozen=True)
class Reencoded:
    data: bytes
    ext: str  # png, jpg or webp
    width: int
    height: int
    sha256: str

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.ext]


def reencode(data: bytes) -> Reencoded:
    """The image in `data` re-encoded in its own format (PNG, JPEG or WebP), orientation applied,
    all metadata dropped. ImageRefused for anything else, with the reason."""
    if not data:
        raise ImageRefused("empty", "The file is empty.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ImageRefused("too_large", "The file is larger than 10 MB.")
    # Pillow refuses images over twice its MAX_IMAGE_PIXELS when opening them (and only warns
    # above it); MAX_PIXELS is far lower and checked before any pixel is decoded.
    try:
        return _reencode(data)
    except ImageRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRefused("too_many_pixels", "The image has too many pixels (a decompression bomb?).") from None
    except UnidentifiedImageError:
        raise ImageRefused("not_an_image", "This is not a PNG, JPEG or WebP image (SVG, GIF, HTML and other "
                                           "files are refused).") from None
    except ValueError as error:
        if "decompressed data too large" in str(error).lower():  # a PNG text or profile chunk that unpacks huge
            raise ImageRefused("bomb", "The file holds compressed data that unpacks to far more than an image "
                                       "needs (a decompression bomb).") from None
        raise ImageRefused("broken", "The image is damaged or truncated and cannot be read.") from None
    except (OSError, SyntaxError, EOFError, struct.error, IndexError, TypeError, KeyError):
        # Truncated or corrupt data, bad chunks, oversized text chunks.
        raise ImageRefused("broken", "The image is damaged or truncated and cannot be read.") from None
    except MemoryError:
        raise ImageRefused("too_many_pixels", "The image is too large to decode.") from None


def _reencode(data: bytes) -> Reencoded:
    with Image.open(io.BytesIO(data), formats=DECODERS) as image:
        kind = "JPEG" if image.format == "MPO" else image.format  # a JPEG with an MP index is a JPEG
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise ImageRefused("too_many_pixels",
                               f"The image has {width * height:,} pixels; at most {MAX_PIXELS:,} are accepted.")
        if getattr(image, "is_animated", False) or getattr(image, "n_frames", 1) > 1:
            raise ImageRefused("animated", "Animated images are refused: take a still screenshot.")
        _refuse_trailing_data(kind, data)
        lossless = kind == "WEBP" and _webp_is_lossless(data)
        image.load()
        pixels = _plain_pixels(image, kind)
    out = io.BytesIO()
    if kind == "PNG":
        pixels.save(out, "PNG", compress_level=6)
    elif kind == "JPEG":
        pixels.save(out, "JPEG", quality=JPEG_QUALITY, optimize=False, progressive=False)
    else:
        pixels.save(out, "WEBP", lossless=lossless, quality=100 if lossless else WEBP_QUALITY, method=4)
    encoded = out.getvalue()
    return Reencoded(encoded, EXTENSIONS[kind], pixels.width, pixels.height, hashlib.sha256(encoded).hexdigest())


def _plain_pixels(image: Image.Image, kind: str) -> Image.Image:
    """Only the pixels, upright and in sRGB: a new image without any of the source's info."""
    upright = ImageOps.exif_transpose(image)
    alpha = upright.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in upright.info
    mode = "RGBA" if alpha and kind != "JPEG" else "RGB"
    if upright.mode == "L" and not alpha:
        mode = "L"
    icc = upright.info.get("icc_profile")
    converted = upright.convert(mode) if upright.mode != mode else upright
    del upright  # large images: one copy fewer at a time
    if icc and mode != "L":
        converted = _to_srgb(converted, icc)
    # A new image has empty info, so no encoder can copy anything across; paste copies pixels only.
    plain = Image.new(mode, converted.size)
    plain.paste(converted)
    return plain


def _to_srgb(image: Image.Image, icc: bytes) -> Image.Image:
    """Colours kept when the profile is dropped (a Display P3 screenshot); as they are if the
    profile is unusable."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode=image.mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image


def _refuse_trailing_data(kind: str, data: bytes) -> None:
    """A file that goes on after its image is something else too (a polyglot: an image and a
    zip, a page, a script); it is refused rather than cut."""
    end = {"PNG": _png_end, "JPEG": _jpeg_end, "WEBP": _webp_end}[kind](data)
    if end is None:
        raise ImageRefused("broken", "The image is damaged or truncated and cannot be read.")
    if data[end:].strip(b"\x00"):
        raise ImageRefused("polyglot", "The file holds other data after the image (a polyglot file or a motion "
                                       "photo): save the screenshot again as a plain image.")


def _png_end(data: bytes) -> int | None:
    position = 8
    while position + 12 <= len(data):
        length, chunk = struct.unpack(">I4s", data[position:position + 8])
        position += 12 + length
        if chunk == b"IEND":
            return position if position <= len(data) else None
    return None


def _jpeg_end(data: bytes) -> int | None:
    """The offset after the EOI marker that closes the image (an EXIF thumbnail's own EOI lies
    inside an APP1 segment and is skipped with it)."""
    position = 2  # after SOI
    while position + 2 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker == 0xD9:
            return position + 2
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            position += 2
            continue
        if position + 4 > len(data):
            return None
        (length,) = struct.unpack(">H", data[position + 2:position + 4])
        position += 2 + length
        if marker == 0xDA:  # start of scan: entropy-coded data up to the next real marker
            while position + 1 < len(data):
                if data[position] == 0xFF and data[position + 1] != 0 and not 0xD0 <= data[position + 1] <= 0xD7:
                    break
                position += 1
    return None


def _webp_is_lossless(data: bytes) -> bool:
    """A VP8L chunk (lossless) rather than VP8 (lossy); the extended format puts others first."""
    position = 12
    while position + 8 <= len(data):
        chunk, size = struct.unpack("<4sI", data[position:position + 8])
        if chunk in (b"VP8L", b"VP8 "):
            return chunk == b"VP8L"
        position += 8 + size + (size & 1)
    return False


def _webp_end(data: bytes) -> int | None:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    (size,) = struct.unpack("<I", data[4:8])
    end = 8 + size + (size & 1)  # chunks are padded to an even length
    return min(end, len(data)) if 8 + size <= len(data) else None
