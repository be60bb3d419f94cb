"""Soulseek search results: query cleaning, grouping into albums and singles, filters and sort keys.

``group_results`` takes the raw response dicts slskd returns for a finished
search (untrusted JSON) and groups their files:

* **Albums** are audio files that share one remote folder of one user. Disc
  subfolders (``CD1``, ``Disc 2``...) merge into their parent folder; artwork
  subfolders (``Scans``, ``Artwork``...) count their files on the parent album.
  A folder is an album when it holds 3 or more audio files, or exactly 2 that
  both carry different track numbers (two numbered tracks of one release; two
  unnumbered files, or one song in two formats, are two singles). Never an
  album: a catch-all folder (``Music``, ``mp3``, a share root), and a folder of
  3+ unnumbered files naming 3+ different artists, none of them the majority
  (a loose pile of songs, not a release).
* **Singles** are every other audio file.
* Non-audio files (cover images, cue, log, nfo, m3u, txt...) are counted on
  their album (``extra_files``, ``has_cover``, ``has_cue``, ``has_log``) and in
  ``SearchResults.non_audio_files``, never listed as tracks.
* Locked files (a response's ``lockedFiles``: the peer will not share them with
  us) are parsed like the others but kept apart in ``SearchResults.locked``;
  each album counts the locked audio files of its own folder.
* Bad entries are skipped and counted, never raised: a response that is not an
  object, has no username or a non-list ``files``/``lockedFiles`` counts in
  ``skipped_responses``; a file entry that is not an object or has no filename
  counts in ``skipped_files``. Optional fields of the wrong type are treated as
  missing. The same ``(user, filename)`` twice counts in ``duplicates``.

Sort keys and ``FilterSpec`` work on both item types (``ResultAlbum`` and
``ResultTrack``) through the same attributes and read only values computed
once at grouping time, so a Qt proxy model can call them per row cheaply.
Every sort key orders the natural way first when sorted ascending: most
relevant, best quality, largest, fastest, most available, A to Z.
"""
from __future__ import annotations

import enum
import functools
import string
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Union

from soulsync.core.models import SearchFile
from soulsync.core.pathparse import (
    FolderGuess,
    PathGuess,
    album_folder_of,
    parse_folder,
    parse_name,
    stem_of,
)
from soulsync.core.quality import (
    DEFAULT_QUALITY_ORDER,
    extension_of,
    format_family,
    is_audio,
    is_lossless,
    quality_key,
)

COVER_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "gif", "bmp", "webp", "tif", "tiff"})
FORMAT_FILTERS = ("FLAC", "MP3", "OGG", "AAC/M4A", "WAV", "Other")
"""The format families a ``FilterSpec`` can select (``quality.format_family`` names)."""

_ASCII_PUNCT = str.maketrans({ch: " " for ch in string.punctuation})


# --------------------------------------------------------------------------- text


def clean_query(text: str) -> str:
    """The search text as Soulseek peers expect it.

    Peers split names into words at punctuation and some clients drop searches
    holding it, so every character that is not a letter, digit or combining
    mark becomes a space; whitespace collapses; a term never starts with ``-``
    (that would exclude it). Letters of every script are kept.
    """
    out = []
    for ch in text:
        if ch.isalnum() or unicodedata.category(ch)[0] == "M":
            out.append(ch)
        else:
            out.append(" ")
    return " ".join("".join(out).split())


