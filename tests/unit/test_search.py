"""Search results: query cleaning, grouping slskd responses, filters and sort keys."""
from __future__ import annotations

import gc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soulsync.core.search import ResultAlbum, ResultTrack, SearchResults
from soulsync.core.search_filters import FilterSpec, ResultKind, SortBy, sort_key
from soulsync.core.search_grouping import group_results
from soulsync.core.search_text import clean_query, query_terms, searchable


def audio(filename: str, **extra: object) -> dict:
    entry: dict = {"filename": filename, "size": 10_000_000, "code": 1, "extension": ""}
    entry.update(extra)
    return entry


def response(username: str, files: list, locked: list | None = None, **extra: object) -> dict:
    resp: dict = {"username": username, "files": files, "lockedFiles": locked or [],
                  "hasFreeUploadSlot": True, "uploadSpeed": 1_000_000, "queueLength": 0, "token": 1}
    resp.update(extra)
    return resp


def album_files(folder: str, count: int, ext: str = "flac", **extra: object) -> list[dict]:
    return [audio(f"{folder}\\{n:02d} - Song {n}.{ext}", **extra) for n in range(1, count + 1)]


def accounted(res: SearchResults) -> int:
    return res.listed_files + len(res.locked) + res.non_audio_files + res.duplicates + res.skipped_files


# --------------------------------------------------------------------------- query and text


@pytest.mark.parametrize("raw, cleaned", [
    ("Daft Punk - Discovery", "Daft Punk Discovery"),
    ("  AC/DC:   Back in Black!! ", "AC DC Back in Black"),
    ("-live -remix song", "live remix song"),
    ("Guns N' Roses", "Guns N Roses"),
    ("Sigur Rós — Ágætis byrjun", "Sigur Rós Ágætis byrjun"),
    ("宇多田ヒカル「First Love」", "宇多田ヒカル First Love"),
    ("Мумий Тролль (2000)", "Мумий Тролль 2000"),
    ("हिन्दी गाना", "हिन्दी गाना"),
    ("*wild card* & friends", "wild card friends"),
    ("___", ""),
])
def test_clean_query(raw: str, cleaned: str) -> None:
    assert clean_query(raw) == cleaned


@given(st.text())
def test_clean_query_never_leaves_a_leading_dash_or_doubled_space(text: str) -> None:
    cleaned = clean_query(text)
    assert cleaned == cleaned.strip()
    assert "  " not in cleaned
    assert not any(term.startswith("-") for term in cleaned.split(" "))
    assert clean_query(cleaned) == cleaned


@pytest.mark.parametrize("raw, folded", [
    ("Björk - Jóga [FLAC]", "bjork   joga  flac "),
    ("Beyoncé_Halo", "beyonce halo"),
    ("AC/DC", "ac dc"),
    ("Straße", "strasse"),
    ("Мумий Тролль", "мумии тролль"),
    ("Don’t “Stop”", "don t  stop "),
])
def test_searchable_folds_case_accents_and_punctuation(raw: str, folded: str) -> None:
    assert searchable(raw) == folded


def test_query_terms_split_included_and_excluded() -> None:
    assert query_terms("Björk  -live JOGA jóga -") == (("bjork", "joga"), ("live",))
    assert query_terms("") == ((), ())


# --------------------------------------------------------------------------- grouping

WALL = r"@@share\Music\Pink Floyd\The Wall (1979)"


