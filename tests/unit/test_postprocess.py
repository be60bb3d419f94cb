"""The post-processing pipeline end to end on real audio files."""
from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from soulsync.core import postprocess
from soulsync.core.models import Track
from soulsync.core.organize import is_temp_file
from soulsync.core.path_templates import TemplateError
from soulsync.core.postprocess import (
    REASON_SUFFIX,
    Outcome,
    PostProcessOptions,
    PostProcessor,
    Step,
    guess_from_path,
)
from soulsync.core.tagging import TaggingError, read_cover, read_tags, write_tags
from tests.audio_fixtures import available_formats, jpeg_bytes, make_audio

COVER_URL = "https://i.scdn.co/image/album-cover"
COVER = jpeg_bytes(24, 24, seed=4)


class FakeCoverServer:
    """Counts requests; returns the cover (or whatever it was told to)."""

    def __init__(self, payload: bytes | None = COVER, error: Exception | None = None) -> None:
        self.payload = payload
        self.error = error
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, url: str) -> bytes | None:
        with self._lock:
            self.calls.append(url)
        if self.error:
            raise self.error
        return self.payload


@pytest.fixture()
def dirs(tmp_path):
    paths = {name: tmp_path / name for name in ("downloads", "library", "quarantine", "covers")}
    paths["downloads"].mkdir()
    paths["library"].mkdir()
    return paths


def make_processor(dirs, fetch=None, **options) -> PostProcessor:
    options = {"cover_cache_dir": dirs["covers"], **options}
    opts = PostProcessOptions(library_dir=dirs["library"], quarantine_dir=dirs["quarantine"], **options)
    return PostProcessor(opts, fetch_cover=fetch)


def album_tracks(count: int = 3, discs: int = 2) -> list[Track]:
    return [
        Track(title=f"Song {i + 1}", artists=["The Band", "Guest"] if i == 0 else ["The Band"],
              album="Big Album", album_artist="The Band", duration_ms=1000, isrc=f"USXX1000000{i}",
              track_number=i + 1, track_total=count, disc_number=1 + i % discs, disc_total=discs, year=2020,
              genre="Rock", spotify_id=f"trk{i}", spotify_album_id="alb1", spotify_artist_ids=["art1"])
        for i in range(count)
    ]


def test_matched_album_is_tagged_named_and_covered(dirs):
    fetch = FakeCoverServer()
    processor = make_processor(dirs, fetch)
    formats = available_formats()
    tracks = album_tracks(len(formats))
    results = []
    for fmt, track in zip(formats, tracks, strict=True):
        src = make_audio(dirs["downloads"] / f"peer file {track.track_number}.{fmt}")
        results.append(processor.process(src, track, cover_url=COVER_URL, release_date="2020-06-01",
                                         expected_size=src.stat().st_size))
    for fmt, track, result in zip(formats, tracks, results, strict=True):
        assert result.outcome is Outcome.PLACED, result.reason
        expected = (dirs["library"] / "The Band" / "Big Album (2020)"
                    / f"{track.disc_number}-{track.track_number:02d} - {track.title}.{fmt}")
        assert result.final_path == expected and expected.is_file()
        assert result.destination_dir == expected.parent
        assert not result.source.exists()
        back = read_tags(expected)
        assert (back.title, back.artists, back.album, back.album_artist) == (track.title, track.artists,
                                                                            track.album, track.album_artist)
        assert (back.track_number, back.track_total, back.disc_number, back.disc_total) == (
            track.track_number, track.track_total, track.disc_number, track.disc_total)
        assert (back.year, back.genre, back.isrc) == (2020, "Rock", track.isrc)
        assert (back.spotify_id, back.spotify_album_id, back.spotify_artist_ids) == (track.spotify_id, "alb1",
                                                                                     ["art1"])
        assert read_cover(expected) == COVER
        assert any(step.startswith("verified: ") for step in result.done)
        assert "tagged with cover art" in result.done
    cover_file = dirs["library"] / "The Band" / "Big Album (2020)" / "cover.jpg"
    assert cover_file.read_bytes() == COVER
    assert results[0].cover_file == cover_file
    assert fetch.calls == [COVER_URL]  # once for the whole album
    assert len(list(dirs["covers"].glob("*.img"))) == 1
    assert not [p for p in dirs["library"].rglob("*") if is_temp_file(p)]


