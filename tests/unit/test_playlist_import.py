"""CSV (Exportify) and M3U imports: real-world shapes, bad rows by line number, and fuzzing."""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from soulsync.core.models import Track
from soulsync.core.playlist_csv import parse_csv, parse_duration, split_artist_field, spotify_track_id
from soulsync.core.playlist_files import import_playlist_file
from soulsync.core.playlist_import import ImportResult, PlaylistImportError
from soulsync.core.playlist_m3u import parse_m3u
from soulsync.core.store import Store
from soulsync.core.tagging import write_tags
from tests.audio_fixtures import make_audio

EXPORTIFY_HEADER = ("Track URI,Track Name,Artist URI(s),Artist Name(s),Album URI,Album Name,Album Artist URI(s),"
                    "Album Artist Name(s),Album Release Date,Album Image URL,Disc Number,Track Number,"
                    "Track Duration (ms),Track Preview URL,Explicit,Popularity,ISRC,Added By,Added At")
RICK = ("spotify:track:4PTG3Z6ehGkBFwjybzWkR8,Never Gonna Give You Up,spotify:artist:0gxyHStUsqpMadRV0Di1Qt,"
        "Rick Astley,spotify:album:6XhjNHCyCDyyGJRM5mg40G,Whenever You Need Somebody,"
        "spotify:artist:0gxyHStUsqpMadRV0Di1Qt,Rick Astley,1987-11-12,https://i.scdn.co/image/x,1,1,213573,,"
        "false,77,GBARL9300135,spotify:user:me,2020-01-01T00:00:00Z")
LINE = re.compile(r"\r\n|\r|\n")


def only(result: ImportResult) -> Track:
    assert len(result.playlist.tracks) == 1
    return result.playlist.tracks[0]


# ----------------------------------------------------------------------------- CSV


def test_exportify_csv_with_bom_and_crlf() -> None:
    result = parse_csv("\ufeff" + EXPORTIFY_HEADER + "\r\n" + RICK + "\r\n", "csv:x", "Eighties")
    t = only(result)
    assert (t.title, t.artists, t.album, t.duration_ms) == (
        "Never Gonna Give You Up", ["Rick Astley"], "Whenever You Need Somebody", 213573)
    assert (t.isrc, t.spotify_id, t.album_artist, t.track_number, t.disc_number, t.year) == (
        "GBARL9300135", "4PTG3Z6ehGkBFwjybzWkR8", "Rick Astley", 1, 1, 1987)
    assert result.playlist.source == "csv" and result.playlist.name == "Eighties"
    assert result.errors == [] and result.warnings == []


def test_headers_match_case_insensitively_in_any_order_other_columns_ignored() -> None:
    text = ("popularity;ALBUM NAME;  artist name(s) ;Spotify ID;track name;Duration (ms);Notes\n"
            "12;Homogenic;Björk;3Nf1rGvq1a3Ks5ZQnWcGZm;Jóga;305000;great\n")
    t = only(parse_csv(text))
    assert (t.title, t.artists, t.album, t.duration_ms, t.spotify_id) == (
        "Jóga", ["Björk"], "Homogenic", 305000, "3Nf1rGvq1a3Ks5ZQnWcGZm")


def test_tab_separated_with_synonym_headers_and_clock_durations() -> None:
    text = "Title\tArtist\tAlbum\tLength\nSong A\tSomeone\tAn Album\t3:45\nSong B\tOther\t\t225\n"
    tracks = parse_csv(text).playlist.tracks
    assert [(t.title, t.artists, t.duration_ms) for t in tracks] == [
        ("Song A", ["Someone"], 225000), ("Song B", ["Other"], 225000)]


@pytest.mark.parametrize(("field", "uris", "expected"), [
    ("Daft Punk, Pharrell Williams", "", ["Daft Punk", "Pharrell Williams"]),
    ("Daft Punk;Pharrell Williams", "", ["Daft Punk", "Pharrell Williams"]),
    ("Tyler, The Creator", "spotify:artist:4V8LLVI7PbaPR0K2TGSxFF", ["Tyler, The Creator"]),
    ("Earth, Wind & Fire; Emotions", "", ["Earth, Wind & Fire", "Emotions"]),
    (" ", "", []),
    ("A, A", "", ["A"]),
])
def test_artist_fields(field: str, uris: str, expected: list[str]) -> None:
    assert split_artist_field(field, uris) == expected