def test_album_with_disc_folders_is_one_album() -> None:
    files = (
        album_files(WALL + r"\CD1", 3, bitDepth=16, sampleRate=44100, length=200)
        + album_files(WALL + r"\CD 2", 2, bitDepth=16, sampleRate=44100, length=100)
        + [audio(WALL + r"\folder.jpg"), audio(WALL + r"\CD1\rip.log"), audio(WALL + r"\CD1\The Wall.cue"),
           audio(WALL + r"\Scans\back.png"), audio(WALL + r"\info.nfo")]
    )
    res = group_results([response("alice", files)])
    assert len(res.albums) == 1 and not res.singles
    album = res.albums[0]
    assert album.folder == WALL
    assert (album.artist, album.album, album.year) == ("Pink Floyd", "The Wall", 1979)
    assert album.track_count == 5 and album.disc_count == 2
    assert [(t.disc_number, t.track_number) for t in album.tracks] == [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2)]
    assert [t.guess.title for t in album.tracks][:2] == ["Song 1", "Song 2"]
    assert album.extra_files == 5 and res.non_audio_files == 5
    assert album.has_cover and album.has_cue and album.has_log
    assert album.total_size == 5 * 10_000_000 and album.total_length == 3 * 200 + 2 * 100
    assert (album.ext, album.family, album.lossless, album.bit_depth, album.sample_rate) == (
        "flac", "FLAC", True, 16, 44100)
    assert album.display_name == "Pink Floyd - The Wall"
    assert all(t.in_album for t in album.tracks)
    assert album.key == ("alice", WALL)


def test_album_without_cover_or_log() -> None:
    res = group_results([response("u", album_files(r"@@x\Artist\Album", 4))])
    album = res.albums[0]
    assert (album.extra_files, album.has_cover, album.has_cue, album.has_log) == (0, False, False, False)


def test_dominant_format_bitrate_and_vbr() -> None:
    folder = r"@@x\Music\Artist\2005 - Album"
    files = [audio(f"{folder}\\{n:02d} - T.mp3", bitRate=b, isVariableBitRate=True)
             for n, b in enumerate([245, 251, 239, 260], start=1)]
    files.append(audio(f"{folder}\\05 - T.flac", bitDepth=24, sampleRate=96000))
    album = group_results([response("u", files)]).albums[0]
    assert album.ext == "mp3" and album.formats == {"mp3": 4, "flac": 1}
    assert (album.bitrate, album.min_bitrate, album.is_vbr) == (249, 239, True)
    assert album.bit_depth is None and not album.lossless


def test_the_same_folder_of_two_users_is_two_albums() -> None:
    res = group_results([response("a", album_files(r"@@a\Artist\Album", 3)),
                         response("b", album_files(r"@@a\Artist\Album", 3))])
    assert sorted(a.username for a in res.albums) == ["a", "b"]
    assert res.users == 2 and res.responses == 2


def test_peer_facts_are_carried_per_album_and_per_file() -> None:
    res = group_results([response("slow", album_files(r"@@a\Artist\Album", 3) + [audio(r"@@a\mp3\A - B.mp3")],
                                  hasFreeUploadSlot=False, uploadSpeed=5000, queueLength=42)])
    album, single = res.albums[0], res.singles[0]
    assert (album.has_free_slot, album.upload_speed, album.queue_length) == (False, 5000, 42)
    assert (single.has_free_slot, single.upload_speed, single.queue_length) == (False, 5000, 42)
    assert all((t.file.has_free_slot, t.file.upload_speed, t.file.queue_length) == (False, 5000, 42)
               for t in album.tracks)


def test_a_lone_file_is_a_single() -> None:
    res = group_results([response("u", [audio(r"@@a\Artist\Album\03 - Song.flac")])])
    assert not res.albums and len(res.singles) == 1
    single = res.singles[0]
    assert not single.in_album
    assert (single.guess.title, single.guess.artist, single.guess.album) == ("Song", "Artist", "Album")
    assert single.key == ("u", r"@@a\Artist\Album\03 - Song.flac")


def test_two_numbered_tracks_make_an_album() -> None:
    res = group_results([response("u", album_files(r"@@a\Artist\Single", 2))])
    assert len(res.albums) == 1 and res.albums[0].track_count == 2


