"""Guess title, artist, album, track, disc and year from a Soulseek remote path.

Peers announce nothing but a path such as
``@@share\\Music\\Artist\\2011 - Album [FLAC]\\CD2\\03 - Title.flac``, so every
field here is a guess. The folder part (:class:`FolderParser`, which reads each
distinct folder name once) and the file name (:func:`parse_stem`, independent
of the folder) are guessed apart and then combined (:func:`combine`), so the
grouping can share folder work between files and leave file work for later.

Rules, in short:

* Separators: ``\\`` when the path holds one, else ``/``.
* A last folder named like a disc (``CD1``, ``CD 2``, ``Disc 2``, ``Disk1``,
  ``Disc One``) is a disc of its parent, which is the album folder.
* A folder named only by format (``FLAC``, ``MP3 320``) is named by its parent
  but stays its own album (two formats of one album are two albums).
* The album folder name gives ``Artist - Album``, ``Artist - 2011 - Album``,
  ``2011 - Album``, ``Album (2011)``, scene ``Artist-Album-WEB-2011-GRP``; bracketed
  quality tags (``[FLAC]``, ``[320]``, ``(24-96)``, ``{WEB}``) are dropped; when
  no artist is in the name, the parent folder names it unless that folder is
  generic (``Music``, ``mp3``, a share root ``@@abcde``, a single letter, a
  bare number...).
* The file name gives ``03 - Title``, ``03. Artist - Title``, ``1-03 Title``,
  ``103 Title``, ``1 - 03 - Title`` (disc 1, track 3), ``Artist - Album - 03 - Title``,
  scene ``03-artist_name-title-grp``; underscores count as spaces.
  A number followed by only a space is a track number when it is zero-padded,
  or has one or two digits and no `` - `` follows (so ``50 Cent - Title``
  keeps its artist).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

_YEAR_RE = re.compile(r"(?:19|20)\d\d")
_DISC_RE = re.compile(
    r"(?:cd|dis[ck]|disco|disque)\s*[-_.#]?\s*"
    r"(\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten)(?![0-9a-z])",
    re.IGNORECASE,
)
_DISC_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
               "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}
_EXTRAS_RE = re.compile(
    r"(?:scans?|artwork|art|covers?|booklet|images?|pics?|extras?|"
    r"(?:\d+\s*-\s*)?(?:front|back)\s*covers?)$",
    re.IGNORECASE,
)
_BRACKET_RE = re.compile(r"\s*[\[({]([^\[\](){}]*)[\])}]")
_BRACKET_YEAR_RE = re.compile(r"[\[({]\s*((?:19|20)\d\d)\s*[\])}]")
_QUALITY_TOKEN = (
    r"(?:\d+(?:[.,]\d+)?\s*(?:k|kb|kbps|kbit|kbits|bits?|khz|hz)?|"
    r"flac|mp3|aac|m4a|ogg|opus|alac|wav|aiff|ape|wv|dsd|sacd|lossless|lossy|"
    r"v0|v1|v2|vbr|cbr|abr|hi-?res|hd|web|webrip|web-?flac|cd|cdrip|cdda|vinyl|"
    r"vinylrip|rip|eac|cue|log|scans?|24bit|16bit|24b|16b|mqa|stereo|mono|"
    r"remux|bitrate|quality|tracks?|files?|original|official)"
)
_QUALITY_RE = re.compile(rf"{_QUALITY_TOKEN}(?:[\s\-_/,+&.x]+{_QUALITY_TOKEN})*", re.IGNORECASE)
_TRACK_RE = re.compile(
    r"(?:(?P<disc>\d{1,2})[-.](?P<dtrack>\d{1,2})|(?P<track>\d{1,3}))"
    r"(?:\s*[.)\-_:]\s*|(?P<space>\s+))(?P<rest>\S.*)$"
)
_BRACKETED_TRACK_RE = re.compile(r"[\[(](\d{1,3})[\])]\s*(?P<rest>\S.*)$")
_BARE_NUMBER_RE = re.compile(r"\d{1,3}\.?")
_LEADING_YEAR_RE = re.compile(r"((?:19|20)\d\d)\s*[.\-_]?\s+(\S.*)$")
_DASHES = str.maketrans({"\u2013": "-", "\u2014": "-", "\u2012": "-", "\u2212": "-"})

_GENERIC_FOLDERS = frozenset({
    "music", "my music", "mp3", "mp3s", "flac", "albums", "audio", "downloads", "download",
    "complete", "completed", "incomplete", "shared", "share", "shares", "musik", "musique", "musica",
    "música", "muziek", "new folder", "soulseek", "soulseek downloads", "slsk", "nicotine", "incoming",
    "lossless", "lossy", "media", "library", "singles", "misc", "other", "others", "unsorted", "tracks",
    "songs", "collection", "files", "itunes", "itunes media", "itunes music", "users", "user", "public",
    "home", "data", "torrents", "rips", "various", "mixed", "new", "old", "best", "favorites",
    "favourites", "playlists", "sorted", "to sort", "music library", "vinyl", "cd", "cds",
})
_VARIOUS = frozenset({"va", "v.a.", "v.a", "v a", "various artists", "various"})


@dataclass(slots=True, frozen=True)
class FolderGuess:
    """What a remote folder path says about the album its files belong to."""

    album_folder: str
    """The album's remote folder: the folder itself, or its parent when the folder is a disc."""
    disc: int | None = None
    artist: str = ""
    album: str = ""
    year: int | None = None
    generic: bool = False
    """The album folder is a catch-all (``Music``, ``mp3``, a share root...), not an album."""


