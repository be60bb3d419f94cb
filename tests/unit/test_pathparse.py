"""Guessing title, artist, album, track, disc and year from Soulseek remote paths."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from soulsync.core.pathparse import (
    FolderGuess,
    FolderParser,
    album_folder_of,
    disc_number_of,
    is_extras_folder,
    is_format_folder,
    is_generic_folder,
    parse_folder,
    parse_name,
    parse_path,
    parse_stem,
    split_remote,
)


def fields(path: str) -> tuple:
    g = parse_path(path)
    return (g.title, g.artist, g.album, g.track_number, g.disc_number, g.year)


# --------------------------------------------------------------------------- whole paths


@pytest.mark.parametrize("path, expected", [
    # artist folder / "year - album [format]" / "nn - title"
    (r"@@share\Music\Artist\2011 - Album [FLAC]\03 - Title.flac",
     ("Title", "Artist", "Album", 3, None, 2011)),
    # "Artist - Album (year)" / "nn. Artist - Title"
    (r"@@abcde\Artist - Album (2011)\01. Artist - Title.mp3",
     ("Title", "Artist", "Album", 1, None, 2011)),
    (r"@@abcde\Music\Pink Floyd\The Wall (1979)\CD2\01 - Hey You.flac",
     ("Hey You", "Pink Floyd", "The Wall", 1, 2, 1979)),
    (r"@@abcde\Music\Pink Floyd\The Wall (1979)\Disc 1\1-03 Another Brick in the Wall.flac",
     ("Another Brick in the Wall", "Pink Floyd", "The Wall", 3, 1, 1979)),
    # three-digit disc+track number
    (r"@@abcde\Music\Artist\2001. Album\205 Song (feat. Guest).flac",
     ("Song (feat. Guest)", "Artist", "Album", 5, 2, 2001)),
    # flat folder of loose songs
    (r"@@abcde\Music\Daft Punk - One More Time.mp3",
     ("One More Time", "Daft Punk", "", None, None, None)),
    # a leading number that is part of the artist
    (r"@@abcde\mp3\50 Cent - In Da Club.mp3",
     ("In Da Club", "50 Cent", "", None, None, None)),
    # underscores for spaces, a bitrate tag
    (r"@@abcde\mp3\03_-_Daft_Punk_-_One_More_Time_[320].mp3",
     ("One More Time", "Daft Punk", "", 3, None, None)),
    # scene folder and file
    (r"@@abcde\Daft_Punk-Discovery-2001-FTD\01-daft_punk-one_more_time-ftd.mp3",
     ("one more time", "daft punk", "Discovery", 1, None, 2001)),
    (r"@@abcde\Artist-Album_Name-(CAT123)-WEB-2019-GRP\02-artist-song_title-grp.flac",
     ("song title", "artist", "Album Name", 2, None, 2019)),
    # "Artist - Album - nn - Title"
    (r"@@abcde\Music\Artist\Album\Artist - Album - 03 - Title.mp3",
     ("Title", "Artist", "Album", 3, None, None)),
    # "Artist - Album - Title" where the middle part is the folder's album
    (r"@@abcde\Music\Artist\Album X\Artist - Album X - Title - Live.mp3",
     ("Title - Live", "Artist", "Album X", None, None, None)),
    # the middle part is not the album: it stays in the title
    (r"@@abcde\Music\Artist\Album X\Artist - Other - Title.mp3",
     ("Other - Title", "Artist", "Album X", None, None, None)),
    # compilations
    (r"@@abcde\Music\VA - Hits 2011\10 Song.mp3",
     ("Song", "Various Artists", "Hits 2011", 10, None, None)),
    # accents, bracketed track number, quality tag on the folder
    (r"@@abcde\Music\Björk\Homogenic [24-96]\[05] Jóga.flac",
     ("Jóga", "Björk", "Homogenic", 5, None, None)),
    # a format-only subfolder is named by its parent
    (r"@@abcde\Music\Radiohead\OK Computer (1997)\FLAC\02 - Paranoid Android.flac",
     ("Paranoid Android", "Radiohead", "OK Computer", 2, None, 1997)),
    # "Album (year)" under an artist folder, quality bracket on the file
    (r"@@abcde\Albums\Nina Simone\Pastel Blues (1965)\07 Sinnerman (Remastered) [FLAC].flac",
     ("Sinnerman (Remastered)", "Nina Simone", "Pastel Blues", 7, None, 1965)),
    # year-named folders are not artists
    (r"@@abcde\Music\1999\Album Name\01 - Song.mp3",
     ("Song", "", "Album Name", 1, None, None)),
    # posix separators
    ("/home/u/Music/Boards of Canada/Geogaddi/02 Music Is Math.ogg",
     ("Music Is Math", "Boards of Canada", "Geogaddi", 2, None, None)),
    # no folder at all
    ("lonely.mp3", ("lonely", "", "", None, None, None)),
    # a year in the file name
    (r"@@abcde\mp3\Artist - Song (1984).mp3", ("Song", "Artist", "", None, None, 1984)),
    # en dash separator
    ("@@abcde\\mp3\\Sigur Rós \u2013 Hoppípolla.mp3", ("Hoppípolla", "Sigur Rós", "", None, None, None)),
    # extra spaces and a Windows copy marker
    (r"@@abcde\mp3\  Artist  -  Song  (1).mp3", ("Song", "Artist", "", None, None, None)),
])
def test_real_world_paths(path: str, expected: tuple) -> None:
    assert fields(path) == expected


@pytest.mark.parametrize("name, track, title", [
    ("03 - Title.flac", 3, "Title"),
    ("03. Title.flac", 3, "Title"),
    ("03.Title.flac", 3, "Title"),
    ("3) Title.flac", 3, "Title"),
    ("03 Title.flac", 3, "Title"),
    ("7 Title.flac", 7, "Title"),
    ("12 Title.flac", 12, "Title"),
    ("(03) Title.flac", 3, "Title"),
    ("99 Problems.mp3", 99, "Problems"),
    ("1979.mp3", None, "1979"),
    ("2Pac - California Love.mp3", None, "California Love"),
    ("Title.flac", None, "Title"),
    ("Title - 2.mp3", None, "2"),
])
def test_track_numbers(name: str, track: int | None, title: str) -> None:
    guess = parse_name(name)
    assert guess.track_number == track
    assert guess.title == title


@pytest.mark.parametrize("name", ["1-03 Title.flac", "1.03 Title.flac", "103 Title.flac",
                                  "1 - 03 - Title.flac", "01 - 03 - Title.flac"])
def test_disc_and_track_in_the_name(name: str) -> None:
    guess = parse_name(name)
    assert (guess.disc_number, guess.track_number, guess.title) == (1, 3, "Title")


def test_dots_inside_a_name_stay() -> None:
    assert parse_stem("Mr. Brightside.mp3").title == "Mr. Brightside"


def test_name_guess_does_not_depend_on_the_folder_but_the_folder_fills_gaps() -> None:
    folder = FolderGuess("f", disc=2, artist="Folder Artist", album="Folder Album", year=1990)
    plain = parse_name("04 - Song.mp3")
    filled = parse_name("04 - Song.mp3", folder)
    assert (plain.artist, plain.album, plain.disc_number, plain.year) == ("", "", None, None)
    assert (filled.artist, filled.album, filled.disc_number, filled.year) == (
        "Folder Artist", "Folder Album", 2, 1990)
    # what the name says wins over the folder
    own = parse_name("1-04 Name Artist - Song (2001).mp3", folder)
    assert (own.artist, own.disc_number, own.year) == ("Name Artist", 1, 2001)


# --------------------------------------------------------------------------- folders


@pytest.mark.parametrize("name, disc", [
    ("CD1", 1), ("CD 2", 2), ("cd-3", 3), ("Disc 2", 2), ("Disk1", 1), ("DISC 10", 10),
    ("Disc One", 1), ("disk two", 2), ("CD1 - Bonus", 1), ("Disc 2 (Live)", 2), ("CD 1 of 2", 1),
    ("Disco 2", 2),
    ("Discovery", None), ("Disco Inferno", None), ("Discography", None), ("CD Singles", None),
    ("CDQ", None), ("Disc1of2x", None), ("Album", None), ("", None),
])
def test_disc_folders(name: str, disc: int | None) -> None:
    assert disc_number_of(name) == disc


@pytest.mark.parametrize("name, expected", [
    ("Music", True), ("mp3", True), ("MP3", True), ("My Music", True), ("@@abcde", True),
    ("C:", True), ("A", True), ("2011", True), ("New Folder", True), ("Soulseek Downloads", True),
    ("Music [FLAC]", True), ("", True),
    ("Pink Floyd", False), ("The Wall", False), ("Album", False), ("2011 - Album", False),
])
def test_generic_folders(name: str, expected: bool) -> None:
    assert is_generic_folder(name) is expected


@pytest.mark.parametrize("name, expected", [
    ("FLAC", True), ("MP3 320", True), ("24-96", True), ("FLAC 24bit 96kHz", True), ("V0", True),
    ("Album", False), ("320 Days", False),
])
def test_format_folders(name: str, expected: bool) -> None:
    assert is_format_folder(name) is expected


@pytest.mark.parametrize("name", ["Scans", "scan", "Artwork", "Covers", "Booklet", "Front Cover"])
def test_extras_folders(name: str) -> None:
    assert is_extras_folder(name)


def test_disc_folder_belongs_to_its_parent() -> None:
    guess = parse_folder(r"@@a\Music\Artist\Album (2000)\CD2")
    assert guess.album_folder == r"@@a\Music\Artist\Album (2000)"
    assert (guess.disc, guess.artist, guess.album, guess.year) == (2, "Artist", "Album", 2000)
    assert not guess.generic


def test_catch_all_folders_are_generic() -> None:
    assert parse_folder(r"@@a\Music").generic
    assert parse_folder(r"@@a\Downloads\complete").generic
    assert parse_folder(r"@@a\mp3\CD1").generic
    assert parse_folder("@@a").generic


@pytest.mark.parametrize("folder, artist, album, year", [
    (r"@@a\Artist - 2011 - Album", "Artist", "Album", 2011),
    (r"@@a\Artist\2011 - Album", "Artist", "Album", 2011),
    (r"@@a\Artist\(2011) Album", "Artist", "Album", 2011),
    (r"@@a\Artist\Album [2011] [FLAC 24-96]", "Artist", "Album", 2011),
    (r"@@a\Artist\Album (Deluxe Edition)", "Artist", "Album (Deluxe Edition)", None),
    (r"@@a\Music\Artist_-_Album_(2011)", "Artist", "Album", 2011),
    (r"@@a\Music\V.A. - Summer Hits", "Various Artists", "Summer Hits", None),
    (r"@@a\Music\Artist Discography (1990-2000) [MP3]\Album", "Artist Discography", "Album", None),
    (r"@@a\Music\Artist - Discography\1995 - Album", "Artist", "Album", 1995),
    (r"@@a\Music\1999", "", "", None),
])
def test_album_folder_names(folder: str, artist: str, album: str, year: int | None) -> None:
    guess = parse_folder(folder)
    assert (guess.artist, guess.album, guess.year) == (artist, album, year)


@pytest.mark.parametrize("folder, album_folder", [
    (r"@@a\Artist\Album\Scans", r"@@a\Artist\Album"),
    (r"@@a\Artist\Album\CD1\Artwork", r"@@a\Artist\Album"),
    (r"@@a\Artist\Album\CD1", r"@@a\Artist\Album"),
    (r"@@a\Artist\Album", r"@@a\Artist\Album"),
    ("Scans", "Scans"),
])
def test_non_audio_album_folder(folder: str, album_folder: str) -> None:
    assert album_folder_of(folder) == album_folder


def test_split_remote_keeps_the_folder_exactly() -> None:
    assert split_remote(r"@@a\Music\x.mp3") == (r"@@a\Music", "x.mp3")
    assert split_remote("/m/x.mp3") == ("/m", "x.mp3")
    assert split_remote("x.mp3") == ("", "x.mp3")


# --------------------------------------------------------------------------- properties

_path_text = st.text(alphabet=st.sampled_from(list("ab CD1-_.()[]{}0123\\/éジ–")), max_size=40)


@given(_path_text)
def test_any_path_parses_with_a_title(path: str) -> None:
    guess = parse_path(path)
    _, name = split_remote(path)
    if name:
        assert guess.title
    for number in (guess.track_number, guess.disc_number):
        assert number is None or number >= 0
    assert guess.year is None or 1900 <= guess.year <= 2099


@given(st.lists(_path_text, max_size=8))
def test_folder_parser_memo_agrees_with_a_fresh_parse(folders: list[str]) -> None:
    parser = FolderParser()
    for folder in folders + folders:
        assert parser.parse(folder) == parse_folder(folder)
