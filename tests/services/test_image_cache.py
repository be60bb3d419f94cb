"""The bounded image caches on disk (artist images, playlist covers): limit, order, atomic writes."""
from __future__ import annotations

import os
import threading
import time

from soulsync.services.images import store_bounded

JPEG = b"\xff\xd8\xff" + b"x" * 100
PNG = b"\x89PNG\r\n\x1a\n" + b"y" * 100


def test_the_folder_keeps_only_the_newest_images(tmp_path):
    folder = tmp_path / "covers"
    for n in range(10):
        store_bounded(folder / f"{n}.{'png' if n % 2 else 'jpg'}", PNG if n % 2 else JPEG, limit=4)
        os.utime(folder / f"{n}.{'png' if n % 2 else 'jpg'}", ns=(n * 10**9, n * 10**9))
    assert sorted(p.name for p in folder.iterdir()) == ["6.jpg", "7.png", "8.jpg", "9.png"]


def test_a_crashed_write_leaves_no_half_image_and_its_temp_file_is_swept(tmp_path):
    folder = tmp_path / "artists"
    folder.mkdir()
    stale = folder / ".a.jpg.1-2.tmp"
    stale.write_bytes(b"\xff\xd8")  # half an image from a killed process
    old = time.time() - 3600
    os.utime(stale, (old, old))
    fresh = folder / ".b.jpg.3-4.tmp"
    fresh.write_bytes(b"\xff\xd8")  # another thread is writing this one now
    store_bounded(folder / "c.jpg", JPEG, limit=10)
    assert (folder / "c.jpg").read_bytes() == JPEG
    assert not stale.exists() and fresh.exists()
    assert [p.name for p in folder.iterdir() if not p.name.startswith(".")] == ["c.jpg"]


def test_writers_in_many_threads_keep_the_bound(tmp_path):
    folder = tmp_path / "covers"
    errors = []

    def writer(k: int) -> None:
        try:
            for n in range(40):
                store_bounded(folder / f"{k}-{n}.jpg", JPEG, limit=25)
        except Exception as exc:  # noqa: BLE001 - any error is the failure
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    files = list(folder.iterdir())
    assert len(files) <= 25 and not any(p.name.startswith(".") for p in files)