@pytest.mark.parametrize("names", [
    ["Artist - Song.mp3", "Artist - Other Song.mp3"],  # unnumbered
    ["01 - Song.mp3", "01 - Song.flac"],  # one song in two formats
])
def test_two_files_that_are_not_a_release_are_singles(names: list[str]) -> None:
    res = group_results([response("u", [audio(rf"@@a\Artist\Stuff\{n}") for n in names])])
    assert not res.albums and len(res.singles) == 2


def test_catch_all_folder_is_never_an_album() -> None:
    files = [audio(rf"@@a\Music\{n:02d} - Song {n}.mp3") for n in range(1, 8)]
    res = group_results([response("u", files)])
    assert not res.albums and len(res.singles) == 7


def test_loose_pile_of_various_artists_is_singles() -> None:
    files = [audio(rf"@@a\Party Mix\{artist} - Song.mp3") for artist in ("A", "B", "C", "D")]
    res = group_results([response("u", files)])
    assert not res.albums and len(res.singles) == 4


def test_unnumbered_files_of_one_artist_are_an_album() -> None:
    files = [audio(rf"@@a\Artist - Album\Artist - Song {n}.mp3") for n in range(4)]
    res = group_results([response("u", files)])
    assert len(res.albums) == 1 and res.albums[0].artist == "Artist"


def test_numbered_compilation_without_folder_artist_is_various_artists() -> None:
    files = [audio(rf"@@a\Music\Summer Hits 2011\{n:02d}. {artist} - Song.mp3")
             for n, artist in enumerate(["A", "B", "C", "D"], start=1)]
    album = group_results([response("u", files)]).albums[0]
    assert album.artist == "Various Artists" and album.album == "Summer Hits 2011"
    assert album.tracks[0].guess.artist == "A"


def test_album_guesses_fall_back_to_the_file_names() -> None:
    files = [audio(rf"@@a\Music\Some Folder\Artist - Album - {n:02d} - Song (1999).mp3") for n in range(1, 4)]
    album = group_results([response("u", files)]).albums[0]
    assert (album.artist, album.album, album.year) == ("Artist", "Some Folder", 1999)


def test_format_subfolders_are_separate_albums_named_by_their_parent() -> None:
    base = r"@@a\Music\Radiohead\OK Computer (1997)"
    files = album_files(base + r"\FLAC", 3, "flac") + album_files(base + r"\MP3", 3, "mp3", bitRate=320)
    res = group_results([response("u", files)])
    assert sorted(a.ext for a in res.albums) == ["flac", "mp3"]
    assert {a.display_name for a in res.albums} == {"Radiohead - OK Computer"}


def test_locked_files_are_kept_apart_and_counted_on_their_album() -> None:
    folder = r"@@a\Artist\Album"
    res = group_results([response("u", album_files(folder, 3),
                                  locked=[audio(folder + r"\04 - Song 4.flac"), audio(folder + r"\cover.jpg")])])
    assert len(res.locked) == 1 and res.locked[0].file.locked
    assert res.locked[0].guess.track_number == 4
    album = res.albums[0]
    assert album.track_count == 3 and album.locked_files == 1
    assert not any(t.file.locked for t in album.tracks)
    assert res.non_audio_files == 1 and album.extra_files == 0
    assert accounted(res) == res.file_entries == 5


def test_search_file_fields_are_copied_and_extension_derived() -> None:
    entry = audio(r"@@a\mp3\A - B.MP3", size=1234, bitRate=320, isVariableBitRate=False, length=215,
                  bitDepth=0, sampleRate=-1)
    track = group_results([response("u", [entry])]).singles[0]
    f = track.file
    assert (f.username, f.filename, f.size, f.extension, f.bitrate, f.is_vbr, f.length) == (
        "u", r"@@a\mp3\A - B.MP3", 1234, "mp3", 320, False, 215)
    assert f.bit_depth is None and f.sample_rate is None
    assert (track.ext, track.family, track.lossless) == ("mp3", "MP3", False)


def test_announced_extension_wins_over_the_name() -> None:
    track = group_results([response("u", [audio(r"@@a\mp3\song", extension="FLAC")])]).singles[0]
    assert track.ext == "flac"


