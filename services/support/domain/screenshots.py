"""Screenshot checks: PNG or JPEG proven by decoding, bounded size and pixel count, metadata stripped."""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image

MAX_BYTES = 5 * 1024 * 1024
# What a real screenshot needs: a 5K display (5120 × 2880 = 14.7 Mpx) or two 4K monitors side by side (7680 × 2160 =
# 16.6 Mpx). Decoding costs time and memory in proportion (about 4 bytes a pixel), so nothing bigger is decoded.
MAX_PIXELS = 17_000_000
_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg"}
_EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg"}


class ScreenshotRejected(ValueError):
    """Not a screenshot the portal keeps; ``reason`` names the rule (the field violation's reason)."""

    def __init__(self, message: str, reason: str = "SCREENSHOT_INVALID") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class CleanScreenshot:
    filename: str
    content_type: str
    data: bytes
    width: int
    height: int


def clean_screenshot(data: bytes, filename: str) -> CleanScreenshot:
    """Decode the image fully, then re-encode it without any metadata (EXIF, text chunks, ICC, comments). CPU-bound
    (up to about half a second): the service runs it off its event loop (service_layer/screenshots.py)."""
    if len(data) > MAX_BYTES:
        raise ScreenshotRejected(f"must be at most {MAX_BYTES // (1024 * 1024)} MiB", "SCREENSHOT_TOO_LARGE")
    if not data:
        raise ScreenshotRejected("is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(_FORMATS)) as probe:
                kind = probe.format or ""
                width, height = probe.size
                if width * height > MAX_PIXELS:
                    raise ScreenshotRejected(f"must have at most {MAX_PIXELS} pixels", "SCREENSHOT_TOO_LARGE")
                probe.load()  # decodes every byte: a truncated or forged file fails here
                if kind not in _FORMATS:
                    raise ScreenshotRejected("must be a PNG or JPEG image")
                out = _reencoded(probe, kind)  # from the decoded image itself: no second copy in memory
    except ScreenshotRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ScreenshotRejected(f"must have at most {MAX_PIXELS} pixels", "SCREENSHOT_TOO_LARGE") from None
    except Exception:
        raise ScreenshotRejected("must be a PNG or JPEG image") from None
    content_type = _FORMATS[kind]
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]  # the directory part, if any, is dropped
    stem = "".join(c for c in base.rsplit(".", 1)[0] if c.isalnum() or c in "-_ ")[:80].strip() or "screenshot"
    return CleanScreenshot(stem + _EXTENSIONS[content_type], content_type, out.getvalue(), width, height)


def _reencoded(image: Image.Image, kind: str) -> io.BytesIO:
    """Pixels only: Pillow would carry over an ICC profile (PNG, JPEG) or comment (JPEG) read from the upload."""
    out = io.BytesIO()
    if kind == "JPEG":
        (image if image.mode == "RGB" else image.convert("RGB")).save(out, "JPEG", quality=90, icc_profile=None,
                                                                      comment=b"")
    else:
        if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I;16"):
            image = image.convert("RGBA")
        image.save(out, "PNG", optimize=False, icc_profile=None)
    return out
