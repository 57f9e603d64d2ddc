"""Images and composer steps for the figures' tests."""

import io
import re

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image


def image_bytes(fmt: str = "PNG", size=(64, 48), color=(200, 30, 30), mode: str = "RGB", **save) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, fmt, **save)
    return out.getvalue()


def upload(data: bytes, name: str = "screenshot.png", content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def token(response, name: str = "figures_token") -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', response.content.decode())
    return found.group(1) if found else ""


def add_figure(client, url: str, data: bytes | None = None, caption: str = "偽サイトのログイン画面", **fields):
    """One "attach a figure" step of the composer; (response, the figures token it carries on).
    Keys HTTP_… are request headers, the others form fields."""
    headers = {k: fields.pop(k) for k in list(fields) if k.startswith("HTTP_")}
    post = {"title": "題", "body": "", "step": "add_figure", "figure-caption": caption,
            "figure-file": upload(image_bytes() if data is None else data), **fields}
    response = client.post(url, post, **headers)
    return response, token(response)
