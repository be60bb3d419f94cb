"""One owner per config folder (issue 17, item 2): the lock, the second app start, ``soulsync sync`` beside the app."""
from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time
from pathlib import Path

import pytest

from soulsync.instance import FolderInUse, FolderLock, ShowRequests

ROOT = Path(__file__).resolve().parents[2]
ENV = dict(os.environ, PYTHONPATH=str(ROOT), SOULSYNC_TESTING="1")


def _read_line(proc: subprocess.Popen, deadline_s: float = 60.0) -> str:
    """The child's next stdout line, waiting at most ``deadline_s``."""
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        assert sel.select(timeout=deadline_s), "the child said nothing"
    return proc.stdout.readline()


def test_one_owner_at_a_time_and_the_owner_is_named(tmp_path):
    first = FolderLock.acquire(tmp_path, "the SoulSync app")
    with pytest.raises(FolderInUse, match=r"in use by the SoulSync app \(process \d+\)"):
        FolderLock.acquire(tmp_path, "soulsync sync")
    first.release()
    FolderLock.acquire(tmp_path, "soulsync sync").release()


def test_the_lock_dies_with_its_process(tmp_path):
    code = ("import sys; from pathlib import Path; from soulsync.instance import FolderLock; "
            f"lock = FolderLock.acquire(Path({str(tmp_path)!r}), 'holder'); print('held', flush=True); sys.stdin.read()")
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env=ENV, cwd=ROOT)
    try:
        assert _read_line(proc).strip() == "held"
        with pytest.raises(FolderInUse, match="holder"):
            FolderLock.acquire(tmp_path, "me")
        proc.kill()  # no clean-up code runs: the operating system drops the lock
        proc.wait(timeout=30)
        FolderLock.acquire(tmp_path, "me").release()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


def test_sync_beside_the_app_stops_with_its_own_status(tmp_path):
    from soulsync.cli import EXIT_BUSY

    held = FolderLock.acquire(tmp_path, "the SoulSync app")
    try:
        playlist = tmp_path / "list.m3u"
        playlist.write_text("#EXTM3U\n#EXTINF:100,A - B\nb.mp3\n")
        result = subprocess.run([sys.executable, "-m", "soulsync", "sync", "--config-dir", str(tmp_path),
                                 "--playlist-file", str(playlist), "--dry-run"],
                                capture_output=True, text=True, timeout=120, cwd=ROOT, env=ENV)
    finally:
        held.release()
    assert result.returncode == EXIT_BUSY == 3, result.stderr
    assert "is in use by the SoulSync app" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists()  # it touched nothing of the owner's


def test_a_second_start_brings_the_running_window_forward_and_exits(qtbot, tmp_path):
    held = FolderLock.acquire(tmp_path, "the SoulSync app")
    shown: list[float] = []
    requests = ShowRequests(tmp_path, lambda: shown.append(time.monotonic()))
    assert requests.listening
    proc = subprocess.Popen([sys.executable, "-m", "soulsync", "--config-dir", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, cwd=ROOT)
    try:
        qtbot.waitUntil(lambda: proc.poll() is not None, timeout=60_000)  # the event loop answers meanwhile
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=30)
        requests.close()
        held.release()
    assert proc.returncode == 0, err
    assert len(shown) == 1 and "already running" in out
    assert not (tmp_path / "data").exists()