def _fold_unicode(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    out = []
    for ch in decomposed:
        if ch.isascii():
            out.append(ch)
        elif unicodedata.combining(ch):
            continue
        elif ch.isalnum():
            out.append(ch)
        else:
            out.append(" ")
    return "".join(out)


def fold(text: str) -> str:
    """Lower-case, accent-free text with punctuation turned into spaces, for matching."""
    text = text.lower()
    if not text.isascii():
        text = _fold_unicode(text)
    return text.translate(_ASCII_PUNCT)


def query_terms(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(included, excluded)`` folded words of a filter or query text; ``-word`` excludes a word."""
    include: list[str] = []
    exclude: list[str] = []
    for raw in text.split():
        target = exclude if raw.startswith("-") and len(raw) > 1 else include
        for word in fold(raw[1:] if target is exclude else raw).split():
            if word not in target:
                target.append(word)
    return tuple(include), tuple(exclude)


# --------------------------------------------------------------------------- items


@dataclass(slots=True, eq=False)
class ResultTrack:
    """One audio file of a search, with its path guesses and precomputed match text."""

    file: SearchFile
    guess: PathGuess
    folder: str
    """The remote folder exactly as received (the path before the file name)."""
    name: str
    """The file name (last path component)."""
    ext: str
    family: str
    lossless: bool
    text: str
    """Folded path (folder and name), padded with spaces: for filters and relevance."""
    name_text: str
    """Folded file name, padded with spaces: terms found here weigh more."""
    in_album: bool = False

    @property
    def key(self) -> tuple[str, str]:
        """Stable identity: ``(username, filename)``."""
        return self.file.username, self.file.filename

    @property
    def username(self) -> str:
        return self.file.username

    @property
    def size(self) -> int:
        return self.file.size

    @property
    def bitrate(self) -> int | None:
        return self.file.bitrate

    @property
    def min_bitrate(self) -> int | None:
        return self.file.bitrate

    @property
    def bit_depth(self) -> int | None:
        return self.file.bit_depth

    @property
    def sample_rate(self) -> int | None:
        return self.file.sample_rate

    @property
    def is_vbr(self) -> bool | None:
        return self.file.is_vbr

    @property
    def has_free_slot(self) -> bool:
        return self.file.has_free_slot

    @property
    def upload_speed(self) -> int:
        return self.file.upload_speed

    @property
    def queue_length(self) -> int:
        return self.file.queue_length

    @property
    def display_name(self) -> str:
        """``Artist - Title`` when an artist was guessed, else the title."""
        guess = self.guess
        return f"{guess.artist} - {guess.title}" if guess.artist else guess.title


@dataclass(slots=True, eq=False)
class ResultAlbum:
    """Audio files of one user's remote folder (disc subfolders merged), with album facts."""

    username: str
    folder: str
    """The album's remote folder exactly as received (the parent of any disc folders)."""
    tracks: list[ResultTrack]
    """Sorted by disc, track number, file name."""
    ext: str
    """Dominant extension (most tracks)."""
    family: str
    lossless: bool
    formats: dict[str, int]
    """Track count per extension."""
    total_size: int
    total_length: int | None
    """Seconds, when every track announced a length."""
    disc_count: int
    bitrate: int | None
    """Mean announced bitrate of the dominant-format tracks (kbps)."""
    min_bitrate: int | None
    """Lowest announced bitrate of the dominant-format tracks (kbps)."""
    bit_depth: int | None
    sample_rate: int | None
    is_vbr: bool | None
    artist: str
    album: str
    year: int | None
    extra_files: int = 0
    has_cover: bool = False
    has_cue: bool = False
    has_log: bool = False
    locked_files: int = 0
    has_free_slot: bool = False
    upload_speed: int = 0
    queue_length: int = 0
    text: str = ""
    """Folded folder path and every track name, padded: for filters and relevance."""
    name_text: str = ""
    """Folded last two folder names (usually ``Artist`` and ``Album``), padded."""

    @property
    def key(self) -> tuple[str, str]:
        """Stable identity: ``(username, folder)``."""
        return self.username, self.folder

    @property
    def track_count(self) -> int:
        return len(self.tracks)

    @property
    def size(self) -> int:
        return self.total_size

    @property
    def display_name(self) -> str:
        """``Artist - Album`` when both were guessed, else whichever is known."""
        if self.artist and self.album:
            return f"{self.artist} - {self.album}"
        return self.album or self.artist or self.folder


ResultItem = Union[ResultAlbum, ResultTrack]


@dataclass(slots=True)
class SearchResults:
    """The grouped outcome of one search.

    Every file entry of an accepted response is accounted for exactly once:
    ``file_entries == listed_files + len(locked) + non_audio_files + duplicates + skipped_files``.
    """

    albums: list[ResultAlbum] = field(default_factory=list)
    singles: list[ResultTrack] = field(default_factory=list)
    locked: list[ResultTrack] = field(default_factory=list)
    responses: int = 0
    """Responses accepted."""
    users: int = 0
    file_entries: int = 0
    non_audio_files: int = 0
    duplicates: int = 0
    skipped_responses: int = 0
    skipped_files: int = 0

    @property
    def skipped(self) -> int:
        """Bad entries skipped: malformed responses plus malformed file entries."""
        return self.skipped_responses + self.skipped_files

    @property
    def listed_files(self) -> int:
        """Audio files shown: album tracks plus singles."""
        return sum(len(a.tracks) for a in self.albums) + len(self.singles)


# --------------------------------------------------------------------------- grouping


class _Group:
    __slots__ = ("username", "folder", "guess", "tracks", "extras", "has_cover", "has_cue", "has_log",
                 "locked")

    def __init__(self, username: str, folder: str) -> None:
        self.username = username
        self.folder = folder
        self.guess: FolderGuess | None = None
        """The folder guess of the group's first audio file (disc folders agree with their album)."""
        self.tracks: list[ResultTrack] = []
        self.extras = 0
        self.has_cover = self.has_cue = self.has_log = False
        self.locked = 0


def _opt_int(value: object) -> int | None:
    return value if type(value) is int and value > 0 else None


def _split(path: str) -> tuple[str, str]:
    folder, _, name = path.rpartition("\\" if "\\" in path else "/")
    return folder, name


class _Grouper:
    """One pass over the responses; folder-level work is cached per folder."""

    def __init__(self) -> None:
        self.results = SearchResults()
        self.groups: dict[tuple[str, str], _Group] = {}
        self.folders: dict[str, tuple[FolderGuess, str]] = {}
        self.extra_folders: dict[str, str] = {}
        self.seen: set[tuple[str, str]] = set()

    def folder_info(self, folder: str) -> tuple[FolderGuess, str]:
        info = self.folders.get(folder)
        if info is None:
            info = (parse_folder(folder), " " + fold(folder) + " ")
            self.folders[folder] = info
        return info

    def group(self, username: str, album_folder: str) -> _Group:
        key = (username, album_folder)
        grp = self.groups.get(key)
        if grp is None:
            grp = self.groups[key] = _Group(username, album_folder)
        return grp

    def add_response(self, resp: object, users: set[str]) -> None:
        res = self.results
        if not isinstance(resp, dict):
            res.skipped_responses += 1
            return
        username = resp.get("username")
        files = resp.get("files", [])
        locked = resp.get("lockedFiles", [])
        if files is None:
            files = []
        if locked is None:
            locked = []
        if (not isinstance(username, str) or not username.strip()
                or not isinstance(files, list) or not isinstance(locked, list)):
            res.skipped_responses += 1
            return
        res.responses += 1
        users.add(username)
        free = resp.get("hasFreeUploadSlot") is True
        speed = resp.get("uploadSpeed")
        speed = speed if type(speed) is int and speed > 0 else 0
        queue = resp.get("queueLength")
        queue = queue if type(queue) is int and queue > 0 else 0
        for entry in files:
            self.add_file(entry, username, free, speed, queue, False)
        for entry in locked:
            self.add_file(entry, username, free, speed, queue, True)

    def add_file(self, entry: object, username: str, free: bool, speed: int, queue: int,
                 locked: bool) -> None:
        res = self.results
        res.file_entries += 1
        if not isinstance(entry, dict):
            res.skipped_files += 1
            return
        filename = entry.get("filename")
        if not isinstance(filename, str) or not filename.strip():
            res.skipped_files += 1
            return
        key = (username, filename)
        if key in self.seen:
            res.duplicates += 1
            return
        self.seen.add(key)
        folder, name = _split(filename)
        announced = entry.get("extension")
        ext = extension_of(name, announced if type(announced) is str else None)
        if not is_audio(ext):
            res.non_audio_files += 1
            if not locked:
                self.add_extra(username, folder, ext)
            return
        size = entry.get("size")
        vbr = entry.get("isVariableBitRate")
        file = SearchFile(
            username=username,
            filename=filename,
            size=size if type(size) is int and size > 0 else 0,
            extension=ext,
            bitrate=_opt_int(entry.get("bitRate")),
            bit_depth=_opt_int(entry.get("bitDepth")),
            sample_rate=_opt_int(entry.get("sampleRate")),
            length=_opt_int(entry.get("length")),
            is_vbr=vbr if type(vbr) is bool else None,
            locked=locked,
            has_free_slot=free,
            upload_speed=speed,
            queue_length=queue,
        )
        guess_folder, folder_text = self.folder_info(folder)
        name_text = " " + fold(name) + " "
        track = ResultTrack(
            file=file,
            guess=parse_name(name, guess_folder),
            folder=folder,
            name=name,
            ext=ext,
            family=format_family(ext),
            lossless=is_lossless(ext),
            text=folder_text + name_text,
            name_text=name_text,
        )
        grp = self.group(username, guess_folder.album_folder)
        if grp.guess is None:
            grp.guess = guess_folder
        if locked:
            res.locked.append(track)
            grp.locked += 1
        else:
            grp.tracks.append(track)

    def add_extra(self, username: str, folder: str, ext: str) -> None:
        album_folder = self.extra_folders.get(folder)
        if album_folder is None:
            album_folder = self.extra_folders[folder] = album_folder_of(folder)
        grp = self.group(username, album_folder)
        grp.extras += 1
        if ext in COVER_EXTENSIONS:
            grp.has_cover = True
        elif ext == "cue":
            grp.has_cue = True
        elif ext == "log":
            grp.has_log = True

    def finish(self) -> SearchResults:
        res = self.results
        for grp in self.groups.values():
            if grp.guess is None or not grp.tracks:
                continue
            if _is_album(grp.tracks, grp.guess):
                res.albums.append(_build_album(grp, grp.guess))
            else:
                res.singles.extend(grp.tracks)
        return res


def _is_album(tracks: list[ResultTrack], guess: FolderGuess) -> bool:
    """The album rule of the module notes."""
    count = len(tracks)
    if count < 2 or guess.generic:
        return False
    numbers = [t.guess.track_number for t in tracks if t.guess.track_number is not None]
    if count == 2:
        return len(numbers) == 2 and (numbers[0] != numbers[1]
                                      or tracks[0].guess.disc_number != tracks[1].guess.disc_number)
    if numbers:
        return True
    artists = Counter(t.guess.artist.casefold() for t in tracks if t.guess.artist)
    if len(artists) < 3:
        return True
    return artists.most_common(1)[0][1] * 2 > count


def _mode(values: list) -> object:
    return Counter(values).most_common(1)[0][0] if values else None


def _track_order(track: ResultTrack) -> tuple:
    g = track.guess
    return (g.disc_number or 0, g.track_number if g.track_number is not None else 10_000, track.name.lower())


def _build_album(grp: _Group, guess: FolderGuess) -> ResultAlbum:
    tracks = sorted(grp.tracks, key=_track_order)
    formats = Counter(t.ext for t in tracks)
    ext = max(formats.items(), key=lambda kv: (kv[1], is_lossless(kv[0]), kv[0]))[0]
    main = [t for t in tracks if t.ext == ext]
    bitrates = [t.file.bitrate for t in main if t.file.bitrate]
    vbr_flags = {t.file.is_vbr for t in main}
    lengths = [t.file.length for t in tracks]
    for t in tracks:
        t.in_album = True
    artist = guess.artist
    if not artist:
        artists = [t.guess.artist for t in tracks if t.guess.artist]
        distinct = len({a.casefold() for a in artists})
        top = Counter(artists).most_common(1)
        if distinct >= 3 and top[0][1] * 2 <= len(tracks):
            artist = "Various Artists"
        elif top:
            artist = top[0][0]
    album = guess.album or _mode([t.guess.album for t in tracks if t.guess.album]) or \
        grp.folder.replace("\\", "/").rstrip("/").rpartition("/")[2]
    sep = "\\" if "\\" in grp.folder else "/"
    name_text = " " + fold(" ".join(grp.folder.split(sep)[-2:])) + " "
    first = tracks[0].file
    return ResultAlbum(
        username=grp.username,
        folder=grp.folder,
        tracks=tracks,
        ext=ext,
        family=format_family(ext),
        lossless=is_lossless(ext),
        formats=dict(formats),
        total_size=sum(t.file.size for t in tracks),
        total_length=sum(lengths) if all(lengths) else None,
        disc_count=len({t.guess.disc_number for t in tracks if t.guess.disc_number}) or 1,
        bitrate=round(sum(bitrates) / len(bitrates)) if bitrates else None,
        min_bitrate=min(bitrates) if bitrates else None,
        bit_depth=_mode([t.file.bit_depth for t in main if t.file.bit_depth]),
        sample_rate=_mode([t.file.sample_rate for t in main if t.file.sample_rate]),
        is_vbr=True if True in vbr_flags else (False if vbr_flags == {False} else None),
        artist=artist,
        album=album,
        year=guess.year or _mode([t.guess.year for t in tracks if t.guess.year]),
        extra_files=grp.extras,
        has_cover=grp.has_cover,
        has_cue=grp.has_cue,
        has_log=grp.has_log,
        locked_files=grp.locked,
        has_free_slot=first.has_free_slot,
        upload_speed=first.upload_speed,
        queue_length=first.queue_length,
        text=" " + fold(grp.folder) + " " + "".join(t.name_text for t in tracks),
        name_text=name_text,
    )


def group_results(responses: object) -> SearchResults:
    """Group raw slskd search responses into albums and singles (rules in the module notes).

    Never raises on bad input: anything malformed is skipped and counted.
    """
    grouper = _Grouper()
    if not isinstance(responses, list):
        grouper.results.skipped_responses += 1
        return grouper.results
    users: set[str] = set()
    for resp in responses:
        grouper.add_response(resp, users)
    grouper.results.users = len(users)
    return grouper.finish()


# --------------------------------------------------------------------------- ranking and filters


class SortBy(str, enum.Enum):
    """The orders the results view offers."""

    RELEVANCE = "relevance"
    QUALITY = "quality"
    SIZE = "size"
    SPEED = "speed"
    AVAILABILITY = "availability"
    """Free upload slot first, then the shortest peer queue."""
    NAME = "name"


def relevance_key(query: str) -> Callable[[ResultItem], tuple]:
    """Sort key for relevance to ``query``: most relevant first when sorted ascending.

    Ranks by how many query terms occur in the item's path (accent and case
    folded), then how many occur as whole words, then how many occur in the
    item's own name (file name; the album and artist folders), then the
    shorter name (fewer words beyond the query).
    """
    terms, _ = query_terms(query)
    padded = tuple(f" {t} " for t in terms)
    pairs = tuple(zip(terms, padded))

    def key(item: ResultItem) -> tuple:
        text = item.text
        name = item.name_text
        found = words = in_name = 0
        for term, spaced in pairs:
            if term in text:
                found += 1
                if spaced in text:
                    words += 1
                if term in name:
                    in_name += 1
        return (-found, -words, -in_name, len(name))

    return key


@functools.lru_cache(maxsize=8192)
def _cached_quality_key(ext: str, bitrate: int | None, bit_depth: int | None, sample_rate: int | None,
                        vbr: bool | None, order: tuple[str, ...]) -> tuple:
    return quality_key(ext, bitrate, bit_depth, sample_rate, vbr, list(order))


def quality_sort_key(order: list[str] | None = None) -> Callable[[ResultItem], tuple]:
    """Sort key for quality in the user's order (``QualityPrefs.order``): best first ascending.

    An album is judged by its dominant format and that format's mean bitrate,
    most common bit depth and sample rate.
    """
    frozen = tuple(order or DEFAULT_QUALITY_ORDER)

    def key(item: ResultItem) -> tuple:
        return _cached_quality_key(item.ext, item.bitrate, item.bit_depth, item.sample_rate,
                                   item.is_vbr, frozen)

    return key


def _size_key(item: ResultItem) -> tuple:
    return (-item.size,)


def _speed_key(item: ResultItem) -> tuple:
    return (-item.upload_speed,)


def _availability_key(item: ResultItem) -> tuple:
    return (not item.has_free_slot, item.queue_length, -item.upload_speed)


def _name_key(item: ResultItem) -> tuple:
    return (" ".join(fold(item.display_name).split()),)


def sort_key(by: SortBy, query: str = "", order: list[str] | None = None) -> Callable[[ResultItem], tuple]:
    """The key function for one order; sorted ascending it puts the natural first row first.

    Works for albums and tracks alike. For a proxy model, compute the key once
    per row when the order changes and compare the stored tuples.
    """
    if by is SortBy.RELEVANCE:
        return relevance_key(query)
    if by is SortBy.QUALITY:
        return quality_sort_key(order)
    return {
        SortBy.SIZE: _size_key,
        SortBy.SPEED: _speed_key,
        SortBy.AVAILABILITY: _availability_key,
        SortBy.NAME: _name_key,
    }[by]


class ResultKind(str, enum.Enum):
    ALBUMS = "albums"
    SINGLES = "singles"
    BOTH = "both"


@dataclass(frozen=True, slots=True)
class FilterSpec:
    """What the results view shows; build a new one when the user changes a filter.

    ``formats`` holds ``FORMAT_FILTERS`` names (empty: any format). An album is
    judged by its dominant format and, for ``min_bitrate``, by its lowest
    dominant-format bitrate. Lossless files always pass ``min_bitrate``; a lossy
    file that announced no bitrate fails it. Each ``text`` word must start a
    word of the folded path (album: its folder and every track name), so a
    half-typed word already matches; ``-word`` hides items holding that word. Tracks inside an album count as album rows for
    ``kind``.
    """

    kind: ResultKind = ResultKind.BOTH
    formats: frozenset[str] = frozenset()
    min_bitrate: int = 0
    lossless_only: bool = False
    free_slot_only: bool = False
    text: str = ""
    include: tuple[str, ...] = field(init=False, repr=False, compare=False)
    exclude: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        include, exclude = query_terms(self.text)
        object.__setattr__(self, "include", tuple(f" {w}" for w in include))
        object.__setattr__(self, "exclude", tuple(f" {w}" for w in exclude))

    @property
    def is_empty(self) -> bool:
        """True when every item passes (the view can skip filtering)."""
        return (self.kind is ResultKind.BOTH and not self.formats and not self.min_bitrate
                and not self.lossless_only and not self.free_slot_only
                and not self.include and not self.exclude)

    def matches(self, item: ResultItem) -> bool:
        """Whether the item passes every filter."""
        if self.kind is not ResultKind.BOTH:
            is_album_row = type(item) is ResultAlbum or item.in_album
            if is_album_row != (self.kind is ResultKind.ALBUMS):
                return False
        if self.formats and item.family not in self.formats:
            return False
        if self.lossless_only and not item.lossless:
            return False
        if self.min_bitrate and not item.lossless:
            low = item.min_bitrate
            if low is None or low < self.min_bitrate:
                return False
        if self.free_slot_only and not item.has_free_slot:
            return False
        text = item.text
        for word in self.include:
            if word not in text:
                return False
        for word in self.exclude:
            if word in text:
                return False
        return True
