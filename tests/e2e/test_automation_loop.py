"""Set and forget end to end, with nobody clicking: the schedule (a fake clock) against the simulations.

A kept playlist gains a track on Spotify → the next run files it, tagged, and it is in the Plex mirror; a
watched artist publishes a single → it ends in the library; a wishlisted track nobody shared turns up on a
peer → the next retry gets it. The runs are the headless service's own (``soulsync run`` builds the same
scheduler, jobs and ports); only the clock is moved by hand.
"""
from __future__ import annotations

import argparse
import threading
from pathlib import Path

import mutagen
import pytest

from soulsync.automation import Automation, JobPorts
from soulsync.cli import _library, _tools
from soulsync.core.kept_playlists import KeptPlaylist, PlaylistKind, keep_playlist
from soulsync.core.scheduler import ARTISTS_JOB, WISHLIST_JOB, Outcome, Scheduler, playlist_job
from soulsync.core.watched_artists import NewReleaseAction, WatchedArtist, watch_artist
from soulsync.services.library import BoundLibrary

HOUR = 3600.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def automation(demo_context, sim_world):
    demo_context.settings.downloads.stall_timeout_s = 20.0
    clock = Clock()
    stop = threading.Event()
    args = argparse.Namespace(library_folder=None)
    tools: list = []

    def build_tools():
        if not tools:
            tools.append(_tools(demo_context, args, stop))
        return tools[0]

    scheduler = Scheduler(demo_context.store, clock=clock)
    ports = JobPorts(library=lambda: BoundLibrary(_library(demo_context, args), demo_context.store), tools=build_tools,
                     spotify=demo_context.spotify, refresh_library=True, is_cancelled=stop.is_set, wait=stop.wait)
    notices: list = []
    auto = Automation(demo_context, scheduler, ports, notify=notices.append, clock=clock)
    yield auto, scheduler, clock, notices
    stop.set()


def run_due(scheduler, clock, hours: float) -> dict:
    clock.now += hours * HOUR
    return {r.job: r for r in scheduler.run_due()}


def filed(sim_world, title: str) -> list[Path]:
    library = Path(sim_world.library_dir)
    out = []
    for path in library.rglob("*"):
        if path.suffix in (".flac", ".mp3", ".ogg") and path.is_file():
            tags = mutagen.File(path, easy=True)
            if tags is not None and tags.get("title", [""])[0] == title:
                out.append(path)
    return out


def not_in_library(sim_world, avoid: set[str] = frozenset()):
    """A catalog track whose recording the library has in no release (same ISRC, or same artist and title)."""
    library = sim_world.catalog.library
    isrcs = {t.isrc for t in library if t.isrc}
    names = {(t.artist.casefold(), t.title.casefold()) for t in library}
    return next(t for t in sim_world.catalog.tracks if t.spotify_id not in avoid and t.isrc not in isrcs
                and (t.artist.casefold(), t.title.casefold()) not in names
                and t.title.isascii() and "(" not in t.title and " - " not in t.title)


def test_a_kept_playlist_gains_a_track_and_the_next_run_files_and_mirrors_it(automation, demo_context, sim_world):
    auto, scheduler, clock, notices = automation
    playlist = next(p for p in sim_world.catalog.playlists if p.name == "New Playlist")
    keep_playlist(demo_context.store, KeptPlaylist(playlist.id, PlaylistKind.SPOTIFY, playlist.name,
                                                  interval_s=6 * HOUR, mirror_to_plex=True))
    auto.register()
    first = run_due(scheduler, clock, 0)[playlist_job(playlist.id)]
    assert first.outcome is Outcome.SUCCEEDED, first.summary
    assert playlist_job(playlist.id) not in run_due(scheduler, clock, 1), "not due again one hour later"

    track = not_in_library(sim_world)
    sim_world.make_available(track.spotify_id)
    sim_world.add_playlist_tracks(playlist.id, [track.spotify_id])
    second = run_due(scheduler, clock, 5.1)[playlist_job(playlist.id)]
    assert second.outcome is Outcome.SUCCEEDED and "1 of 1 downloaded" in second.summary, second.summary
    (path,) = filed(sim_world, track.title)
    tags = mutagen.File(path, easy=True)
    assert tags.get("artist") == [track.artist] and tags.get("album") == [track.album]
    assert len(sim_world.plex.playlist_rating_keys(playlist.name)) == 1, "mirrored on Plex with the new track"
    assert notices[-1].brought == 1


def test_a_watched_artist_publishes_a_single_and_it_ends_in_the_library(automation, demo_context, sim_world):
    auto, scheduler, clock, _notices = automation
    artist = sim_world.catalog.artists[3]
    watch_artist(demo_context.store, WatchedArtist(artist.spotify_id, artist.name, action=NewReleaseAction.DOWNLOAD))
    auto.register()
    baseline = run_due(scheduler, clock, 0.1)[ARTISTS_JOB]
    assert baseline.summary == "no new releases", "the first look only notes what exists"

    sim_world.publish_release(artist.spotify_id, "Lanterns Over Water", ["Lanterns Over Water"], kind="single",
                              release_date="2030-03-01")
    found = run_due(scheduler, clock, 24)[ARTISTS_JOB]
    assert found.outcome is Outcome.SUCCEEDED and "Lanterns Over Water" in found.summary, found.summary
    assert "1 of 1 downloaded" in found.summary, found.summary
    (path,) = filed(sim_world, "Lanterns Over Water")
    assert mutagen.File(path, easy=True).get("artist") == [artist.name]
    assert run_due(scheduler, clock, 24)[ARTISTS_JOB].summary == "no new releases"


def test_a_wishlisted_track_that_turns_up_on_a_peer_is_got_by_the_next_retry(automation, demo_context, sim_world):
    auto, scheduler, clock, _notices = automation
    track = not_in_library(sim_world, avoid={t.spotify_id for p in sim_world.catalog.playlists for t in p.tracks})
    sim_world.make_unavailable(track.spotify_id)
    demo_context.store.add_to_wishlist(track, "not found on Soulseek", now=clock.now)
    auto.register()
    early = run_due(scheduler, clock, 0.1)
    assert early[WISHLIST_JOB].summary == "nothing on the wishlist is due", "its back-off waits an hour"
    first = run_due(scheduler, clock, 1)[WISHLIST_JOB]
    assert "0 of 1 downloaded" in first.summary and "1 not found" in first.summary, first.summary
    assert [n for _t, _r, n in demo_context.store.wishlist()] == [2]

    sim_world.make_available(track.spotify_id)
    assert run_due(scheduler, clock, 1)[WISHLIST_JOB].summary == "nothing on the wishlist is due", (
        "two failures: the next try waits six hours")
    got = run_due(scheduler, clock, 6)[WISHLIST_JOB]
    assert "1 of 1 downloaded" in got.summary, got.summary
    assert filed(sim_world, track.title) and demo_context.store.wishlist() == []