def test_bad_rows_are_reported_by_line_number_and_the_rest_imported() -> None:
    text = "\n".join([
        "Track Name,Artist Name(s),Duration (ms),ISRC,Track URI",   # line 1
        "Good One,Artist A,200000,USRC17607839,spotify:track:4PTG3Z6ehGkBFwjybzWkR8",  # 2
        ",Artist B,200000,,",                                          # 3: no title -> skipped
        "Bad Length,Artist C,three minutes,,",                         # 4: duration ignored
        "\"Multi",                                                     # 5: a quoted title over two lines
        "Line\",Artist D,1000,not-an-isrc,spotify:track:short",        # 6: ISRC and URI ignored
        "",                                                            # 7: blank
        "No Artist,,5000,,",                                           # 8: no artist (kept)
        "Local,Someone,1000,,spotify:local:Someone::Local:1",           # 9: local file URI is fine
        "Too Long,Artist E,999999999999,,",                            # 10: out of range
    ])
    result = parse_csv(text)
    assert [t.title for t in result.playlist.tracks] == [
        "Good One", "Bad Length", "Multi Line", "No Artist", "Local", "Too Long"]
    assert [(p.line, p.reason) for p in result.errors] == [(3, "no track name; row skipped")]
    warned = [(p.line, p.reason.split(" ")[0]) for p in result.warnings]
    assert warned == [(4, "duration"), (5, "ISRC"), (5, "Spotify"), (8, "no"), (10, "duration")]
    multi = result.playlist.tracks[2]
    assert multi.isrc is None and multi.spotify_id is None and multi.duration_ms == 1000
    assert result.playlist.tracks[3].artists == []
    assert result.playlist.tracks[4].spotify_id is None
    assert "1 row skipped (first: line 3: no track name; row skipped)" in result.summary()


def test_file_without_a_title_column_is_refused_with_what_it_found() -> None:
    with pytest.raises(PlaylistImportError, match=r"no track title column.*'Foo'"):
        parse_csv("Foo,Bar\n1,2\n")
    with pytest.raises(PlaylistImportError, match="empty"):
        parse_csv("\n \n")


def test_only_a_title_column_imports_with_one_warning() -> None:
    result = parse_csv("Track Name\nSomething\n")
    assert only(result).artists == []
    assert [(p.line, p.reason) for p in result.warnings] == [(1, "no artist column: the tracks have no artists")]


def test_unterminated_quote_never_loops_or_crashes() -> None:
    result = parse_csv('Track Name,Artist Name(s)\n"Broken,Someone\nNext,Row\n')
    assert len(result.playlist.tracks) <= 1


def test_huge_field_is_reported_not_fatal() -> None:
    text = "Track Name,Artist Name(s)\n\"" + "x" * 200_000 + "\",A\nAfter,B\n"
    result = parse_csv(text)
    assert [t.title for t in result.playlist.tracks] == ["After"]
    assert result.errors and result.errors[0].line == 2


@pytest.mark.parametrize(("text", "ms"), [("3:45", 225000), ("1:02:03", 3723000), ("225", 225000),
                                          ("225000", 225000), ("3:75", None), ("abc", None), ("-5", None)])
def test_parse_duration(text: str, ms: int | None) -> None:
    assert parse_duration(text) == ms


@pytest.mark.parametrize(("value", "expected"), [
    ("spotify:track:4PTG3Z6ehGkBFwjybzWkR8", "4PTG3Z6ehGkBFwjybzWkR8"),
    ("https://open.spotify.com/track/4PTG3Z6ehGkBFwjybzWkR8?si=abc", "4PTG3Z6ehGkBFwjybzWkR8"),
    ("https://open.spotify.com/intl-de/track/4PTG3Z6ehGkBFwjybzWkR8", "4PTG3Z6ehGkBFwjybzWkR8"),
    ("4PTG3Z6ehGkBFwjybzWkR8", "4PTG3Z6ehGkBFwjybzWkR8"),
    ("spotify:album:4PTG3Z6ehGkBFwjybzWkR8", None),
    ("nonsense", None),
])
def test_spotify_ids(value: str, expected: str | None) -> None:
    assert spotify_track_id(value) == expected


# ----------------------------------------------------------------------------- files and encodings


def test_file_import_has_a_stable_id_a_content_snapshot_and_a_name(tmp_path: Path) -> None:
    path = tmp_path / "my_road_trip.csv"
    path.write_text(EXPORTIFY_HEADER + "\n" + RICK + "\n", encoding="utf-8")
    first = import_playlist_file(path)
    again = import_playlist_file(tmp_path / "." / "my_road_trip.csv")
    assert first.playlist.id == again.playlist.id and first.playlist.id.startswith("csv:")
    assert first.playlist.name == "my road trip"
    snapshot = first.playlist.snapshot_id
    path.write_text(EXPORTIFY_HEADER + "\n" + RICK + "\n" + RICK.replace("Never", "Always") + "\n")
    changed = import_playlist_file(path)
    assert changed.playlist.id == first.playlist.id and changed.playlist.snapshot_id != snapshot
    other = tmp_path / "elsewhere.csv"
    other.write_bytes(path.read_bytes())
    assert import_playlist_file(other).playlist.id != first.playlist.id
    assert import_playlist_file(path, name="Chosen").playlist.name == "Chosen"