class NameGuess(NamedTuple):
    """What a file name alone says; ``middle`` is the second of 3+ ``-`` parts (maybe the album)."""

    title: str
    artist: str = ""
    album: str = ""
    track_number: int | None = None
    disc_number: int | None = None
    year: int | None = None
    middle: str = ""


@dataclass(slots=True)
class PathGuess:
    """Every field guessed for one file."""

    title: str
    artist: str = ""
    album: str = ""
    track_number: int | None = None
    disc_number: int | None = None
    year: int | None = None


def separator_of(path: str) -> str:
    """The directory separator of a remote path: ``\\`` when present, else ``/``."""
    return "\\" if "\\" in path else "/"


def split_remote(path: str) -> tuple[str, str]:
    """``(folder, file name)`` of a remote path, the folder exactly as received (may be empty)."""
    sep = "\\" if "\\" in path else "/"
    folder, _, name = path.rpartition(sep)
    return folder, name


def disc_number_of(component: str) -> int | None:
    """The disc number when a folder name is a disc folder (``CD1``, ``Disc 2``, ``Disk One``)."""
    text = component.strip()
    match = _DISC_RE.match(text)
    if match is None:
        return None
    rest = text[match.end():].lstrip()
    if rest and rest[0] not in "-([{:_.," and not rest.lower().startswith("of "):
        return None
    raw = match.group(1).lower()
    return _DISC_WORDS.get(raw) or int(raw)


def is_extras_folder(component: str) -> bool:
    """Whether a folder name holds artwork or scans that belong to its parent album."""
    return _EXTRAS_RE.match(component.strip()) is not None


def is_format_folder(component: str) -> bool:
    """Whether a folder name only states a format (``FLAC``, ``MP3 320``, ``24-96``): one version of its parent."""
    return _QUALITY_RE.fullmatch(component.strip()) is not None


def is_generic_folder(component: str) -> bool:
    """Whether a folder name is a catch-all rather than an artist or album name."""
    name = component.strip().replace("_", " ").casefold()
    return (
        not name
        or name.startswith("@@")
        or len(name) <= 1
        or name.isdigit()
        or (len(name) == 2 and name[1] == ":")
        or name in _GENERIC_FOLDERS
        or _strip_brackets(name)[0].strip() in _GENERIC_FOLDERS
    )


def _valid_year(text: str) -> int | None:
    if len(text) == 4 and _YEAR_RE.fullmatch(text):
        return int(text)
    return None


def _bracket_repl(match: re.Match[str]) -> str:
    inner = match.group(1).strip()
    if not inner or _valid_year(inner) is not None or _QUALITY_RE.fullmatch(inner):
        return ""
    return match.group(0)


def _strip_brackets(text: str) -> tuple[str, int | None]:
    """Drop bracketed quality tags, pull out a bracketed year; keep other brackets."""
    if "[" not in text and "(" not in text and "{" not in text:
        return text, None
    year = _BRACKET_YEAR_RE.search(text)
    return _BRACKET_RE.sub(_bracket_repl, text), (int(year.group(1)) if year else None)


