"""The main job (:class:`soulsync.core.sync_run.SyncRun`) driven without Qt and without sockets.

The library, the playlist reader, slskd and the download queue are fakes; the
run is driven exactly as the CLI, the Sync page, the Download missing dialog
and the scheduler drive it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from soulsync.core.analysis import Status, TrackStatus, index_library
from soulsync.core.models import Playlist, Track
from soulsync.core.ratelimit import SearchRateLimiter
from soulsync.core.run_progress import Phase
from soulsync.core.store import Store
from soulsync.core.sync_run import (
    CountsChanged, DownloadsEnded, DownloadTools, Note, PlaylistAnalysed, PlaylistSkipped, Stage, StageStarted,
    SyncError, SyncOptions, SyncRequest, SyncRun, TrackChanged,
)
from tests.unit.test_sync_download import JOGA, NOPE, ONE, Clock, FakeQueue, FakeSlskd, peer_file

OWNED = Track("Around the World", ["Daft Punk"], album="Homework", duration_ms=429_000, path="/library/atw.flac")


@dataclass
class Report:
    text: str
    cancelled: bool = False

    def summary(self) -> str:
        return self.text


@dataclass
class Mirrored:
    message: str
    user_playlist: object = None


@dataclass
class FakeLibrary:
    """An in-memory library: a pick-up adds a track for each new file (named after the wanted track)."""

    tracks: list[Track] = field(default_factory=lambda: [OWNED])
    calls: list[str] = field(default_factory=list)
    mirrored: list[tuple[str, list[Status]]] = field(default_factory=list)
    fail_pick_up: bool = False
    queue: FakeQueue | None = None
    supports_playlists: bool = True
    name: str = "the fake library"

    def refresh(self, full, progress, cancel):
        self.calls.append("refresh")
        return Report(f"Library refreshed: {len(self.tracks)} tracks")

    def index(self, progress, cancel):
        self.calls.append("index")
        return index_library(self.tracks, progress, cancel)

    def pick_up(self, paths, cancel):
        self.calls.append("pick_up")
        if self.fail_pick_up:
            raise OSError("the library server went away")
        assert self.queue is not None
        filed = {i.final_path: i.wanted for i in self.queue.items_by_id.values() if i.final_path}
        for path in paths:
            wanted = filed[path]
            self.tracks.append(Track(wanted.title, list(wanted.artists), album=wanted.album,
                                     duration_ms=wanted.duration_ms, path=path))
        return Report(f"{len(paths)} new files picked up")

    def mirror_playlist(self, playlist: Playlist, statuses: list[TrackStatus]):
        self.mirrored.append((playlist.name, [s.status for s in statuses]))
        return Mirrored(f"Plex playlist {playlist.name!r} updated")


class Reader:
    def __init__(self, tracks: dict[str, list[Track]], skip: dict[str, str] | None = None) -> None:
        self.by_id, self.skip = tracks, skip or {}

    def tracks(self, playlist: Playlist) -> list[Track]:
        if playlist.id in self.skip:
            raise PlaylistSkipped(self.skip[playlist.id])
        return list(self.by_id[playlist.id])


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(tmp_path / "db.sqlite3")


def found_everywhere() -> FakeSlskd:
    return FakeSlskd({"Daft Punk One More Time": [peer_file("Daft Punk", "Discovery", "One More Time")],
                      "Björk Jóga": [peer_file("Björk", "Homogenic", "Jóga", n=3, length=300)]})


def tools(slskd: FakeSlskd, queue: FakeQueue) -> DownloadTools:
    clock = Clock()
    return DownloadTools(client=slskd, queue=queue, limiter=SearchRateLimiter(clock=clock), poll_interval_s=0.0)


def run_job(store, request, options, library, reader=None, downloads=None, cancel_when=None):
    events: list = []

    def on_event(event) -> None:
        events.append(event)

    run = SyncRun(request, options, store=store, library=library, reader=reader, downloads=downloads,
                  on_event=on_event, is_cancelled=lambda: cancel_when is not None and cancel_when(events),
                  wait=lambda _s: False)
    return run.run(), events


def stages(events) -> list[Stage]:
    return [e.stage for e in events if isinstance(e, StageStarted)]


def test_the_whole_job_reads_compares_downloads_picks_up_once_and_mirrors(store) -> None:
    queue = FakeQueue()
    library = FakeLibrary(queue=queue)
    mix = Playlist("pl1", "Mix", source="spotify")
    reader = Reader({"pl1": [OWNED, ONE, JOGA]})
    result, events = run_job(store, SyncRequest(playlists=[mix]),
                             SyncOptions(refresh_library=True, mirror=True), library, reader,
                             tools(found_everywhere(), queue))
    assert stages(events) == [Stage.PLAYLISTS, Stage.LIBRARY, Stage.INDEX, Stage.ANALYSIS, Stage.DOWNLOADS,
                              Stage.PICKUP, Stage.INDEX, Stage.ANALYSIS, Stage.MIRROR]
    first = next(e for e in events if isinstance(e, PlaylistAnalysed))
    assert (first.owned, first.missing) == (1, 2)
    # the library was read once, picked up once for the batch, and indexed once before and once after
    assert library.calls == ["refresh", "index", "pick_up", "index"]
    assert result.downloads is not None and result.downloads.summary() == "2 of 2 downloaded"
    assert result.missing == 0 and [r.owned for r in result.playlists] == [3]
    assert library.mirrored == [("Mix", [Status.OWNED] * 3)]
    assert store.playlist_analysis()["pl1"][:2] == (3, 0)
    assert any(isinstance(e, TrackChanged) and e.progress.phase is Phase.DOWNLOADED for e in events)
    assert isinstance(next(e for e in events if isinstance(e, DownloadsEnded)), DownloadsEnded)
    assert "2 new files picked up" in result.notes
    assert result.summary() == "3 of 3 tracks in the library; downloads: 2 of 2 downloaded"


def test_a_dry_run_compares_only_and_never_builds_the_download_tools(store) -> None:
    def no_tools():
        raise AssertionError("a dry run must not reach slskd")

    library = FakeLibrary()
    result, events = run_job(store, SyncRequest(playlists=[Playlist("pl1", "Mix")]),
                             SyncOptions(download=False), library, Reader({"pl1": [OWNED, NOPE]}), no_tools)
    assert result.downloads is None and result.missing == 1
    assert library.calls == ["index"] and Stage.DOWNLOADS not in stages(events)


def test_nothing_missing_needs_no_slskd_but_something_missing_does(store) -> None:
    library = FakeLibrary()
    request = SyncRequest(playlists=[Playlist("pl1", "Mix")])
    result, _ = run_job(store, request, SyncOptions(), library, Reader({"pl1": [OWNED]}), None)
    assert result.missing == 0 and result.downloads is None
    with pytest.raises(SyncError, match="slskd is not set up"):
        run_job(store, request, SyncOptions(), library, Reader({"pl1": [OWNED, NOPE]}), None)


def test_a_playlist_that_cannot_be_read_is_left_out_with_the_reason_and_the_others_go_on(store) -> None:
    library = FakeLibrary()
    playlists = [Playlist("gone", "Gone"), Playlist("pl1", "Mix")]
    reader = Reader({"pl1": [OWNED]}, skip={"gone": "Spotify does not hand this playlist over"})
    result, events = run_job(store, SyncRequest(playlists=playlists), SyncOptions(download=False), library, reader)
    assert [r.skipped for r in result.playlists] == ["Spotify does not hand this playlist over", ""]
    assert [e.text for e in events if isinstance(e, Note) and e.notable] == [
        "'Gone' left out: Spotify does not hand this playlist over"]
    assert [e.playlist.name for e in events if isinstance(e, PlaylistAnalysed)] == ["Mix"]


def test_cancelled_during_downloads_keeps_what_finished_picks_it_up_and_does_not_mirror(store) -> None:
    queue = FakeQueue()
    queue.stall = {"@@share\\Music\\Björk\\Homogenic\\03 - Jóga.flac"}
    library = FakeLibrary(queue=queue)

    def once_one_is_downloaded(events) -> bool:
        return any(isinstance(e, CountsChanged) and e.counts.downloaded == 1 for e in events)

    result, events = run_job(store, SyncRequest(playlists=[Playlist("pl1", "Mix")]), SyncOptions(mirror=True),
                             library, Reader({"pl1": [ONE, JOGA]}), tools(found_everywhere(), queue),
                             cancel_when=once_one_is_downloaded)
    assert result.cancelled and result.downloads is not None
    assert result.downloads.progress.downloaded == 1
    assert library.calls == ["index", "pick_up"], "what finished is picked up, nothing is compared or mirrored"
    assert library.mirrored == [] and Stage.MIRROR not in stages(events)


def test_wanted_tracks_without_analysis_then_the_playlists_are_compared_for_the_mirror(store) -> None:
    """The Download missing dialog: the page analysed already and hands the missing rows over."""
    queue = FakeQueue()
    library = FakeLibrary(queue=queue)
    result, events = run_job(store, SyncRequest(playlists=[Playlist("pl1", "Mix")], tracks=[(ONE, "pl1")]),
                             SyncOptions(analyse=False, mirror=True), library, Reader({"pl1": [OWNED, ONE]}),
                             tools(found_everywhere(), queue))
    assert library.calls == ["pick_up", "index"]
    assert stages(events)[:2] == [Stage.PLAYLISTS, Stage.DOWNLOADS]
    assert library.mirrored == [("Mix", [Status.OWNED, Status.OWNED])]
    assert result.downloads is not None and result.downloads.tracks[0].playlist_ids == ["pl1"]


def test_a_failed_pick_up_is_told_and_the_run_goes_on(store) -> None:
    queue = FakeQueue()
    library = FakeLibrary(queue=queue, fail_pick_up=True)
    result, events = run_job(store, SyncRequest(tracks=[(ONE, None)]), SyncOptions(), library, None,
                             tools(found_everywhere(), queue))
    assert result.downloads is not None and result.downloads.progress.downloaded == 1
    assert result.downloads.warnings == ["the library could not pick up the new files: the library server went away"]
    assert any(isinstance(e, Note) and e.notable and "could not pick up" in e.text for e in events)


def test_m3u8_files_are_written_for_each_playlist(store, tmp_path: Path) -> None:
    library = FakeLibrary()
    result, _ = run_job(store, SyncRequest(playlists=[Playlist("pl1", "Mix / Best")]),
                        SyncOptions(download=False, m3u8_dir=tmp_path / "lists"), library,
                        Reader({"pl1": [OWNED, NOPE]}))
    written = list((tmp_path / "lists").iterdir())
    assert len(written) == 1 and "/library/atw.flac" in written[0].read_text()
    assert result.notes[-1].startswith(f"Wrote {written[0]}")
