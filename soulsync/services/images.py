"""Fetch cover and artist images: bounded in size, images only, errors as None."""
from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

import requests

log = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 8 * 1024 * 1024
STALE_TEMP_S = 60.0
"""A cache's temp file older than this was left by a crash and is removed."""
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


def store_bounded(path: Path, data: bytes, limit: int) -> None:
    """Write an image into a cache folder, keeping at most ``limit`` images there (oldest go first).

    The write is atomic (temp file + rename: a crash never leaves half an
    image); every file of the folder counts, whatever its extension; temp files
    a crash left behind are removed once they are a minute old; files another
    thread removes meanwhile are skipped."""
    path = Path(path)
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp"
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    now = time.time()
    kept: list[tuple[int, Path]] = []
    for entry in folder.iterdir():
        try:
            st = entry.stat()
        except OSError:
            continue
        if entry.name.startswith("."):
            if entry.name.endswith(".tmp") and now - st.st_mtime > STALE_TEMP_S:
                entry.unlink(missing_ok=True)
            continue
        kept.append((st.st_mtime_ns, entry))
    kept.sort()
    for _, old in kept[: max(0, len(kept) - limit)]:
        old.unlink(missing_ok=True)