def test_cover_cache_survives_a_restart(dirs):
    first = FakeCoverServer()
    make_processor(dirs, first).process(make_audio(dirs["downloads"] / "a.flac"), album_tracks(1)[0],
                                        cover_url=COVER_URL)
    second = FakeCoverServer()
    result = make_processor(dirs, second).process(make_audio(dirs["downloads"] / "b.flac"),
                                                  album_tracks(2, discs=1)[1], cover_url=COVER_URL)
    assert result.ok and second.calls == []
    assert "cover art from the cache" in result.done
    assert read_cover(result.final_path) == COVER


def test_cover_cache_is_bounded(dirs):
    fetch = FakeCoverServer()
    processor = make_processor(dirs, fetch, cover_cache_limit=3)
    for i in range(6):
        data, _note = processor.covers.get(f"https://img/{i}")
        assert data == COVER
    assert len(list(dirs["covers"].glob("*.img"))) == 3


def test_concurrent_album_fetches_cover_once(dirs):
    fetch = FakeCoverServer()
    processor = make_processor(dirs, fetch)
    tracks = album_tracks(8, discs=1)
    sources = [make_audio(dirs["downloads"] / f"{i}.ogg") for i in range(8)]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda st: processor.process(st[0], st[1], cover_url=COVER_URL),
                                zip(sources, tracks, strict=True)))
    assert all(r.outcome is Outcome.PLACED for r in results)
    assert fetch.calls == [COVER_URL]
    assert len({r.final_path for r in results}) == 8


def test_single_uses_the_singles_template_without_cover_file(dirs):
    track = Track(title="Lonely", artists=["Solo Act"], duration_ms=1000, year=2021)
    result = make_processor(dirs, FakeCoverServer()).process(make_audio(dirs["downloads"] / "x.mp3"), track,
                                                             cover_url=COVER_URL)
    assert result.final_path == dirs["library"] / "Solo Act" / "Solo Act - Lonely.mp3"
    assert read_cover(result.final_path) == COVER
    assert not (result.final_path.parent / "cover.jpg").exists()


def test_custom_templates(dirs):
    processor = make_processor(dirs, album_template="{genre}/{albumartist} - {album}/{track:03} {title}.{ext}")
    result = processor.process(make_audio(dirs["downloads"] / "x.flac"), album_tracks(1, discs=1)[0])
    assert result.final_path.relative_to(dirs["library"]).parts == ("Rock", "The Band - Big Album",
                                                                    "001 Song 1.flac")


