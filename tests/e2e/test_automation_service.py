"""``soulsync run`` as a home server runs it, with nobody clicking: the three set-and-forget stories end to end.

The service runs as a subprocess against the simulations, its schedule's clock sped up (``--time-scale``),
while the test changes the world the way Spotify and Soulseek peers would: a kept playlist gains a track, a
watched artist publishes a single, a wishlisted track nobody shared turns up on a peer. Each ends tagged in
the library (the playlist's also in its Plex mirror); SIGTERM then stops the service gracefully.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import mutagen
import pytest

from tests.e2e.test_automation_loop import not_in_library
from tests.e2e.test_cli_sync import PYTHON, ROOT, no_traceback, run

pytestmark = pytest.mark.slow


def titles_in(library: Path) -> set[str]:
    out = set()
    for path in library.rglob("*"):
        if path.suffix in (".flac", ".mp3", ".ogg") and path.is_file():
            tags = mutagen.File(path, easy=True)
            if tags is not None and tags.get("title"):
                out.add(tags["title"][0])
    return out


class Service:
    """``soulsync run`` in a subprocess; its stdout lines collected as they come."""

    def __init__(self, config: str) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT), SOULSYNC_TESTING="1")
        self.proc = subprocess.Popen(
            [str(PYTHON if PYTHON.exists() else sys.executable), "-m", "soulsync", "run", "--time-scale", "3600",
             "--config-dir", config], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
        self.lines: list[str] = []
        self.changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                self.changed.notify_all()

    def wait_for(self, what, timeout: float) -> None:
        """Until ``what()`` holds (checked at each line the service prints, and every second)."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not what():
                left = deadline - time.monotonic()
                assert left > 0 and self.proc.poll() is None, "\n".join(self.lines[-20:])
                self.changed.wait(min(1.0, left))


def test_the_headless_service_keeps_the_library_complete_by_itself(demo_context, sim_world):
    demo_context.settings.downloads.stall_timeout_s = 20.0
    demo_context.save()
    config = str(demo_context.paths.config_dir)
    store = demo_context.store
    library = Path(sim_world.library_dir)
    playlist = next(p for p in sim_world.catalog.playlists if p.name == "New Playlist")
    artist = sim_world.catalog.artists[3]
    for args in (("keep", "add", playlist.name, "--every", "6", "--mirror"), ("watch", "add", artist.name, "--download")):
        result = run(*args, "--config-dir", config)
        no_traceback(result)
        assert result.returncode == 0, result.stderr
    in_playlists = {t.spotify_id for p in sim_world.catalog.playlists for t in p.tracks}
    wished = not_in_library(sim_world, avoid=in_playlists)
    sim_world.make_unavailable(wished.spotify_id)
    store.add_to_wishlist(wished, "not found on Soulseek")

    service = Service(config)
    try:
        # the first runs: the empty playlist synced, the artist's releases noted, the wishlist track not found
        service.wait_for(lambda: any(" artists: done: no new releases" in line for line in service.lines)
                         and any(f" playlist:{playlist.id}: done: " in line for line in service.lines)
                         and [n for _t, _r, n in store.wishlist()] == [2], timeout=120)
        added = not_in_library(sim_world, avoid=in_playlists | {wished.spotify_id})
        sim_world.make_available(added.spotify_id)
        sim_world.add_playlist_tracks(playlist.id, [added.spotify_id])
        sim_world.publish_release(artist.spotify_id, "Signal Fires", ["Signal Fires"], kind="single",
                                  release_date="2030-06-01")
        sim_world.make_available(wished.spotify_id)
        wanted = {added.title, "Signal Fires", wished.title}
        service.wait_for(lambda: wanted <= titles_in(library), timeout=240)
        assert store.wishlist() == []
        assert len(sim_world.plex.playlist_rating_keys(playlist.name)) == 1, "the new track is in the Plex mirror"
    finally:
        service.proc.send_signal(signal.SIGTERM)
        try:
            rc = service.proc.wait(timeout=60)
        finally:
            if service.proc.poll() is None:
                service.proc.kill()
    assert rc == 0, service.proc.stderr.read() if service.proc.stderr else ""
    text = "\n".join(service.lines)
    assert "Signal Fires" in text and "1 of 1 downloaded" in text, text
    assert "Traceback" not in (service.proc.stderr.read() if service.proc.stderr else "")