def test_duplicates_are_counted_once() -> None:
    entry = audio(r"@@a\mp3\A - B.mp3")
    res = group_results([response("u", [entry, dict(entry)]), response("u", [dict(entry)])])
    assert len(res.singles) == 1 and res.duplicates == 2 and res.users == 1
    assert accounted(res) == res.file_entries


# --------------------------------------------------------------------------- malformed input


@pytest.mark.parametrize("responses", [None, "text", 42, {"username": "u"}])
def test_a_non_list_is_one_skipped_response(responses: object) -> None:
    res = group_results(responses)
    assert res.skipped_responses == 1 and not res.albums and not res.singles


def test_bad_responses_and_files_are_skipped_and_counted() -> None:
    good = audio(r"@@a\mp3\A - B.mp3")
    responses = [
        "not a dict",
        None,
        {"files": [good]},  # no username
        {"username": "", "files": [good]},
        {"username": "   ", "files": [good]},
        {"username": 7, "files": [good]},
        {"username": "u1", "files": "nope"},
        {"username": "u2", "files": [good], "lockedFiles": {"a": 1}},
        {"username": "ok", "files": None, "lockedFiles": None},
        {"username": "ok2"},
        {"username": "ok3", "files": [
            good, 5, None, [], {"filename": 3}, {"filename": ""}, {"filename": "  "}, {"size": 3},
            {"filename": r"@@a\x\Y - Z.mp3", "size": "big", "bitRate": "320", "bitDepth": True,
             "sampleRate": 44100.0, "length": None, "isVariableBitRate": "yes", "extension": 9},
        ], "hasFreeUploadSlot": "yes", "uploadSpeed": "fast", "queueLength": -3},
    ]
    res = group_results(responses)
    assert res.skipped_responses == 8
    assert res.responses == 3 and res.users == 3
    assert res.skipped_files == 7 and res.skipped == 15
    assert len(res.singles) == 2
    odd = next(t for t in res.singles if t.name == "Y - Z.mp3")
    f = odd.file
    assert (f.size, f.bitrate, f.bit_depth, f.sample_rate, f.length, f.is_vbr) == (0, None, None, None, None, None)
    assert (f.has_free_slot, f.upload_speed, f.queue_length) == (False, 0, 0)
    assert accounted(res) == res.file_entries == 9


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**12) | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
_names = st.text(alphabet=st.sampled_from(list("ab -_.()[]01\\/éCD")), max_size=24)
_file_entry = st.one_of(
    _json,
    st.fixed_dictionaries(
        {"filename": st.one_of(_names.map(lambda s: "@@u\\" + s + ".mp3"),
                               _names.map(lambda s: "@@u\\Art\\Alb\\" + s + ".flac"),
                               _names.map(lambda s: "@@u\\Alb\\CD1\\" + s + ".jpg"), _json)},
        optional={"size": _json, "bitRate": _json, "bitDepth": _json, "sampleRate": _json,
                  "length": _json, "isVariableBitRate": _json, "extension": _json},
    ),
)
_response = st.one_of(
    _json,
    st.fixed_dictionaries(
        {"username": st.one_of(st.sampled_from(["a", "b", "c"]), _json)},
        optional={"files": st.one_of(st.lists(_file_entry, max_size=8), _json),
                  "lockedFiles": st.one_of(st.lists(_file_entry, max_size=3), _json),
                  "hasFreeUploadSlot": _json, "uploadSpeed": _json, "queueLength": _json},
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.lists(_response, max_size=6), _json))
def test_arbitrary_json_never_raises_and_every_entry_is_accounted_for(responses: object) -> None:
    res = group_results(responses)
    if isinstance(responses, list):
        assert res.responses + res.skipped_responses == len(responses)
    else:
        assert res.skipped_responses == 1
    assert accounted(res) == res.file_entries
    for album in res.albums:
        assert album.track_count >= 2
        assert album.display_name and album.text and album.disc_count >= 1
        assert album.tracks == sorted(album.tracks, key=lambda t: (
            t.disc_number or 0, 10_000 if t.track_number is None else t.track_number, t.name.lower()))
    for track in [t for a in res.albums for t in a.tracks] + res.singles + res.locked:
        assert isinstance(track.guess.title, str) and track.text.startswith(" ")
        assert track.file.size >= 0
    everything = FilterSpec(kind=ResultKind.BOTH)
    for item in [*res.albums, *res.singles]:
        assert everything.matches(item)
        for by in SortBy:
            sort_key(by, "a b")(item)


