"""Safe names, path templates and atomic, non-clobbering placement."""
from __future__ import annotations

import errno
import os
import tempfile
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from soulsync.core import organize, path_templates
from soulsync.core.models import Track
from soulsync.core.organize import (
    MoveAction,
    MoveError,
    atomic_move,
    atomic_write_bytes,
    is_temp_file,
    numbered_name,
    place_file,
    remove_stale_temp_files,
)
from soulsync.core.path_templates import (
    DEFAULT_ALBUM_TEMPLATE,
    DEFAULT_SINGLE_TEMPLATE,
    TemplateError,
    choose_template,
    render_path,
    validate_template,
)
from soulsync.core.safe_paths import safe_join, sanitize_component
from tests.audio_fixtures import make_audio

RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
            *(f"{d}{n}" for d in ("COM", "LPT") for n in [*"123456789", "\u00b9", "\u00b2", "\u00b3"])}


def assert_safe_component(name: str) -> None:
    assert name and name not in (".", "..")
    assert len(name.encode("utf-8")) <= 255
    assert not any(ch in name for ch in '/\\<>:"|?*')
    assert not any(unicodedata.category(ch) in ("Cc", "Cs") for ch in name)
    assert name[-1] not in ". " and name[0] not in ". "
    assert name.split(".", 1)[0].rstrip(" ").upper() not in RESERVED


# ---------------------------------------------------------------------------
# sanitize_component / safe_join


@pytest.mark.parametrize("raw, expected", [
    ("AC/DC", "AC_DC"),
    ("back\\slash", "back_slash"),
    ("..", "_"),
    (".", "_"),
    ("", "_"),
    ("   ", "_"),
    ("../../etc/passwd", "_.._etc_passwd"),
    ("C:\\Windows", "C__Windows"),
    ("\\\\server\\share", "__server_share"),
    ("CON", "_CON"),
    ("nul.txt", "_nul.txt"),
    ("Com1.tar.gz", "_Com1.tar.gz"),
    ("LPT\u00b9", "_LPT\u00b9"),
    ("NUL .flac", "_NUL .flac"),
    ("CONSOLE", "CONSOLE"),
    ("Song...", "Song"),
    ("Song . . ", "Song"),
    ("...And Justice for All", "And Justice for All"),
    ("a\x00b\x1fc\x7fd", "abcd"),
    ("line\nbreak\ttab", "line break tab"),
    ("\u202eevil\u202c.flac", "evil.flac"),
    ("what? <yes> * | \"no\"", "what_ _yes_ _ _ _no_"),
    ("Sigur Rós \U0001F3B5", "Sigur Rós \U0001F3B5"),
    ("many     spaces", "many spaces"),
])
def test_sanitize_component_examples(raw, expected):
    assert sanitize_component(raw) == expected


def test_sanitize_normalises_unicode_to_nfc():
    decomposed = unicodedata.normalize("NFD", "Beyoncé")
    assert sanitize_component(decomposed) == sanitize_component("Beyoncé") == "Beyoncé"


def test_sanitize_replaces_lone_surrogates():
    name = sanitize_component("bad\udcffbyte")  # what os.fsdecode makes of invalid UTF-8
    name.encode("utf-8")  # strict: must not raise
    assert name.startswith("bad") and name.endswith("byte")


@pytest.mark.parametrize("char", ["a", "é", "\u20ac", "\U0001F600"])
def test_cap_keeps_extension_and_whole_characters(char):
    name = sanitize_component(char * 400 + ".flac")
    assert name.endswith(".flac")
    assert len(name.encode("utf-8")) <= 255
    assert len(name.encode("utf-8")) > 255 - 4  # as long as the characters allow
    assert set(name[:-5]) == {char}


def test_cap_applies_to_names_without_extension():
    name = sanitize_component("x" * 1000)
    assert name == "x" * 255


def test_cap_never_leaves_a_trailing_space_or_reserved_name():
    name = sanitize_component("CON" + ". " * 150 + "z.txt")
    assert name == "_CON.txt"


def test_safe_join_makes_one_component_per_part(tmp_path):
    path = safe_join(tmp_path, "AC/DC", "../..", "C:\\x", "")
    assert path.relative_to(tmp_path).parts == ("AC_DC", "_", "C__x", "_")


def test_safe_join_with_no_parts_is_root(tmp_path):
    assert safe_join(tmp_path) == tmp_path


