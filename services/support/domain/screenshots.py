"""Screenshot checks: PNG or JPEG proven by decoding, bounded size and pixel count, metadata stripped."""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000  # e.g. 8K × 5K; a bigger image is a decompression bomb, not a screenshot
_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg"}
_EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg"}


class ScreenshotRejected(ValueError):
    pass


@dataclass(frozen=True)
class CleanScreenshot:
    filename: str
    content_type: str
    data: bytes
    width: int
    height: int


def clean_screenshot(data: bytes, filename: str) -> CleanScreenshot:
    """Decode the image fully, then re-encode it without any metadata (EXIF, text chunks, ICC, comments)."""
    if len(data) > MAX_BYTES:
        raise ScreenshotRejected(f"must be at most {MAX_BYTES // (1024 * 1024)} MiB")
    if not data:
        raise ScreenshotRejected("is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(_FORMATS)) as probe:
                kind = probe.format or ""
                width, height = probe.size
                if width * height > MAX_PIXELS:
                    raise ScreenshotRejected(f"must have at most {MAX_PIXELS} pixels")
                probe.load()  # decodes every byte: a truncated or forged file fails here
                image = probe.copy()
    except ScreenshotRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ScreenshotRejected(f"must have at most {MAX_PIXELS} pixels") from None
    except Exception:
        raise ScreenshotRejected("must be a PNG or JPEG image") from None
    content_type = _FORMATS.get(kind)
    if content_type is None:
        raise ScreenshotRejected("must be a PNG or JPEG image")
    out = io.BytesIO()
    if kind == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=90)
    else:
        if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I;16"):
            image = image.convert("RGBA")
        image.save(out, "PNG", optimize=False)
    stem = "".join(c for c in filename.rsplit(".", 1)[0] if c.isalnum() or c in "-_ ")[:80].strip() or "screenshot"
    return CleanScreenshot(stem + _EXTENSIONS[content_type], content_type, out.getvalue(), width, height)