def _tidy(text: str) -> str:
    return " ".join(text.split()).strip(" -_.")


def _is_scene(text: str) -> bool:
    """Scene style: ``Artist-Album-WEB-2011-GRP``, words joined by ``_`` (but not ``Artist_-_Title``)."""
    return (" " not in text and "-" in text and "_-_" not in text
            and ("_" in text or text.count("-") >= 3))


def _scene_parts(text: str) -> list[str]:
    return [p for p in (_tidy(part.replace("_", " ")) for part in text.split("-")) if p]


def _parse_album_name(name: str) -> tuple[str, str, int | None]:
    """``(artist, album, year)`` from an album folder's own name."""
    if _is_scene(name):
        parts = _scene_parts(name)
        if len(parts) >= 2:
            album, year = _strip_brackets(parts[1])
            for part in parts[2:]:
                year = year or _valid_year(part)
            return _tidy(parts[0]), _tidy(album), year
    text = name.replace("_", " ").translate(_DASHES)
    text, year = _strip_brackets(text)
    parts = [p for p in (_tidy(p) for p in text.split(" - ")) if p]
    rest: list[str] = []
    for part in parts:
        part_year = _valid_year(part)
        if part_year is not None and len(parts) > 1:
            year = year or part_year
        else:
            rest.append(part)
    artist = ""
    if len(rest) >= 2:
        artist, album = rest[0], " - ".join(rest[1:])
    else:
        album = rest[0] if rest else ""
        lead = _LEADING_YEAR_RE.match(album)
        if lead:
            year = year or int(lead.group(1))
            album = lead.group(2)
    if artist.casefold() in _VARIOUS:
        artist = "Various Artists"
    return artist, _tidy(album), year


class _NameFacts(NamedTuple):
    disc: int | None
    format_only: bool
    generic: bool
    artist: str
    album: str
    year: int | None


class FolderParser:
    """``parse_folder`` that remembers what each folder name said.

    Peers of one search share the same names (``Music``, the artist, the album
    folder) under different roots, so each distinct name is read once. Keep one
    parser per batch of work; it grows with the distinct names it has seen.
    """

    def __init__(self) -> None:
        self._facts: dict[str, _NameFacts] = {}

    def _name(self, component: str) -> _NameFacts:
        facts = self._facts.get(component)
        if facts is None:
            generic = is_generic_folder(component)
            artist, album, year = ("", "", None) if generic else _parse_album_name(component)
            facts = self._facts[component] = _NameFacts(
                disc_number_of(component), is_format_folder(component), generic, artist, album, year)
        return facts

    def parse(self, folder: str) -> FolderGuess:
        """Guess the album a remote folder belongs to (see the module notes for the rules)."""
        sep = "\\" if "\\" in folder else "/"
        parts = [p for p in folder.split(sep) if p and not p.isspace()]
        disc = self._name(parts[-1]).disc if parts else None
        if disc is not None:
            parts.pop()
            album_folder = folder.rstrip(sep).rpartition(sep)[0]
        else:
            album_folder = folder
        if not parts:
            return FolderGuess(album_folder, disc, generic=True)
        own = self._name(parts[-1])
        parent = self._name(parts[-2]) if len(parts) >= 2 else None
        if own.format_only and parent is not None and not parent.generic:
            own = parent
            parent = self._name(parts[-3]) if len(parts) >= 3 else None
        elif own.generic:
            return FolderGuess(album_folder, disc, generic=True)
        artist = own.artist
        if not artist and parent is not None and not parent.generic:
            artist = parent.artist or parent.album
        return FolderGuess(album_folder, disc, artist, own.album, own.year)


def parse_folder(folder: str) -> FolderGuess:
    """Guess the album a remote folder belongs to (see the module notes for the rules)."""
    return FolderParser().parse(folder)


def album_folder_of(folder: str) -> str:
    """The album folder a non-audio file belongs to: disc and artwork subfolders go to their parent."""
    sep = separator_of(folder)
    head, _, last = folder.rpartition(sep)
    if head and (disc_number_of(last) is not None or is_extras_folder(last)):
        if is_extras_folder(last):
            inner_head, _, inner_last = head.rpartition(sep)
            if inner_head and disc_number_of(inner_last) is not None:
                return inner_head
        return head
    return folder