_HOSTILE_CHARS = st.sampled_from(list("/\\.:\x00 \t\n*?\"<>|") + ["..", "CON", "nul", "COM1", "C:", "\u202e",
                                                                   "\U0001F600", "é", "\udcff", "\u2028"])
_PART = st.one_of(
    st.text(max_size=40),
    st.lists(_HOSTILE_CHARS, max_size=30).map("".join),
    st.text(alphabet=st.characters(categories=["Cs", "Cc", "Cf", "Zs", "So"]), max_size=30),
    st.text(min_size=200, max_size=1200),
    st.text(alphabet=st.sampled_from(["\U0001F600", "\u00e9", "a", ".", " "]), min_size=240, max_size=700),
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(_PART, max_size=6))
def test_safe_join_always_stays_inside_root(tmp_path, parts):
    root = tmp_path / "lib"
    first = safe_join(root, *parts)
    assert first == safe_join(root, *parts)  # deterministic
    resolved_root = root.resolve()
    resolved = first.resolve()
    assert resolved == resolved_root or resolved_root in resolved.parents
    relative = first.relative_to(root).parts
    assert len(relative) == len(parts)
    for name in relative:
        assert_safe_component(name)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(_PART, min_size=1, max_size=3))
def test_safe_join_paths_can_really_be_created(tmp_path, parts):
    root = Path(tempfile.mkdtemp(dir=tmp_path))
    path = safe_join(root, *parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    assert path.read_bytes() == b"x"
    assert root.resolve() in path.resolve().parents


@settings(max_examples=300, deadline=None)
@given(text=_PART)
def test_sanitize_component_is_idempotent(text):
    once = sanitize_component(text)
    assert sanitize_component(once) == once


# ---------------------------------------------------------------------------
# Templates


def album_track(**changes) -> Track:
    base = dict(title="One More Time", artists=["Daft Punk"], album="Discovery", album_artist="Daft Punk",
                track_number=1, disc_number=1, disc_total=1, track_total=14, year=2001)
    base.update(changes)
    return Track(**base)


def test_default_album_template(tmp_path):
    path = render_path(DEFAULT_ALBUM_TEMPLATE, album_track(), "flac", tmp_path)
    assert path == tmp_path / "Daft Punk" / "Discovery (2001)" / "01 - One More Time.flac"


def test_disc_prefix_only_on_multi_disc_albums(tmp_path):
    path = render_path(DEFAULT_ALBUM_TEMPLATE, album_track(disc_number=2, disc_total=2, track_number=7), "mp3",
                       tmp_path)
    assert path.name == "2-07 - One More Time.mp3"
    unknown_total = render_path(DEFAULT_ALBUM_TEMPLATE, album_track(disc_number=3, disc_total=None), "mp3", tmp_path)
    assert unknown_total.name.startswith("3-01 - ")


def test_missing_year_drops_the_brackets_cleanly(tmp_path):
    path = render_path(DEFAULT_ALBUM_TEMPLATE, album_track(year=None), "flac", tmp_path)
    assert path.parent.name == "Discovery"
    square = render_path("{albumartist}/[{year}] {album}/{title}.{ext}", album_track(year=None), "flac", tmp_path)
    assert square.parent.name == "Discovery"


def test_bracket_groups_with_values_are_kept(tmp_path):
    path = render_path("{artist}/{album} [{genre}, {year}]/{title}.{ext}", album_track(genre=""), "ogg", tmp_path)
    assert path.parent.name == "Discovery [2001]"
    path = render_path("{artist}/{album} ({year} - {genre})/{title}.{ext}", album_track(genre=""), "ogg", tmp_path)
    assert path.parent.name == "Discovery (2001)"


def test_dangling_separators_of_empty_values_are_removed(tmp_path):
    template = "{artist}/{genre} - {album}/{track} - {title} - {isrc}.{ext}"
    path = render_path(template, album_track(track_number=None), "flac", tmp_path)
    assert path.relative_to(tmp_path).parts == ("Daft Punk", "Discovery", "One More Time.flac")


def test_empty_folder_levels_are_skipped(tmp_path):
    path = render_path("{genre}/{artist}/{title}.{ext}", album_track(), "flac", tmp_path)
    assert path.relative_to(tmp_path).parts == ("Daft Punk", "One More Time.flac")


def test_values_cannot_make_folders_or_escape(tmp_path):
    track = album_track(album_artist="../../..", album="a/b\\c", title="C:\\Windows\\x")
    path = render_path(DEFAULT_ALBUM_TEMPLATE, track, "flac", tmp_path)
    parts = path.relative_to(tmp_path).parts
    assert len(parts) == 3
    assert parts[1] == "a_b_c (2001)"
    assert parts[2] == "01 - C__Windows_x.flac"
    assert tmp_path.resolve() in path.resolve().parents


def test_fallbacks_for_missing_names(tmp_path):
    track = Track(title="", artists=[], album="", track_number=2)
    path = render_path(DEFAULT_ALBUM_TEMPLATE, track, "flac", tmp_path)
    assert path.relative_to(tmp_path).parts == ("Unknown Artist", "Unknown Album", "02 - Untitled.flac")


def test_reserved_title_and_extension_handling(tmp_path):
    path = render_path(DEFAULT_SINGLE_TEMPLATE, Track(title="nul", artists=["CON"]), ".MP3", tmp_path)
    assert path.relative_to(tmp_path).parts == ("_CON", "CON - nul.mp3")
    bare = render_path("{artist}/{title}", Track(title="CON", artists=["X"]), "flac", tmp_path)
    assert bare.name == "_CON.flac"


def test_long_titles_are_capped_keeping_the_extension(tmp_path):
    path = render_path(DEFAULT_ALBUM_TEMPLATE, album_track(title="\u00e9" * 300), "flac", tmp_path)
    assert path.name.endswith(".flac")
    assert len(path.name.encode("utf-8")) <= 255
    assert all(len(p.encode("utf-8")) <= 255 for p in path.relative_to(tmp_path).parts)


def test_template_without_ext_gets_one(tmp_path):
    path = render_path("{artist}/{title}", album_track(), "opus", tmp_path)
    assert path.name == "One More Time.opus"


def test_choose_template():
    assert choose_template(album_track(), "A", "S") == "A"
    assert choose_template(album_track(track_number=None), "A", "S") == "S"
    assert choose_template(album_track(album=""), "A", "S") == "S"


@pytest.mark.parametrize("template, message", [
    ("{albumartist}/{albun}/{title}.{ext}", "unknown placeholder {albun}"),
    ("{track.__class__}", "unknown placeholder"),
    ("{title!r}", "conversions"),
    ("{track:{width}}", "nested"),
    ("{track:zz}", "invalid format"),
    ("{title", "unbalanced"),
    ("/abs/{title}", "relative"),
    ("C:/music/{title}", "relative"),
    ("{artist}/../{title}", "'..'"),
    ("", "empty"),
    ("   ", "empty"),
    ("{artist}/", "end with a file name"),
])
def test_validate_template_rejects(template, message):
    with pytest.raises(TemplateError, match=message.replace("{", r"\{").replace("}", r"\}").replace(".", r"\.")):
        validate_template(template)


@pytest.mark.parametrize("template", [
    DEFAULT_ALBUM_TEMPLATE, DEFAULT_SINGLE_TEMPLATE, "{genre}/{artists}/{disc}-{track:03d} {title} [{isrc}].{ext}",
    "{albumartist}\\{album}\\{tracktotal} {disctotal} {title:.40}",
])
def test_validate_template_accepts(template):
    validate_template(template)


def test_render_path_rejects_invalid_template(tmp_path):
    with pytest.raises(TemplateError):
        render_path("{nope}", album_track(), "flac", tmp_path)


# ---------------------------------------------------------------------------
# Placement


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if is_temp_file(p)]