def test_grouping_leaves_the_garbage_collector_as_it_found_it() -> None:
    assert gc.isenabled()
    group_results([response("u", album_files(r"@@a\Artist\Album", 3))])
    assert gc.isenabled()
    gc.disable()
    try:
        group_results([response("u", album_files(r"@@a\Artist\Album", 3))])
        assert not gc.isenabled()
    finally:
        gc.enable()


# --------------------------------------------------------------------------- filters


@pytest.fixture()
def mixed() -> SearchResults:
    return group_results([
        response("fast", album_files(r"@@a\Music\Björk\Homogenic (1997)", 4, "flac"), uploadSpeed=9_000_000),
        response("busy", album_files(r"@@b\Music\Björk\Homogenic (1997)", 4, "mp3", bitRate=320, size=9_000_000),
                 hasFreeUploadSlot=False, queueLength=30, uploadSpeed=2_000_000),
        response("low", album_files(r"@@c\Music\Björk\Homogenic Live", 3, "mp3", bitRate=128), uploadSpeed=100),
        response("loose", [audio(r"@@d\mp3\Björk - Jóga.mp3", bitRate=192),
                           audio(r"@@d\mp3\Björk - Jóga.ogg"),
                           audio(r"@@d\mp3\Björk - Hunter.m4a", bitRate=256),
                           audio(r"@@d\mp3\Björk - Bachelorette.wav"),
                           audio(r"@@d\mp3\Björk - Alarm Call.wma", bitRate=320)]),
    ])


def names(items: list) -> list[str]:
    return [f"{i.username}:{i.ext}" for i in items]


def test_filter_kind(mixed: SearchResults) -> None:
    items = [*mixed.albums, *mixed.singles]
    assert len([i for i in items if FilterSpec(kind=ResultKind.ALBUMS).matches(i)]) == 3
    assert len([i for i in items if FilterSpec(kind=ResultKind.SINGLES).matches(i)]) == 5
    child = mixed.albums[0].tracks[0]
    assert FilterSpec(kind=ResultKind.ALBUMS).matches(child)
    assert not FilterSpec(kind=ResultKind.SINGLES).matches(child)


def test_filter_formats(mixed: SearchResults) -> None:
    items = [*mixed.albums, *mixed.singles]
    assert sorted(names([i for i in items if FilterSpec(formats=frozenset({"FLAC"})).matches(i)])) == ["fast:flac"]
    spec = FilterSpec(formats=frozenset({"OGG", "AAC/M4A", "WAV", "Other"}))
    assert sorted(names([i for i in items if spec.matches(i)])) == [
        "loose:m4a", "loose:ogg", "loose:wav", "loose:wma"]


def test_filter_bitrate_lossless_and_free_slot(mixed: SearchResults) -> None:
    items = [*mixed.albums, *mixed.singles]
    # lossless passes a bitrate floor; a lossy file with no announced bitrate does not
    assert sorted(names([i for i in items if FilterSpec(min_bitrate=256).matches(i)])) == [
        "busy:mp3", "fast:flac", "loose:m4a", "loose:wav", "loose:wma"]
    assert sorted(names([i for i in items if FilterSpec(lossless_only=True).matches(i)])) == [
        "fast:flac", "loose:wav"]
    assert "busy:mp3" not in names([i for i in items if FilterSpec(free_slot_only=True).matches(i)])


