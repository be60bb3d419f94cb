"""Deterministic cover art for the simulations: a JPEG per id, drawn with Pillow.

The same ``key`` always gives the same picture (colours and shapes come from a
SHA-256 of the key, never from Python's salted ``hash``). Rendered images are
kept in a bounded in-memory cache, so a grid of thumbnails costs one drawing each.
"""
from __future__ import annotations

import hashlib
import io
from functools import lru_cache

from PIL import Image, ImageDraw

SIZES = (640, 300, 64)
"""The sizes Spotify offers for album and playlist covers."""
MAX_SIZE = 1000


def _palette(digest: bytes) -> list[tuple[int, int, int]]:
    colours = []
    for i in range(0, 12, 3):
        r, g, b = digest[i], digest[i + 1], digest[i + 2]
        colours.append((r // 2 + 64, g // 2 + 48, b // 2 + 64))
    return colours


@lru_cache(maxsize=512)
def cover_jpeg(key: str, size: int = 640) -> bytes:
    """A ``size`` x ``size`` JPEG for ``key`` (an artist, album, playlist or track id)."""
    size = max(16, min(MAX_SIZE, int(size)))
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    top, bottom, accent, second = _palette(digest)
    img = Image.new("RGB", (size, size), top)
    draw = ImageDraw.Draw(img)
    for y in range(0, size, max(1, size // 64)):  # vertical gradient in bands
        t = y / size
        colour = tuple(int(top[c] * (1 - t) + bottom[c] * t) for c in range(3))
        draw.rectangle((0, y, size, y + size // 64 + 1), fill=colour)
    style = digest[12] % 3
    if style == 0:  # concentric rings
        cx, cy = size * (0.3 + digest[13] / 640), size * (0.3 + digest[14] / 640)
        for ring in range(6, 0, -1):
            r = size * ring / 10
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=accent if ring % 2 else second,
                         width=max(1, size // 40))
    elif style == 1:  # diagonal stripes
        step = max(4, size // (4 + digest[13] % 6))
        for x in range(-size, size * 2, step * 2):
            draw.polygon(((x, 0), (x + step, 0), (x + step - size, size), (x - size, size)), fill=accent)
    else:  # a sun over a horizon
        r = size * (0.18 + digest[13] / 1400)
        cx = size * (0.25 + digest[14] / 512)
        draw.ellipse((cx - r, size * 0.45 - r, cx + r, size * 0.45 + r), fill=accent)
        draw.rectangle((0, size * 0.62, size, size), fill=second)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=82)
    return out.getvalue()