def test_place_new_file(tmp_path):
    src = write(tmp_path / "dl" / "a.flac", b"new")
    dest = tmp_path / "lib" / "Artist" / "a.flac"
    result = place_file(src, dest)
    assert result.action is MoveAction.MOVED and result.path == dest
    assert dest.read_bytes() == b"new" and not src.exists()


def test_identical_content_is_already_present(tmp_path):
    src = write(tmp_path / "dl" / "a.flac", b"same")
    dest = write(tmp_path / "lib" / "a.flac", b"same")
    for policy in ("keep_better", "number"):
        src.write_bytes(b"same")
        result = place_file(src, dest, clash=policy)
        assert result.action is MoveAction.ALREADY_PRESENT and result.path == dest
        assert not src.exists()
        assert sorted(p.name for p in dest.parent.iterdir()) == ["a.flac"]


def test_number_policy_never_overwrites(tmp_path):
    dest = write(tmp_path / "lib" / "Song.flac", b"first")
    write(tmp_path / "lib" / "Song (2).flac", b"second")
    src = write(tmp_path / "dl" / "Song.flac", b"third")
    result = place_file(src, dest, clash="number")
    assert result.action is MoveAction.MOVED
    assert result.path.name == "Song (3).flac" and result.path.read_bytes() == b"third"
    assert dest.read_bytes() == b"first"
    assert "different content" in result.reason
    again = write(tmp_path / "dl" / "Song.flac", b"second")
    assert place_file(again, dest, clash="number").path.name == "Song (2).flac"