def test_cover_problems_are_warnings_not_failures(dirs):
    for fetch, words in ((FakeCoverServer(error=TimeoutError("timed out")), "timed out"),
                         (FakeCoverServer(payload=b"<html>"), "not a JPEG or PNG"),
                         (FakeCoverServer(payload=None), "could not be downloaded")):
        processor = make_processor(dirs, fetch, cover_cache_dir=None)
        src = make_audio(dirs["downloads"] / "x.flac", freq=300 + len(fetch.calls) + len(words))
        result = processor.process(src, Track(title=words, artists=["A"], duration_ms=1000), cover_url=COVER_URL)
        assert result.outcome is Outcome.PLACED
        assert any(words in w for w in result.warnings)
        assert read_cover(result.final_path) is None


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_broken_download_is_quarantined_with_reason(dirs, damage):
    src = dirs["downloads"] / "Bad Song.flac"
    if damage == "garbage":
        src.write_bytes(b"fLaC" + b"\x13" * 5000)
    elif damage == "truncated":
        whole = make_audio(dirs["downloads"] / "whole.flac", seconds=2).read_bytes()
        src.write_bytes(whole[: len(whole) // 2])
    else:
        src.write_bytes(b"")
    original = src.read_bytes()
    result = make_processor(dirs).process(src, album_tracks(1)[0])
    assert result.outcome is Outcome.FAILED and result.failed_step is Step.VERIFY
    assert result.reason.startswith("the file ")
    assert not src.exists()
    assert result.quarantined_to == dirs["quarantine"] / "Bad Song.flac"
    assert result.quarantined_to.read_bytes() == original
    note = (dirs["quarantine"] / ("Bad Song.flac" + REASON_SUFFIX)).read_text()
    assert result.reason in note and "Step: verify" in note and "Wanted: The Band, Guest - Song 1" in note
    assert not dirs["library"].exists() or not any(dirs["library"].rglob("*.flac"))


def test_failures_in_quarantine_never_overwrite_each_other(dirs):
    processor = make_processor(dirs)
    for payload in (b"one", b"two"):
        src = dirs["downloads"] / "Same.mp3"
        src.write_bytes(payload)
        processor.process(src, album_tracks(1)[0])
    names = sorted(p.name for p in dirs["quarantine"].iterdir())
    assert names == ["Same (2).mp3", "Same (2).mp3" + REASON_SUFFIX, "Same.mp3", "Same.mp3" + REASON_SUFFIX]


def test_leave_in_place_option(dirs):
    src = dirs["downloads"] / "bad.ogg"
    src.write_bytes(b"OggS" + b"\x00" * 100)
    result = make_processor(dirs, on_failure="leave").process(src)
    assert result.outcome is Outcome.FAILED and src.exists() and result.quarantined_to is None
    assert not dirs["quarantine"].exists()


def test_wrong_size_and_wrong_duration_fail_verification(dirs):
    processor = make_processor(dirs, on_failure="leave")
    src = make_audio(dirs["downloads"] / "a.mp3", seconds=1)
    result = processor.process(src, album_tracks(1)[0], expected_size=src.stat().st_size * 2)
    assert result.failed_step is Step.VERIFY and "download incomplete" in result.reason
    long_track = Track(title="Epic", artists=["X"], duration_ms=600_000)
    result = processor.process(src, long_track)
    assert result.failed_step is Step.VERIFY and "10:00 was expected" in result.reason
    assert src.exists()


def test_tagging_failure_is_quarantined_untouched(dirs, monkeypatch):
    src = make_audio(dirs["downloads"] / "a.flac")
    original = src.read_bytes()

    def refuse(path, *_args, **_kwargs):
        raise TaggingError(path, "could not write tags (disk full)")

    monkeypatch.setattr(postprocess, "write_tags", refuse)
    result = make_processor(dirs).process(src, album_tracks(1)[0])
    assert result.outcome is Outcome.FAILED and result.failed_step is Step.TAG
    assert "disk full" in result.reason
    assert result.quarantined_to.read_bytes() == original


def test_missing_source_is_reported(dirs):
    result = make_processor(dirs).process(dirs["downloads"] / "gone.flac", album_tracks(1)[0])
    assert result.outcome is Outcome.FAILED and "cannot be opened" in result.reason
    assert "nothing was set aside" in result.reason


def test_worse_copy_of_a_track_in_the_library_is_not_added(dirs):
    processor = make_processor(dirs)
    track = Track(title="Clash", artists=["Band"], duration_ms=1000)
    flac = processor.process(make_audio(dirs["downloads"] / "a.flac"), track)
    assert flac.outcome is Outcome.PLACED
    mp3_src = make_audio(dirs["downloads"] / "a.mp3")
    mp3 = processor.process(mp3_src, track)
    assert mp3.outcome is Outcome.DUPLICATE and mp3.final_path == flac.final_path
    assert mp3.reason.startswith("kept the existing FLAC") and "the new MP3" in mp3.reason
    assert mp3_src.exists()  # the loser stays where it was, tagged
    assert sorted(p.name for p in flac.final_path.parent.iterdir()) == ["Band - Clash.flac"]


def test_better_copy_replaces_and_old_one_is_kept_aside(dirs):
    processor = make_processor(dirs)
    track = Track(title="Upgrade", artists=["Band"], duration_ms=1000)
    old = processor.process(make_audio(dirs["downloads"] / "a.mp3"), track)
    old_bytes = old.final_path.read_bytes()
    new = processor.process(make_audio(dirs["downloads"] / "a.flac"), track)
    assert new.outcome is Outcome.PLACED and new.reason.startswith("replaced the existing MP3")
    assert new.final_path == old.final_path.with_suffix(".flac")
    assert sorted(p.name for p in new.final_path.parent.iterdir()) == ["Band - Upgrade.flac"]
    kept = new.move.displaced_to
    assert kept.parent == dirs["quarantine"] / "replaced" and kept.read_bytes() == old_bytes


def test_better_copy_under_the_same_name_replaces_it(dirs):
    processor = make_processor(dirs, keep_replaced=False)
    track = Track(title="Same Name", artists=["Band"], duration_ms=1000)
    quiet = processor.process(make_audio(dirs["downloads"] / "a.flac"), track)
    rich = processor.process(make_audio(dirs["downloads"] / "b.flac", noise=0.3), track)
    assert rich.outcome is Outcome.PLACED and rich.final_path == quiet.final_path
    assert rich.reason.startswith("replaced the existing FLAC") and rich.move.displaced_to is None
    assert rich.info.bitrate > quiet.info.bitrate
    assert [p.name for p in rich.final_path.parent.iterdir()] == ["Band - Same Name.flac"]
    assert not (dirs["quarantine"] / "replaced").exists()


def test_same_download_twice_is_already_present(dirs):
    processor = make_processor(dirs)
    track = album_tracks(1)[0]
    first_src = make_audio(dirs["downloads"] / "one.flac")
    second_src = dirs["downloads"] / "two.flac"
    second_src.write_bytes(first_src.read_bytes())
    first = processor.process(first_src, track)
    second = processor.process(second_src, track)
    assert second.outcome is Outcome.DUPLICATE and second.final_path == first.final_path
    assert "identical copy" in second.reason and not second_src.exists()
    assert len(list(first.final_path.parent.glob("*.flac"))) == 1


def test_number_policy_through_the_pipeline(dirs):
    processor = make_processor(dirs, clash_policy="number")
    track = Track(title="Twice", artists=["Band"], duration_ms=1000)
    one = processor.process(make_audio(dirs["downloads"] / "a.ogg", freq=300), track)
    two = processor.process(make_audio(dirs["downloads"] / "b.ogg", freq=500), track)
    assert one.final_path.name == "Band - Twice.ogg"
    assert two.final_path.name == "Band - Twice (2).ogg" and two.outcome is Outcome.PLACED


# ---------------------------------------------------------------------------
# Unmatched downloads


def test_unmatched_file_is_organised_by_its_own_tags(dirs):
    src = make_audio(dirs["downloads"] / "whatever" / "track.flac")
    write_tags(src, Track(title="Tagged Title", artists=["Tagged Artist"], album="Tagged Album",
                          track_number=5, year=1999))
    before = read_tags(src)
    result = make_processor(dirs).process(src)
    assert result.outcome is Outcome.PLACED
    assert result.final_path == (dirs["library"] / "Tagged Artist" / "Tagged Album (1999)"
                                 / "05 - Tagged Title.flac")
    assert "identified by its own tags" in result.done
    assert read_tags(result.final_path).title == before.title  # its tags are not rewritten


def test_unmatched_untagged_file_is_organised_by_its_path(dirs):
    src = make_audio(dirs["downloads"] / "Some Artist - Some Album (2003) [FLAC]" / "07 - A Song.flac")
    result = make_processor(dirs).process(src)
    assert result.outcome is Outcome.PLACED, result.reason
    assert result.final_path == dirs["library"] / "Some Artist" / "Some Album (2003)" / "07 - A Song.flac"
    assert "identified by its file name" in result.done


def test_path_hint_from_the_peer_is_used(dirs):
    src = make_audio(dirs["downloads"] / "01 - Intro.mp3")
    result = make_processor(dirs).process(src, path_hint="@@peer\\Music\\Band Name\\First LP\\01 - Intro.mp3")
    assert result.final_path == dirs["library"] / "Band Name" / "First LP" / "01 - Intro.mp3"


def test_unmatched_tags_are_completed_from_the_path(dirs):
    src = make_audio(dirs["downloads"] / "Artist X - Record Y (2010)" / "03 - Whatever.ogg")
    write_tags(src, Track(title="Real Title", artists=["Real Artist"]))
    result = make_processor(dirs).process(src)
    assert result.final_path == dirs["library"] / "Real Artist" / "Record Y (2010)" / "03 - Real Title.ogg"


def test_tagged_file_with_a_generic_title_keeps_the_paths_numbering(dirs):
    # "Track 3" says nothing as a title guess, but its path still numbers it within its album
    src = make_audio(dirs["downloads"] / "03 - Track 3.mp3")
    write_tags(src, Track(title="Track 3", artists=["Band"], album="Soak Album 1"))
    result = make_processor(dirs).process(src, path_hint="@@peer\\Music\\Band\\Soak Album 1 (2020)\\03 - Track 3.mp3")
    assert result.outcome is Outcome.PLACED, result.reason
    assert result.final_path == dirs["library"] / "Band" / "Soak Album 1 (2020)" / "03 - Track 3.mp3"


def test_unidentifiable_file_needs_matching_and_stays(dirs):
    src = make_audio(dirs["downloads"] / "incoming" / "track01.mp3")
    result = make_processor(dirs).process(src)
    assert result.outcome is Outcome.NEEDS_MATCHING and result.failed_step is Step.IDENTIFY
    assert "needs matching" in result.reason
    assert src.exists() and result.final_path is None and result.quarantined_to is None


@pytest.mark.parametrize("path, expected", [
    ("dl/Artist - Album (2001) [FLAC]/01 - Title.flac", ("Artist", "Title", "Album", 1, None, 2001)),
    ("@@u\\Music\\Daft Punk\\Discovery [2001]\\03. One More Time.mp3",
     ("Daft Punk", "One More Time", "Discovery", 3, None, 2001)),
    ("x/Folder/Nena - 99 Luftballons.mp3", ("Nena", "99 Luftballons", "Folder", None, None, None)),
    ("x/Album/Artist - 05 - Song (Live 2016).flac", ("Artist", "Song (Live 2016)", "Album", 5, None, None)),
    ("x/Artist - 2001 - Album {WEB 24-96}/1-02 Song_Name.flac", ("Artist", "Song Name", "Album", 2, 1, 2001)),
    ("Artist/Album/01_-_Some_Song.flac", ("Artist", "Some Song", "Album", 1, None, None)),
    ("Some_Artist_-_Song.ogg", ("Some Artist", "Song", "", None, None, None)),
    ("Music/Random/Song.mp3", None),
    ("@@bob/Random/Song.mp3", None),
    ("x/Artist - Album/Track 01.mp3", None),
    ("", None),
])
def test_guess_from_path(path, expected):
    guess = guess_from_path(path)
    if expected is None:
        assert guess is None
    else:
        got = (guess.artist, guess.title, guess.album, guess.track_number, guess.disc_number, guess.year)
        assert got == expected


# ---------------------------------------------------------------------------
# Options


def test_options_are_validated(dirs):
    with pytest.raises(TemplateError, match="album template: unknown placeholder"):
        make_processor(dirs, album_template="{artst}/{title}")
    with pytest.raises(TemplateError, match="singles template"):
        make_processor(dirs, single_template="")
    with pytest.raises(ValueError, match="clash policy"):
        make_processor(dirs, clash_policy="overwrite")
    with pytest.raises(ValueError, match="failure option"):
        make_processor(dirs, on_failure="delete")
    with pytest.raises(ValueError, match="inside the library"):
        PostProcessor(PostProcessOptions(library_dir=dirs["library"], quarantine_dir=dirs["library"] / "bad"))


def test_temp_copies_a_killed_run_left_are_swept_where_the_next_file_is_filed(dirs):
    from soulsync.core.organize import TEMP_PREFIX, TEMP_SUFFIX

    folder = dirs["downloads"] / "Artist X - Record Y (2010)"
    src = make_audio(folder / "03 - Whatever.ogg")
    write_tags(src, Track(title="Real Title", artists=["Real Artist"]))
    old_copy = folder / f"{TEMP_PREFIX}deadbeef{TEMP_SUFFIX}"  # a tagging killed an hour ago
    old_copy.write_bytes(b"half a copy")
    os.utime(old_copy, (time.time() - 7200,) * 2)
    busy_copy = folder / f"{TEMP_PREFIX}cafe{TEMP_SUFFIX}"  # another file being tagged right now
    busy_copy.write_bytes(b"in progress")
    result = make_processor(dirs).process(src)
    assert result.outcome is Outcome.PLACED
    assert not old_copy.exists() and busy_copy.exists()
    assert any("interrupted run" in step for step in result.done)
