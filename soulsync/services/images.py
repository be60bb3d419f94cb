"""Fetch cover and artist images: bounded in size, images only, errors as None."""
from __future__ import annotations

import logging

import requests

log = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 8 * 1024 * 1024
_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF8", b"RIFF")


def fetch_image(url: str, timeout: float = 10.0, headers: dict[str, str] | None = None,
                verify: bool = True) -> bytes | None:
    """The image at ``url``, or None when it is missing, too large or not an image."""
    if not url or not url.lower().startswith(("http://", "https://")):
        return None
    try:
        with requests.get(url, timeout=timeout, headers=headers, stream=True, verify=verify,
                          allow_redirects=False) as resp:
            if resp.status_code != 200:
                return None
            data = b""
            for chunk in resp.iter_content(65536):
                data += chunk
                if len(data) > MAX_IMAGE_BYTES:
                    log.warning("Image at %s is larger than %d bytes; skipped", url.split("?")[0], MAX_IMAGE_BYTES)
                    return None
    except requests.RequestException as exc:
        log.info("Could not fetch image %s: %s", url.split("?")[0], type(exc).__name__)
        return None
    return data if data.startswith(_MAGIC) else None


def store_bounded(path, data: bytes, limit: int) -> None:
    """Write an image into a cache folder, keeping at most ``limit`` images there (oldest go first)."""
    from pathlib import Path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    files = sorted(path.parent.glob("*.jpg"), key=lambda f: f.stat().st_mtime)
    for old in files[: max(0, len(files) - limit)]:
        old.unlink(missing_ok=True)