def test_numbered_name_stays_within_limits():
    long = "\u00e9" * 200 + ".flac"
    numbered = numbered_name(long, 12)
    assert numbered.endswith(" (12).flac")
    assert len(numbered.encode("utf-8")) <= 255
    assert numbered_name("Song.flac", 1) == "Song.flac"


@pytest.fixture()
def flac_and_mp3(tmp_path):
    flac = make_audio(tmp_path / "src" / "good.flac", seconds=1)
    mp3 = make_audio(tmp_path / "src" / "worse.mp3", seconds=1)
    return flac, mp3


def test_keep_better_keeps_existing_lossless(tmp_path, flac_and_mp3):
    flac, mp3 = flac_and_mp3
    dest = tmp_path / "lib" / "Song.audio"
    dest.parent.mkdir()
    os.replace(flac, dest)
    result = place_file(mp3, dest, clash="keep_better")
    assert result.action is MoveAction.KEPT_EXISTING
    assert "kept the existing FLAC" in result.reason and "MP3" in result.reason
    assert mp3.exists()  # the source is left where it was
    assert not result.source_consumed


def test_keep_better_replaces_worse_existing_and_keeps_it_aside(tmp_path, flac_and_mp3):
    flac, mp3 = flac_and_mp3
    dest = tmp_path / "lib" / "Song.audio"
    dest.parent.mkdir()
    mp3_bytes, flac_bytes = mp3.read_bytes(), flac.read_bytes()
    os.replace(mp3, dest)
    result = place_file(flac, dest, clash="keep_better", displaced_dir=tmp_path / "replaced")
    assert result.action is MoveAction.REPLACED
    assert "replaced the existing MP3" in result.reason and "FLAC" in result.reason
    assert dest.read_bytes() == flac_bytes and not flac.exists()
    assert result.displaced_to is not None and result.displaced_to.read_bytes() == mp3_bytes
    assert no_temp_files(tmp_path)


def test_keep_better_without_displaced_dir_drops_the_worse_file(tmp_path, flac_and_mp3):
    flac, mp3 = flac_and_mp3
    dest = tmp_path / "lib" / "Song.audio"
    dest.parent.mkdir()
    os.replace(mp3, dest)
    result = place_file(flac, dest)
    assert result.action is MoveAction.REPLACED and result.displaced_to is None
    assert sorted(p.name for p in dest.parent.iterdir()) == ["Song.audio"]


def test_keep_better_equal_quality_keeps_existing(tmp_path):
    existing = make_audio(tmp_path / "lib" / "a.flac", seconds=1, freq=440)
    incoming = make_audio(tmp_path / "dl" / "a.flac", seconds=1, freq=440.5)
    result = place_file(incoming, existing, quality=lambda p: ((True, 900, 1), "FLAC"))
    assert result.action is MoveAction.KEPT_EXISTING and "is as good as" in result.reason


def test_damaged_existing_file_loses(tmp_path):
    existing = write(tmp_path / "lib" / "a.mp3", b"not audio at all")
    incoming = make_audio(tmp_path / "dl" / "a.mp3", seconds=1)
    result = place_file(incoming, existing)
    assert result.action is MoveAction.REPLACED and "damaged" in result.reason


def test_place_file_errors(tmp_path):
    with pytest.raises(MoveError, match="missing"):
        place_file(tmp_path / "nope.flac", tmp_path / "lib" / "x.flac")
    src = write(tmp_path / "dl" / "a.flac", b"a")
    (tmp_path / "lib" / "x.flac").mkdir(parents=True)
    with pytest.raises(MoveError, match="not a file"):
        place_file(src, tmp_path / "lib" / "x.flac")
    with pytest.raises(MoveError, match="clash policy"):
        place_file(src, tmp_path / "lib" / "y.flac", clash="overwrite")
    blocker = write(tmp_path / "file", b"")
    with pytest.raises(MoveError, match="could not move"):
        place_file(src, blocker / "sub" / "a.flac")
    assert src.read_bytes() == b"a"


