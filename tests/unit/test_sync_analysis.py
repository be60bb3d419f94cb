"""Playlist analysis against the library index: owned, missing, overrides both ways, ambiguity, exports."""
from __future__ import annotations

from pathlib import Path

import pytest

from soulsync.core.models import Track
from soulsync.core.playlist_m3u import parse_m3u
from soulsync.core.store import Store
from soulsync.core.store_records import wanted_key
from soulsync.core.analysis import Cancelled, Status, analyse, count_statuses, index_library, library_key, missing_tracks, save_analysis
from soulsync.core.m3u8 import export_m3u8
from soulsync.core.soulseek_query import query_forms

LIBRARY = [
    Track("One More Time", ["Daft Punk"], album="Discovery", duration_ms=320_000, path="/music/dp/01.flac"),
    Track("Digital Love", ["Daft Punk"], album="Discovery", duration_ms=301_000, path="/music/dp/03.flac"),
    Track("Jóga", ["Björk"], album="Homogenic", duration_ms=305_000, path="/music/bjork/03.flac",
          isrc="GBAYE9700123"),
    Track("Song", ["Artist"], album="First", duration_ms=200_000, path="/music/a/song-1.flac"),
    Track("Song", ["Artist"], album="Second", duration_ms=260_000, path="/music/a/song-2.flac"),
    Track("Paranoid Android", ["Radiohead"], album="OK Computer", duration_ms=383_000, plex_rating_key="1001",
          path="/srv/radiohead/02.flac"),
]


@pytest.fixture(scope="module")
def library():
    return index_library(LIBRARY)


def wanted(title: str, artist: str, **kw) -> Track:
    return Track(title, [artist], **kw)


def test_owned_with_the_matched_library_track_and_its_confidence(library) -> None:
    index, by_key = library
    [status] = analyse([wanted("One More Time", "Daft Punk", duration_ms=320_500, spotify_id="0DiWol3AO6WpXZgp0goxAV")],
                       index, {}, library=by_key, playlist_id="pl1")
    assert status.status is Status.OWNED and status.match is LIBRARY[0]
    assert status.library_path == "/music/dp/01.flac" and status.library_key == "/music/dp/01.flac"
    assert status.score is not None and status.score >= 0.9 and not status.ambiguous and not status.overridden
    assert status.playlist_id == "pl1" and status.position == 0
    assert status.as_json() == {"title": "One More Time", "artists": ["Daft Punk"], "status": "owned",
                                "library_path": "/music/dp/01.flac", "score": round(status.score, 4)}


def test_spelling_variants_and_isrc_still_match(library) -> None:
    index, by_key = library
    statuses = analyse([wanted("Joga", "Bjork", duration_ms=306_000),
                        wanted("Totally different words", "Nobody", isrc="GBAYE9700123"),
                        wanted("Paranoid Android - Remastered", "Radiohead", duration_ms=383_500)],
                       index, {}, library=by_key)
    assert [s.status for s in statuses] == [Status.OWNED] * 3
    assert statuses[2].library_key == "1001"


def test_missing_when_nothing_in_the_library_is_that_recording(library) -> None:
    index, by_key = library
    statuses = analyse([wanted("Harder Better Faster Stronger", "Daft Punk", duration_ms=224_000),
                        wanted("One More Time (Live)", "Daft Punk", duration_ms=330_000),
                        wanted("One More Time", "Someone Else Entirely", duration_ms=180_000)],
                       index, {}, library=by_key)
    assert [s.status for s in statuses] == [Status.MISSING] * 3
    assert all(s.match is None and s.score is None and s.library_path is None for s in statuses)
    assert statuses[0].as_json()["status"] == "missing" and statuses[0].as_json()["library_path"] is None


def test_a_pinned_override_wins_over_the_matcher(library) -> None:
    index, by_key = library
    track = wanted("Some Odd Bootleg Name", "Daft Punk")
    assert analyse([track], index, {}, library=by_key)[0].status is Status.MISSING
    pinned = {wanted_key(track): "/music/dp/03.flac"}
    [status] = analyse([track], index, pinned, library=by_key)
    assert status.status is Status.OWNED and status.match is LIBRARY[1]
    assert status.overridden and status.score == 1.0 and status.reason == "matched by you"


def test_a_not_in_library_override_makes_an_owned_track_missing(library) -> None:
    index, by_key = library
    track = wanted("One More Time", "Daft Punk", duration_ms=320_000)
    [status] = analyse([track], index, {wanted_key(track): None}, library=by_key)
    assert status.status is Status.MISSING and status.overridden and status.match is None


def test_a_pin_to_a_track_that_left_the_library_falls_back_to_matching(library) -> None:
    index, by_key = library
    track = wanted("Digital Love", "Daft Punk", duration_ms=301_000)
    [status] = analyse([track], index, {wanted_key(track): "/music/gone.flac"}, library=by_key)
    assert status.status is Status.OWNED and status.match is LIBRARY[1] and not status.overridden
    assert "no longer in the library" in status.reason