def test_imported_playlist_is_stored_like_a_spotify_one(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text(EXPORTIFY_HEADER + "\n" + RICK + "\n", encoding="utf-8")
    result = import_playlist_file(path)
    store = Store(tmp_path / "db.sqlite3")
    store.save_playlist_tracks(result.playlist)
    listed = {p.id: p for p in store.playlists()}[result.playlist.id]
    assert (listed.name, listed.source, listed.track_count) == ("list", "csv", 1)
    assert store.playlist_tracks(result.playlist.id) == result.playlist.tracks
    assert not store.playlist_needs_fetch(result.playlist.id)


@pytest.mark.parametrize("encoding", ["cp1252", "utf-16", "utf-8-sig", "latin-1"])
def test_encodings(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes("Track Name,Artist Name(s)\nJóga,Björk\n".encode(encoding))
    t = only(import_playlist_file(path))
    assert (t.title, t.artists) == ("Jóga", ["Björk"])


def test_unreadable_and_unsupported_files(tmp_path: Path) -> None:
    with pytest.raises(PlaylistImportError, match="cannot be read"):
        import_playlist_file(tmp_path / "missing.csv")
    (tmp_path / "list.txt").write_text("x")
    with pytest.raises(PlaylistImportError, match="not a playlist file"):
        import_playlist_file(tmp_path / "list.txt")


# ----------------------------------------------------------------------------- M3U


def test_extended_m3u_with_relative_absolute_and_url_entries(tmp_path: Path) -> None:
    text = "\n".join([
        "#EXTM3U",                                                       # 1
        "#PLAYLIST:Road Trip",                                           # 2
        "#EXTINF:215,Daft Punk - One More Time",                         # 3
        "Daft Punk/Discovery (2001)/01 - One More Time.flac",            # 4
        '#EXTINF:-1 tvg-name="a, b" group-title="x",Air - Sexy Boy',     # 5
        "http://radio.example/stream.mp3",                               # 6
        "#EXTALB:Homogenic",                                             # 7
        "#EXTINF:305,Björk - Jóga",                                      # 8
        "/srv/music/Björk/Homogenic/03 Jóga.mp3",                        # 9
        "#EXTINF:abc,Someone - Title With - Dash",                       # 10
        "file:///srv/music/x.flac",                                      # 11
        "Music\\Pink Floyd\\Animals\\02 Dogs.mp3",                       # 12
        "#EXTINF:100,dangling",                                          # 13
    ])
    result = parse_m3u(text, base_dir=tmp_path)
    p = result.playlist
    assert p.name == "Road Trip" and p.source == "m3u"
    got = [(t.title, t.artists, t.album, t.duration_ms) for t in p.tracks]
    assert got == [
        ("One More Time", ["Daft Punk"], "Discovery", 215000),
        ("Sexy Boy", ["Air"], "", None),
        ("Jóga", ["Björk"], "Homogenic", 305000),
        ("Title With - Dash", ["Someone"], "", None),
        ("Dogs", ["Pink Floyd"], "Animals", None),
    ]
    assert p.tracks[0].path == str(tmp_path / "Daft Punk/Discovery (2001)/01 - One More Time.flac")
    assert p.tracks[1].path is None and p.tracks[3].path == "/srv/music/x.flac"
    assert p.tracks[4].path == str(tmp_path / "Music/Pink Floyd/Animals/02 Dogs.mp3")
    assert [(e.line, e.reason) for e in result.errors] == [(13, "#EXTINF without a file line; skipped")]
    assert [w.line for w in result.warnings] == [10]


def test_m3u_entry_without_extinf_reads_the_local_files_tags(tmp_path: Path) -> None:
    song = tmp_path / "a" / "file.flac"
    make_audio(song, seconds=0.3)
    write_tags(song, Track(title="Real Title", artists=["Real Artist"], album="Real Album", isrc="GBARL9300135"))
    result = parse_m3u("a/file.flac\nnowhere/x.flac\n", base_dir=tmp_path)
    first, second = result.playlist.tracks
    assert (first.title, first.artists, first.album, first.isrc) == (
        "Real Title", ["Real Artist"], "Real Album", "GBARL9300135")
    assert first.duration_ms is not None and first.path == str(song)
    assert (second.title, second.artists) == ("x", [])
    assert [(w.line, w.reason) for w in result.warnings] == [(2, "no artist for 'x'")]


def test_m3u_file_encodings_and_name(tmp_path: Path) -> None:
    legacy = tmp_path / "Old List.m3u"
    legacy.write_bytes("#EXTINF:10,Björk - Jóga\nx.mp3\n".encode("cp1252"))
    result = import_playlist_file(legacy)
    assert result.playlist.name == "Old List" and result.playlist.id.startswith("m3u:")
    assert (only(result).title, only(result).artists) == ("Jóga", ["Björk"])
    modern = tmp_path / "new.m3u8"
    modern.write_bytes(b"\xef\xbb\xbf#EXTM3U\n#EXTINF:10,\xe5\xae\x87\xe5\xa4\x9a\xe7\x94\xb0 - Song\nx.mp3\n")
    assert only(import_playlist_file(modern)).artists == ["宇多田"]


# ----------------------------------------------------------------------------- fuzzing

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_CELL = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
_CSVISH = st.lists(st.one_of(_CELL, st.sampled_from([",", ";", "\t", '"', "\n", "\r\n", "\r", "\x00", "\ufeff",
                                                     "Track Name", "Artist Name(s)", "Duration (ms)", "ISRC",
                                                     "spotify:track:", "Album Name"])),
                   max_size=60).map("".join)


def _check(result: ImportResult, text: str) -> None:
    lines = len(LINE.split(text))
    for problem in result.problems:
        assert 1 <= problem.line <= lines, (problem, lines)
    for track in result.playlist.tracks:
        assert track.title.strip() and not re.search(r"[\x00-\x1f\x7f]", track.title)
        assert all(a.strip() and not re.search(r"[\x00-\x1f]", a) for a in track.artists)
        assert track.duration_ms is None or 0 < track.duration_ms <= 24 * 3600 * 1000
    assert result.playlist.track_count == len(result.playlist.tracks)


@FUZZ
@given(_CSVISH)
def test_fuzz_csv_never_crashes_and_reports_real_lines(text: str) -> None:
    try:
        result = parse_csv(text)
    except PlaylistImportError as exc:
        assert str(exc)
        return
    _check(result, text.replace("\x00", ""))


@FUZZ
@given(st.lists(st.one_of(_CELL, st.sampled_from(["#EXTINF:", "#EXTINF:-1 a=\"x,y\",", "#EXTM3U", "#PLAYLIST:",
                                                   "#EXTALB:", "#EXTART:", " - ", ",", "\n", "\r\n", "\\", "/",
                                                   "file:///", "http://h/", "C:\\", "../", "\x00", "\"", "12.5"])),
                  max_size=60).map("".join))
def test_fuzz_m3u_never_crashes_and_reports_real_lines(text: str) -> None:
    result = parse_m3u(text, base_dir=Path("/nonexistent-base"))
    _check(result, text.replace("\x00", ""))


@FUZZ
@given(st.binary(max_size=400), st.sampled_from([".csv", ".m3u", ".m3u8"]))
def test_fuzz_arbitrary_bytes_as_files(tmp_path_factory, data: bytes, suffix: str) -> None:
    path = tmp_path_factory.mktemp("fuzz") / f"list{suffix}"
    path.write_bytes(data)
    try:
        result = import_playlist_file(path)
    except PlaylistImportError as exc:
        assert str(exc)
        return
    assert result.playlist.id.startswith(("csv:", "m3u:"))


_NAME = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters=",;"),
                min_size=1, max_size=20).map(lambda s: " ".join(s.split())).filter(bool)


@FUZZ
@given(st.lists(st.tuples(_NAME, st.lists(_NAME, min_size=1, max_size=3, unique=True), _NAME,
                          st.integers(1, 3_600_000)), min_size=1, max_size=15),
       st.sampled_from([",", ";", "\t"]))
def test_fuzz_csv_round_trip(rows: list[tuple[str, list[str], str, int]], delimiter: str) -> None:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(["Track Name", "Artist Name(s)", "Album Name", "Duration (ms)"])
    for title, artists, album, ms in rows:
        writer.writerow([title, ", ".join(artists), album, ms])
    result = parse_csv(out.getvalue())
    assert result.errors == []
    assert [(t.title, t.artists, t.album, t.duration_ms) for t in result.playlist.tracks] == [
        (title, list(dict.fromkeys(artists)), album, ms) for title, artists, album, ms in rows]