def test_atomic_move_refuses_existing_destination(tmp_path):
    src = write(tmp_path / "a", b"a")
    dest = write(tmp_path / "b", b"b")
    with pytest.raises(FileExistsError):
        atomic_move(src, dest)
    assert src.read_bytes() == b"a" and dest.read_bytes() == b"b"


def _raise_errno(code):
    def fail(*_args, **_kwargs):
        raise OSError(code, os.strerror(code))
    return fail


def test_atomic_move_across_devices_copies_then_renames(tmp_path, monkeypatch):
    src = write(tmp_path / "dl" / "a.flac", b"payload" * 1000)
    dest = tmp_path / "lib" / "a.flac"
    renamed = []
    real_rename = os.rename

    def rename(a, b):
        if Path(a) == src:
            raise OSError(errno.EXDEV, "cross-device link")
        renamed.append((a, b))
        return real_rename(a, b)

    monkeypatch.setattr(organize.os, "rename", rename)
    monkeypatch.setattr(organize.os, "link", _raise_errno(errno.EXDEV))
    atomic_move(src, dest)
    assert dest.read_bytes() == b"payload" * 1000 and not src.exists()
    assert renamed and is_temp_file(renamed[0][0])  # published from a temp copy in the destination folder
    assert no_temp_files(tmp_path)


def test_atomic_move_without_hard_links_renames(tmp_path, monkeypatch):
    src = write(tmp_path / "dl" / "a.flac", b"x")
    monkeypatch.setattr(organize.os, "link", _raise_errno(errno.EPERM))
    dest = atomic_move(src, tmp_path / "lib" / "a.flac")
    assert dest.read_bytes() == b"x" and not src.exists()


def test_failed_cross_device_copy_leaves_source_and_no_temp(tmp_path, monkeypatch):
    src = write(tmp_path / "dl" / "a.flac", b"x" * 10)
    monkeypatch.setattr(organize.os, "link", _raise_errno(errno.EXDEV))
    monkeypatch.setattr(organize.os, "rename", _raise_errno(errno.EXDEV))
    monkeypatch.setattr(organize.os, "fsync", _raise_errno(errno.ENOSPC))
    with pytest.raises(OSError):
        atomic_move(src, tmp_path / "lib" / "a.flac")
    assert src.read_bytes() == b"x" * 10
    assert not (tmp_path / "lib" / "a.flac").exists()
    assert no_temp_files(tmp_path)


def test_atomic_write_bytes(tmp_path):
    target = tmp_path / "album" / "cover.jpg"
    assert atomic_write_bytes(target, b"one") is True
    assert atomic_write_bytes(target, b"two") is False
    assert target.read_bytes() == b"one"
    assert atomic_write_bytes(target, b"three", overwrite=True) is True
    assert target.read_bytes() == b"three"
    assert no_temp_files(tmp_path)


def test_remove_stale_temp_files(tmp_path):
    stale = write(tmp_path / ".soulsync-deadbeef.part", b"half")
    os.utime(stale, (1_000_000, 1_000_000))
    fresh = write(tmp_path / ".soulsync-0123abcd.part", b"being written")
    write(tmp_path / "keep.flac", b"whole")
    assert remove_stale_temp_files(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [fresh.name, "keep.flac"]
    assert remove_stale_temp_files(tmp_path, now=fresh.stat().st_mtime + 3600) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["keep.flac"]
    assert remove_stale_temp_files(tmp_path / "missing") == 0


def test_same_track_in_another_format_is_a_clash(tmp_path, flac_and_mp3):
    flac, mp3 = flac_and_mp3
    library = tmp_path / "lib"
    library.mkdir()
    existing_mp3 = library / "Song.mp3"
    os.replace(mp3, existing_mp3)
    result = place_file(flac, library / "Song.flac", same_item_suffixes=(".mp3", ".flac", ".ogg"),
                        displaced_dir=tmp_path / "aside")
    assert result.action is MoveAction.REPLACED and result.path == library / "Song.flac"
    assert [p.name for p in library.iterdir()] == ["Song.flac"]
    assert result.displaced_to == tmp_path / "aside" / "Song.mp3"
    worse = make_audio(tmp_path / "dl" / "Song.mp3")
    kept = place_file(worse, library / "Song.mp3", same_item_suffixes=(".flac",))
    assert kept.action is MoveAction.KEPT_EXISTING and kept.path == library / "Song.flac"
    assert worse.exists() and [p.name for p in library.iterdir()] == ["Song.flac"]
    numbered = place_file(worse, library / "Song.mp3", clash="number", same_item_suffixes=(".flac",))
    assert numbered.action is MoveAction.MOVED  # numbering is about names only


_NAME = st.one_of(st.text(max_size=60), st.lists(_HOSTILE_CHARS, max_size=20).map("".join),
                  st.text(min_size=250, max_size=600))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=_NAME, artists=st.lists(_NAME, max_size=3), album=_NAME, album_artist=_NAME, genre=_NAME,
       track=st.one_of(st.none(), st.integers(-5, 10**6)), disc=st.one_of(st.none(), st.integers(-1, 99)),
       year=st.one_of(st.none(), st.integers(-10, 10**5)),
       template=st.sampled_from([DEFAULT_ALBUM_TEMPLATE, DEFAULT_SINGLE_TEMPLATE,
                                 "{genre}/{artists}/[{year}] {album}/{disc}-{track:03} {title} - {isrc}.{ext}"]))
