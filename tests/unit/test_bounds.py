"""Bounds that trusted ``stat`` (issue 17, item 12): special files as playlists, ``--config-dir`` on a file."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from soulsync.core.playlist_files import import_playlist_file
from soulsync.core.playlist_import import PlaylistImportError

ROOT = Path(__file__).resolve().parents[2]


IMPORT = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, 1536 << 20))  # a regression fails, not the machine
from soulsync.core.playlist_files import import_playlist_file
from soulsync.core.playlist_import import PlaylistImportError
try:
    import_playlist_file(sys.argv[1])
except PlaylistImportError as exc:
    print("refused:", exc)
"""


def _import_elsewhere(path: Path) -> str:
    """Import in a child process bounded in memory and time (``subprocess.run`` kills it at the timeout)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    try:
        result = subprocess.run([sys.executable, "-c", IMPORT, str(path)], capture_output=True, text=True,
                                timeout=60, cwd=ROOT, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail(f"importing {path} did not return within 60 s")
    return result.stdout + result.stderr


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
@pytest.mark.parametrize("suffix", [".csv", ".m3u"])
def test_a_playlist_linked_to_dev_zero_is_refused_in_words(tmp_path, suffix):
    link = tmp_path / f"list{suffix}"
    link.symlink_to("/dev/zero")
    assert "refused:" in (out := _import_elsewhere(link)) and "not a regular file" in out, out


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("suffix", [".csv", ".m3u8"])
def test_a_fifo_playlist_is_refused_without_waiting(tmp_path, suffix):
    fifo = tmp_path / f"list{suffix}"
    os.mkfifo(fifo)
    assert "refused:" in (out := _import_elsewhere(fifo)) and "not a regular file" in out, out


def test_a_file_growing_past_the_limit_is_refused(tmp_path, monkeypatch):
    import soulsync.core.playlist_files as module

    monkeypatch.setattr(module, "MAX_FILE_BYTES", 1000)
    path = tmp_path / "big.csv"
    path.write_text("Track Name,Artist Name(s)\n" + "a,b\n" * 500)
    with pytest.raises(PlaylistImportError, match="too large"):
        import_playlist_file(path)


@pytest.mark.parametrize("command", [["sync", "--playlist-file", "x.csv", "--dry-run"], []])
def test_config_dir_on_a_file_is_refused_and_nothing_written_elsewhere(tmp_path, command):
    target = tmp_path / "not-a-folder"
    target.write_text("mine")
    home = tmp_path / "home"
    home.mkdir()
    env = dict(os.environ, PYTHONPATH=str(ROOT), SOULSYNC_TESTING="1", HOME=str(home),
               XDG_CONFIG_HOME=str(home / "c"), XDG_DATA_HOME=str(home / "d"), XDG_CACHE_HOME=str(home / "k"),
               XDG_STATE_HOME=str(home / "s"))
    result = subprocess.run([sys.executable, "-m", "soulsync", *command[:1], "--config-dir", str(target), *command[1:]],
                            capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    assert result.returncode == 2, result.stderr
    assert "is a file, not a folder" in result.stderr and "Traceback" not in result.stderr
    assert target.read_text() == "mine"
    assert list(home.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["home", "not-a-folder"]