def test_ambiguous_when_two_different_library_tracks_fit_equally(library) -> None:
    index, by_key = library
    [vague] = analyse([wanted("Song", "Artist")], index, {}, library=by_key)
    assert vague.status is Status.OWNED and vague.ambiguous and vague.runner_up is not None
    assert {vague.match.album, vague.runner_up.album} == {"First", "Second"}
    [precise] = analyse([wanted("Song", "Artist", duration_ms=260_000)], index, {}, library=by_key)
    assert precise.match.album == "Second" and not precise.ambiguous


def test_ignored_tracks_and_counts(library, tmp_path: Path) -> None:
    index, by_key = library
    skip = wanted("Digital Love", "Daft Punk")
    tracks = [wanted("One More Time", "Daft Punk"), wanted("  ", "Someone"), skip,
              wanted("Nope", "Nobody"), wanted("One More Time", "Daft Punk")]
    statuses = analyse(tracks, index, {}, library=by_key, ignored={wanted_key(skip)})
    assert [s.status for s in statuses] == [Status.OWNED, Status.IGNORED, Status.IGNORED, Status.MISSING,
                                           Status.OWNED]
    assert [s.position for s in statuses] == [0, 1, 2, 3, 4]
    assert count_statuses(statuses) == (2, 1)
    assert missing_tracks(statuses) == [(tracks[3], None)]
    store = Store(tmp_path / "db.sqlite3")
    assert save_analysis(store, "pl", statuses) == (2, 1)
    owned, missing, _when = store.playlist_analysis()["pl"]
    assert (owned, missing) == (2, 1)


def test_progress_and_cancel(library) -> None:
    index, by_key = library
    tracks = [wanted(f"Unknown {n}", "Nobody") for n in range(250)]
    seen: list[tuple[int, int]] = []
    analyse(tracks, index, {}, library=by_key, progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (0, 250) and seen[-1] == (250, 250) and len(seen) >= 3
    calls = {"n": 0}

    def cancel() -> bool:
        calls["n"] += 1
        return calls["n"] > 1

    with pytest.raises(Cancelled):
        analyse(tracks, index, {}, library=by_key, cancel=cancel)
    with pytest.raises(Cancelled):
        index_library(LIBRARY, cancel=lambda: True)


def test_index_keys_are_the_stores_keys() -> None:
    _index, by_key = index_library(LIBRARY)
    assert by_key["1001"] is LIBRARY[5] and by_key["/music/dp/01.flac"] is LIBRARY[0]
    assert library_key(Track("T", ["A"], album="B")) == "A|B|T"


@pytest.mark.parametrize(("track", "forms"), [
    (Track("One More Time", ["Daft Punk"], album="Discovery"),
     ["Daft Punk One More Time", "One More Time Discovery"]),
    (Track("Jóga", ["Björk"], album="Homogenic"), ["Björk Jóga", "Jóga Homogenic", "bjork joga"]),
    (Track("Don't Stop Me Now - Remastered 2011", ["Queen"], album="Jazz (2011 Remaster)"),
     ["Queen Don Stop Me Now", "Don Stop Me Now Jazz"]),  # slskd drops "t"
    (Track("Stay (feat. Justin Bieber)", ["The Kid LAROI"], album="Stay"), ["The Kid LAROI Stay"]),
    (Track("Part 2 - Reprise", ["X"]), ["Part"]),  # what slskd searches of "X Part 2"
    (Track("Losing My Religion", ["R.E.M."], album="Out of Time"),
     ["Losing My Religion", "Losing My Religion Out of Time", "REM Losing My Religion"]),
    (Track("愛", ["光"], album="愛"), []),  # nothing slskd would search
    (Track("7", ["X"], album="Seven Songs"), ["Seven Songs"]),
    (Track("(Untitled)", ["Sigur Rós"], album="( )"), ["Sigur Rós Untitled", "sigur ros untitled"]),
    (Track("Solo", []), ["Solo"]),
    (Track("", []), []),
])
def test_query_forms(track: Track, forms: list[str]) -> None:
    assert query_forms(track) == forms


def test_export_m3u8_relative_paths_in_order_and_read_back(tmp_path: Path) -> None:
    music = tmp_path / "Music"
    tracks = [Track("B Song", ["B"], duration_ms=61_400, path=str(music / "B" / "b.flac")),
              Track("A Song", ["A"], duration_ms=None, path=str(music / "A" / "a.mp3"))]
    index, by_key = index_library(tracks)
    wanted_tracks = [wanted("B Song", "B"), wanted("Gone", "Nobody"), wanted("A Song", "A"), wanted("B Song", "B")]
    statuses = analyse(wanted_tracks, index, {}, library=by_key)
    target = tmp_path / "lists" / "mine.m3u8"
    target.parent.mkdir()
    assert export_m3u8(statuses, target, "Mine") == 2
    text = target.read_text(encoding="utf-8")
    assert text.splitlines() == ["#EXTM3U", "#PLAYLIST:Mine", "#EXTINF:61,B - B Song", "../Music/B/b.flac",
                                 "#EXTINF:-1,A - A Song", "../Music/A/a.mp3"]
    back = parse_m3u(text, base_dir=target.parent)
    assert [(t.title, t.artists) for t in back.playlist.tracks] == [("B Song", ["B"]), ("A Song", ["A"])]
    assert [Path(t.path).resolve() for t in back.playlist.tracks] == [Path(t.path) for t in tracks]