def test_filter_text_is_word_prefix_accent_free_and_supports_exclusion(mixed: SearchResults) -> None:
    items = [*mixed.albums, *mixed.singles]

    def hits(text: str) -> list[str]:
        return sorted(names([i for i in items if FilterSpec(text=text).matches(i)]))

    assert hits("bjork jog") == ["loose:mp3", "loose:ogg"]
    assert hits("BJÖRK homogenic") == ["busy:mp3", "fast:flac", "low:mp3"]
    assert hits("homogenic -live") == ["busy:mp3", "fast:flac"]
    assert hits("song 3") == ["busy:mp3", "fast:flac", "low:mp3"]  # album text holds track names
    assert hits("ogenic") == []  # words match from their start
    assert hits("") == sorted(names(items))


def test_filter_is_empty() -> None:
    assert FilterSpec().is_empty and FilterSpec(text="  ").is_empty
    assert not FilterSpec(text="x").is_empty and not FilterSpec(min_bitrate=1).is_empty
    assert not FilterSpec(kind=ResultKind.SINGLES).is_empty


# --------------------------------------------------------------------------- sort keys


def test_sort_by_quality_follows_the_users_order(mixed: SearchResults) -> None:
    albums = list(mixed.albums)
    albums.sort(key=sort_key(SortBy.QUALITY))
    assert names(albums) == ["fast:flac", "busy:mp3", "low:mp3"]
    albums.sort(key=sort_key(SortBy.QUALITY, order=["mp3_320", "flac", "other"]))
    assert names(albums) == ["busy:mp3", "fast:flac", "low:mp3"]


def test_sort_by_speed_size_availability_name(mixed: SearchResults) -> None:
    albums = list(mixed.albums)
    assert names(sorted(albums, key=sort_key(SortBy.SPEED))) == ["fast:flac", "busy:mp3", "low:mp3"]
    assert names(sorted(albums, key=sort_key(SortBy.SIZE))) == ["fast:flac", "busy:mp3", "low:mp3"]
    assert names(sorted(albums, key=sort_key(SortBy.AVAILABILITY))) == ["fast:flac", "low:mp3", "busy:mp3"]
    singles = sorted(mixed.singles, key=sort_key(SortBy.NAME))
    assert [t.guess.title for t in singles][:3] == ["Alarm Call", "Bachelorette", "Hunter"]


def test_relevance_prefers_full_word_coverage_in_the_name() -> None:
    res = group_results([response("u", [
        audio(r"@@a\mp3\Daft Punk - One More Time.mp3"),
        audio(r"@@a\Music\Daft Punk - Discovery\x\Other Song.mp3"),
        audio(r"@@a\stuff\Daft Punkish - One More Time (Extended Remix).mp3"),
        audio(r"@@a\misc\Random.mp3"),
    ])])
    ranked = sorted(res.singles, key=sort_key(SortBy.RELEVANCE, "daft punk one more time"))
    assert [t.name for t in ranked] == [
        "Daft Punk - One More Time.mp3",
        "Daft Punkish - One More Time (Extended Remix).mp3",
        "Other Song.mp3",
        "Random.mp3",
    ]


def test_relevance_folds_accents_and_case() -> None:
    key = sort_key(SortBy.RELEVANCE, "BJORK joga")
    res = group_results([response("u", [audio(r"@@a\mp3\Björk - Jóga.mp3"), audio(r"@@a\mp3\Other.mp3")])])
    best = min(res.singles, key=key)
    assert best.name == "Björk - Jóga.mp3"
    assert key(best)[0] == -2


def test_sort_keys_work_on_albums_and_tracks_alike(mixed: SearchResults) -> None:
    rows = [*mixed.albums, *mixed.singles]
    for by in SortBy:
        ordered = sorted(rows, key=sort_key(by, "bjork"))
        assert len(ordered) == len(rows)
    assert isinstance(rows[0], ResultAlbum) and isinstance(rows[-1], ResultTrack)