def test_rendered_paths_from_hostile_tags_stay_inside_the_library(tmp_path, title, artists, album, album_artist,
                                                                   genre, track, disc, year, template):
    song = Track(title=title, artists=artists, album=album, album_artist=album_artist, genre=genre,
                 track_number=track, disc_number=disc, disc_total=2, year=year, isrc=title[:12])
    root = tmp_path / "library"
    path = render_path(template, song, "flac", root)
    assert path == render_path(template, song, "flac", root)
    assert root.resolve() in path.resolve().parents
    assert path.name.endswith(".flac")
    for name in path.relative_to(root).parts:
        assert_safe_component(name)


def test_interrupted_move_is_finished_on_the_next_run(tmp_path):
    src = write(tmp_path / "dl" / "a.flac", b"data")
    dest = tmp_path / "lib" / "a.flac"
    dest.parent.mkdir()
    os.link(src, dest)  # the state a crash between "link into place" and "remove source" leaves
    result = place_file(src, dest)
    assert result.action is MoveAction.ALREADY_PRESENT
    assert not src.exists() and dest.read_bytes() == b"data"


def test_placing_a_file_onto_itself_keeps_it(tmp_path):
    path = write(tmp_path / "lib" / "a.flac", b"data")
    assert place_file(path, path).action is MoveAction.ALREADY_PRESENT
    assert path.read_bytes() == b"data"