def _parse_scene_stem(stem: str) -> NameGuess:
    parts = _scene_parts(stem)
    track = None
    if parts and parts[0].isdigit() and len(parts[0]) <= 3:
        track = int(parts.pop(0))
    if len(parts) >= 3:
        parts = parts[:-1]
    if len(parts) >= 2:
        return NameGuess(" - ".join(parts[1:]), parts[0], "", track, None, None, "")
    return NameGuess(parts[0] if parts else stem, "", "", track, None, None, "")


def parse_stem(name: str) -> NameGuess:
    """Guess what a file name alone says (no folder); the same name always gives the same guess.

    Runs for every file a view reads, so the common shapes take the short way.
    """
    stem, dot, _ = name.rpartition(".")
    if not dot or not stem:
        stem = name
    if " " not in stem and "-" in stem and "_-_" not in stem and ("_" in stem or stem.count("-") >= 3):
        return _parse_scene_stem(stem)
    text = stem.replace("_", " ") if "_" in stem else stem
    track: int | None = None
    disc: int | None = None
    year: int | None = None
    if text and text[0] in "[(":
        bracketed = _BRACKETED_TRACK_RE.match(text)
        if bracketed is not None:
            track, text = int(bracketed.group(1)), bracketed.group("rest")
    if not text.isascii():
        text = text.translate(_DASHES)
    if "[" in text or "(" in text or "{" in text:
        text, year = _strip_brackets(text)
    if "  " in text or text[:1] == " " or text[-1:] == " " or not text.isprintable():
        text = " ".join(text.split())
    if track is None:
        match = _TRACK_RE.match(text)
        if match is not None:
            dtrack = match.group("dtrack")
            raw = match.group("track")
            if dtrack is not None:
                track, disc = int(dtrack), int(match.group("disc"))
                text = match.group("rest")
            else:
                value = int(raw)
                disc_form = len(raw) == 3 and raw[0] != "0" and value % 100 != 0
                if (match.group("space") is None or (len(raw) >= 2 and raw[0] == "0") or disc_form
                        or (len(raw) <= 2 and " - " not in match.group("rest"))):
                    text = match.group("rest")
                    if disc_form:
                        track, disc = value % 100, value // 100
                    else:
                        track = value
    artist = album = middle = ""
    if " - " not in text:
        title = text.strip(" -_.")
        return NameGuess(title or stem, "", "", track, disc, year, "")
    parts = [q.strip(" -_.") for q in text.split(" - ")]
    if "" in parts:
        parts = [p for p in parts if p]
    if track is not None and disc is None and len(parts) >= 2 and _BARE_NUMBER_RE.fullmatch(parts[0]):
        disc, track = track, int(parts[0].rstrip("."))
        parts = parts[1:]
    if track is None and len(parts) >= 3:
        for i in range(1, len(parts) - 1):
            part = parts[i]
            if _BARE_NUMBER_RE.fullmatch(part):
                track = int(part.rstrip("."))
                artist, album = parts[0], " - ".join(parts[1:i])
                parts = parts[i + 1:]
                break
    if not parts:
        title = _tidy(text) or stem
    elif artist or len(parts) == 1:
        title = " - ".join(parts)
    elif len(parts) == 2:
        artist, title = parts
    else:
        artist, middle, title = parts[0], parts[1], " - ".join(parts[1:])
    return NameGuess(title, artist, album, track, disc, year, middle)


def combine(name: NameGuess, folder: FolderGuess | None) -> PathGuess:
    """One file's guess: what its name says, gaps filled from its folder's guess."""
    title, album = name.title, name.album
    if folder is None:
        return PathGuess(title, name.artist, album, name.track_number, name.disc_number, name.year)
    if name.middle and folder.album and name.middle.casefold() == folder.album.casefold():
        album = name.middle
        title = title[len(name.middle) + 3:]
    return PathGuess(
        title,
        name.artist or folder.artist,
        album or folder.album,
        name.track_number,
        name.disc_number if name.disc_number is not None else folder.disc,
        name.year or folder.year,
    )


def parse_name(name: str, folder: FolderGuess | None = None) -> PathGuess:
    """Guess the fields of one file from its name, filling gaps from its folder's guess."""
    return combine(parse_stem(name), folder)


def parse_path(path: str) -> PathGuess:
    """Guess every field of one remote path (folder and file name together)."""
    folder, name = split_remote(path)
    return parse_name(name, parse_folder(folder) if folder else None)