def test_stale_temp_sweep_never_touches_an_old_file_that_is_not_a_temp_file(tmp_path):
    """The sweep runs in album folders after every filed track: an old song there must stay."""
    old_song = write(tmp_path / "01 - Song.flac", b"a track filed last year")
    almost_temp = write(tmp_path / ".soulsync-notes.txt", b"prefix only")
    stale = write(tmp_path / ".soulsync-deadbeef.part", b"half")
    for path in (old_song, almost_temp, stale):
        os.utime(path, (1_000_000, 1_000_000))
    assert remove_stale_temp_files(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [".soulsync-notes.txt", "01 - Song.flac"]


def test_stale_temp_sweep_keeps_a_temp_file_younger_than_the_age_limit(tmp_path):
    temp = write(tmp_path / ".soulsync-0123abcd.part", b"being written")
    mtime = temp.stat().st_mtime
    assert remove_stale_temp_files(tmp_path, now=mtime + 3599) == 0
    assert remove_stale_temp_files(tmp_path, now=mtime + 3600) == 1, "exactly the age limit counts as stale"


def test_files_that_differ_after_the_first_mebibyte_are_not_identical(tmp_path):
    """A good new download of the same size must never be thrown away as 'already present'."""
    size = 3 * (1 << 20) + 17
    base = bytes(range(256)) * (size // 256) + b"\0" * (size % 256)
    existing = write(tmp_path / "lib" / "Song.flac", base)
    for offset in (1 << 20, 2 * (1 << 20) + 5, size - 1):
        changed = bytearray(base)
        changed[offset] ^= 0xFF
        new = write(tmp_path / "dl" / f"new{offset}.flac", bytes(changed))
        assert not organize.files_identical(new, existing), f"a difference at byte {offset} was missed"
    same = write(tmp_path / "dl" / "same.flac", base)
    assert organize.files_identical(same, existing)
    result = place_file(new, existing, clash="number")
    assert result.action is MoveAction.MOVED and result.path.name == "Song (2).flac"
    assert existing.read_bytes() == base


def _refuse_link(*_args: object, **_kwargs: object) -> None:
    raise OSError(errno.EPERM, "Operation not permitted")


@pytest.fixture()
def no_hard_links(monkeypatch):
    """A library on FAT, exFAT or a network share: every hard link attempt fails."""
    monkeypatch.setattr(os, "link", _refuse_link)


def test_kept_aside_copy_survives_where_hard_links_are_impossible(tmp_path, flac_and_mp3, no_hard_links):
    flac, mp3 = flac_and_mp3
    dest = tmp_path / "lib" / "Song.audio"
    dest.parent.mkdir()
    mp3_bytes, flac_bytes = mp3.read_bytes(), flac.read_bytes()
    os.replace(mp3, dest)
    result = place_file(flac, dest, clash="keep_better", displaced_dir=tmp_path / "replaced")
    assert result.action is MoveAction.REPLACED
    assert dest.read_bytes() == flac_bytes and not flac.exists()
    assert result.displaced_to == tmp_path / "replaced" / "Song.audio"
    assert result.displaced_to.read_bytes() == mp3_bytes
    assert no_temp_files(tmp_path)


def _rank_by_first_byte(path: Path) -> tuple[tuple, str]:
    """A quality probe for plain test files: the first byte is the rank."""
    return (path.read_bytes()[0],), f"rank {path.read_bytes()[0]}"


@pytest.mark.parametrize("links", ["hard links", "no hard links"])
def test_a_second_upgrade_keeps_both_replaced_files_aside(tmp_path, monkeypatch, links):
    if links == "no hard links":
        monkeypatch.setattr(os, "link", _refuse_link)
    dest = write(tmp_path / "lib" / "Song.flac", b"\x01 first")
    aside = tmp_path / "replaced"
    first = place_file(write(tmp_path / "dl" / "a.flac", b"\x02 second"), dest, displaced_dir=aside,
                       quality=_rank_by_first_byte)
    second = place_file(write(tmp_path / "dl" / "b.flac", b"\x03 third"), dest, displaced_dir=aside,
                        quality=_rank_by_first_byte)
    assert first.action is MoveAction.REPLACED and second.action is MoveAction.REPLACED
    assert dest.read_bytes() == b"\x03 third"
    assert first.displaced_to == aside / "Song.flac" and second.displaced_to == aside / "Song (2).flac"
    assert first.displaced_to.read_bytes() == b"\x01 first", "the first kept copy is never overwritten"
    assert second.displaced_to.read_bytes() == b"\x02 second"
    assert no_temp_files(tmp_path)


def test_clash_reasons_say_which_file_was_kept_and_why(tmp_path):
    """The queue shows these words: a better and an equal existing file are told apart."""
    dest = write(tmp_path / "lib" / "Song.flac", b"\x05 existing")
    src = write(tmp_path / "dl" / "a.flac", b"\x03 worse")
    kept = place_file(src, dest, quality=_rank_by_first_byte)
    assert kept.action is MoveAction.KEPT_EXISTING and (kept.path, kept.source) == (dest, src)
    assert kept.reason == "kept the existing rank 5: it is better than the new rank 3"
    src = write(tmp_path / "dl" / "b.flac", b"\x05 equal")
    assert place_file(src, dest, quality=_rank_by_first_byte).reason == \
        "kept the existing rank 5: it is as good as the new rank 5"
    src = write(tmp_path / "dl" / "c.flac", b"\x07 better")
    replaced = place_file(src, dest, quality=_rank_by_first_byte)
    assert (replaced.action, replaced.path, replaced.source) == (MoveAction.REPLACED, dest, src)
    assert replaced.reason == "replaced the existing rank 5 with the better rank 7"


def test_the_same_track_in_another_format_of_equal_quality_stays(tmp_path):
    library = tmp_path / "lib"
    mp3 = write(library / "Song.mp3", b"\x05 mp3")
    src = write(tmp_path / "dl" / "Song.ogg", b"\x05 ogg")
    result = place_file(src, library / "Song.ogg", quality=_rank_by_first_byte, same_item_suffixes=(".mp3",))
    assert (result.action, result.path, result.source) == (MoveAction.KEPT_EXISTING, mp3, src)
    assert result.reason == "kept the existing rank 5: it is as good as the new rank 5"
    better = write(tmp_path / "dl" / "Song.flac", b"\x09 flac")
    worse = place_file(write(tmp_path / "dl" / "w.ogg", b"\x02 ogg"), library / "Song.ogg",
                       quality=_rank_by_first_byte, same_item_suffixes=(".mp3",))
    assert worse.reason == "kept the existing rank 5: it is better than the new rank 2"
    aside = tmp_path / "kept" / "aside"  # not there yet, nor its parent
    result = place_file(better, library / "Song.flac", quality=_rank_by_first_byte, displaced_dir=aside,
                        same_item_suffixes=(".mp3",))
    assert (result.action, result.path, result.source) == (MoveAction.REPLACED, library / "Song.flac", better)
    assert result.reason == "replaced the existing rank 5 with the better rank 9"
    assert result.displaced_to == aside / "Song.mp3" and result.displaced_to.read_bytes() == b"\x05 mp3"
    write(library / "Other.mp3", b"\x01 other")
    again = place_file(write(tmp_path / "dl" / "Other.flac", b"\x02 flac"), library / "Other.flac",
                       quality=_rank_by_first_byte, displaced_dir=aside, same_item_suffixes=(".mp3",))
    assert again.displaced_to == aside / "Other.mp3", "an existing kept-aside folder is used as it is"


def test_the_stale_temp_sweep_counts_every_file_it_removed(tmp_path):
    for name in (".soulsync-aaaa.part", ".soulsync-bbbb.part", ".soulsync-cccc.part"):
        os.utime(write(tmp_path / name, b"half"), (1_000_000, 1_000_000))
    assert remove_stale_temp_files(tmp_path) == 3
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_cannot_be_read_is_never_identical(tmp_path):
    existing = write(tmp_path / "a.flac", b"same")
    assert not organize.files_identical(tmp_path / "missing.flac", existing)
    assert not organize.files_identical(existing, tmp_path / "missing.flac")


@pytest.mark.parametrize("disc, disc_total, prefix", [
    (None, None, None), (1, None, None), (2, None, "2-"), (1, 1, None), (1, 2, "1-"), (2, 1, None), (None, 2, None),
])
def test_the_disc_prefix_appears_only_on_multi_disc_releases(disc, disc_total, prefix):
    track = Track(title="Song", artists=["Band"], album="Album", disc_number=disc, disc_total=disc_total)
    assert path_templates.template_fields(track, "flac")["disc_prefix"] == prefix


def test_template_fields_carry_every_value_a_template_may_name():
    track = Track(title=" Song ", artists=["Band", " ", "Guest "], album="Album", track_number=3, track_total=12,
                  disc_number=1, disc_total=2, year=1999, genre=" Rock ", isrc=" USRC17607839 ")
    fields = path_templates.template_fields(track, ".FL-AC")
    assert fields == {"albumartist": "Band", "artist": "Band", "artists": "Band, Guest", "album": "Album",
                      "title": "Song", "year": 1999, "track": 3, "tracktotal": 12, "disc": 1, "disctotal": 2,
                      "disc_prefix": "1-", "genre": "Rock", "isrc": "USRC17607839", "ext": "flac"}
    bare = path_templates.template_fields(Track(title="", artists=[]), "...")
    assert (bare["artists"], bare["genre"], bare["isrc"], bare["ext"]) == ("Unknown Artist", None, None, "bin")
    assert path_templates.template_fields(Track(title="x", artists=["A"]), "mp3.")["ext"] == "mp3"


def test_an_identical_copy_is_reported_in_words_and_the_duplicate_goes(tmp_path):
    dest = write(tmp_path / "lib" / "Song.flac", b"same bytes")
    src = write(tmp_path / "dl" / "Song.flac", b"same bytes")
    result = place_file(src, dest)
    assert (result.action, result.path, result.source) == (MoveAction.ALREADY_PRESENT, dest, src)
    assert result.reason == "an identical copy is already in the library"
    assert not src.exists() and dest.read_bytes() == b"same bytes"


def test_atomic_move_creates_the_missing_folders(tmp_path):
    src = write(tmp_path / "dl" / "a.flac", b"x")
    dest = tmp_path / "lib" / "Artist" / "Album (2020)" / "01 - a.flac"
    assert atomic_move(src, dest) == dest and dest.read_bytes() == b"x" and not src.exists()
