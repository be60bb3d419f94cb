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

Grouping does only what deciding albums and singles needs; per-file guesses,
album track order and folded match texts are computed on first use and kept,
so a view pays for the rows it reads. Sort keys and ``FilterSpec`` work on
both item types (``ResultAlbum`` and ``ResultTrack``) through the same
attributes, so a Qt proxy model can call them per row cheaply.
Every sort key orders the natural way first when sorted ascending: most
relevant, best quality, largest, fastest, most available, A to Z.
"""
from __future__ import annotations

import contextlib
import enum
import functools
import gc
import re
import string
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterator, TypeVar, Union

from soulsync.core.models import SearchFile, SearchFileFacts
from soulsync.core.pathparse import (
    FolderGuess,
    FolderParser,
    NameGuess,
    PathGuess,
    album_folder_of,
    combine,
    parse_stem,
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

_ASCII_PUNCT = bytes.maketrans(string.punctuation.encode("ascii"), b" " * len(string.punctuation))
_NON_ASCII_RE = re.compile(r"[^\x00-\x7f]+")


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


@functools.lru_cache(maxsize=4096)
def _fold_run(run: str) -> str:
    """Fold a run of non-ASCII characters: drop accents, keep letters, digits and vowel signs."""
    out = []
    for ch in run:
        if ch.isalnum():
            out.append(ch)
        elif unicodedata.combining(ch):
            continue
        elif unicodedata.category(ch)[0] == "M":
            out.append(ch)
        else:
            out.append(" ")
    return "".join(out)


def _fold_match(match: re.Match[str]) -> str:
    return _fold_run(match.group())


def searchable(text: str) -> str:
    """Lower-case, accent-free text with punctuation turned into spaces: what filters and relevance match in.

    Accents and other combining marks are dropped (``Björk`` matches
    ``bjork``); anything that is not a letter or digit becomes a space, the
    way Soulseek peers split names into words (``don't`` gives ``don t``).
    Cheaper than ``normalize.normalize_text`` (no word rewriting) because it
    runs over whole paths of tens of thousands of files.
    """
    if text.isascii():
        return text.lower().encode("ascii").translate(_ASCII_PUNCT).decode("ascii")
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    ascii_done = decomposed.encode("utf-8").translate(_ASCII_PUNCT).decode("utf-8")
    return _NON_ASCII_RE.sub(_fold_match, ascii_done)


def query_terms(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(included, excluded)`` folded words of a filter or query text; ``-word`` excludes a word."""
    include: list[str] = []
    exclude: list[str] = []
    for raw in text.split():
        target = exclude if raw.startswith("-") and len(raw) > 1 else include
        for word in searchable(raw[1:] if target is exclude else raw).split():
            if word not in target:
                target.append(word)
    return tuple(include), tuple(exclude)


# --------------------------------------------------------------------------- items


@dataclass(slots=True, eq=False)
class ResultTrack(SearchFileFacts):
    """One audio file of a search, with its path guesses and match text.

    The guesses (what the file name says, gaps filled from its folder) and the
    folded match texts are computed once, on first use: a view reads them only
    for the rows it shows, sorts or filters.
    """

    file: SearchFile
    folder_guess: FolderGuess
    folder: str
    """The remote folder exactly as received (the path before the file name)."""
    name: str
    """The file name (last path component)."""
    ext: str
    family: str
    lossless: bool
    in_album: bool = False
    _name_guess: NameGuess | None = field(default=None, repr=False)
    _guess: PathGuess | None = field(default=None, repr=False)
    _text: str | None = field(default=None, repr=False)
    _name_text: str | None = field(default=None, repr=False)

    @property
    def name_guess(self) -> NameGuess:
        """What the file name alone says."""
        if self._name_guess is None:
            self._name_guess = parse_stem(self.name)
        return self._name_guess

    @property
    def guess(self) -> PathGuess:
        """Title, artist, album, track, disc and year guessed from the whole path."""
        if self._guess is None:
            self._guess = combine(self.name_guess, self.folder_guess)
        return self._guess

    @property
    def track_number(self) -> int | None:
        return self.name_guess.track_number

    @property
    def disc_number(self) -> int | None:
        disc = self.name_guess.disc_number
        return self.folder_guess.disc if disc is None else disc

    @property
    def text(self) -> str:
        """Folded full path, padded with spaces: for filters and relevance."""
        if self._text is None:
            self._text = " " + searchable(self.file.filename) + " "
        return self._text

    @property
    def name_text(self) -> str:
        """Folded file name, padded with spaces: query terms found here weigh more."""
        if self._name_text is None:
            self._name_text = " " + searchable(self.name) + " "
        return self._name_text

    @property
    def key(self) -> tuple[str, str]:
        """Stable identity: ``(username, filename)``."""
        return self.file.username, self.file.filename

    @property
    def min_bitrate(self) -> int | None:
        return self.file.bitrate

    @property
    def display_name(self) -> str:
        """``Artist - Title`` when an artist was guessed, else the title."""
        guess = self.guess
        return f"{guess.artist} - {guess.title}" if guess.artist else guess.title


def _track_order(track: ResultTrack) -> tuple:
    number = track.name_guess.track_number
    return (track.disc_number or 0, 10_000 if number is None else number, track.name.lower())


_T = TypeVar("_T")


def _mode(values: list[_T]) -> _T | None:
    return Counter(values).most_common(1)[0][0] if values else None


@dataclass(slots=True, eq=False)
class ResultAlbum:
    """Audio files of one user's remote folder (disc subfolders merged), with album facts.

    Format, size and peer facts are computed at grouping time. The track order,
    the disc count, and the artist, album and year when the folder name does
    not give them (all of which read every file name) are computed on first use.
    """

    username: str
    folder: str
    """The album's remote folder exactly as received (the parent of any disc folders)."""
    folder_guess: FolderGuess
    ext: str
    """Dominant extension (most tracks)."""
    family: str
    lossless: bool
    formats: dict[str, int]
    """Track count per extension."""
    total_size: int
    total_length: int | None
    """Seconds, when every track announced a length."""
    bitrate: int | None
    """Mean announced bitrate of the dominant-format tracks (kbps)."""
    min_bitrate: int | None
    """Lowest announced bitrate of the dominant-format tracks (kbps)."""
    bit_depth: int | None
    """Most common bit depth of the dominant-format tracks."""
    sample_rate: int | None
    """Most common sample rate of the dominant-format tracks (Hz)."""
    is_vbr: bool | None
    extra_files: int = 0
    has_cover: bool = False
    has_cue: bool = False
    has_log: bool = False
    locked_files: int = 0
    """Locked audio files of this album's folder (listed in ``SearchResults.locked``)."""
    has_free_slot: bool = False
    upload_speed: int = 0
    queue_length: int = 0
    _tracks: list[ResultTrack] = field(default_factory=list, repr=False)
    _ordered: bool = field(default=False, repr=False)
    _artist: str | None = field(default=None, repr=False)
    _album: str | None = field(default=None, repr=False)
    _year: int | None = field(default=None, repr=False)
    _year_known: bool = field(default=False, repr=False)
    _disc_count: int | None = field(default=None, repr=False)
    _text: str | None = field(default=None, repr=False)
    _name_text: str | None = field(default=None, repr=False)

    @property
    def tracks(self) -> list[ResultTrack]:
        """The tracks sorted by disc, track number, file name."""
        if not self._ordered:
            self._tracks.sort(key=_track_order)
            self._ordered = True
        return self._tracks

    @property
    def track_count(self) -> int:
        return len(self._tracks)

    def _names(self) -> list[NameGuess]:
        return [t.name_guess for t in self._tracks]

    @property
    def artist(self) -> str:
        """The folder's artist, else the one the file names agree on (or ``Various Artists``)."""
        if self._artist is None:
            self._artist = self.folder_guess.artist or _album_artist(self._names(), len(self._tracks))
        return self._artist

    @property
    def album(self) -> str:
        """The folder's album name, else the file names', else the folder name."""
        if self._album is None:
            self._album = (self.folder_guess.album
                           or _mode([n.album for n in self._names() if n.album])
                           or self.folder.replace("\\", "/").rpartition("/")[2])
        return self._album

    @property
    def year(self) -> int | None:
        """The folder's year, else the one the file names give most."""
        if not self._year_known:
            self._year = self.folder_guess.year or _mode([n.year for n in self._names() if n.year])
            self._year_known = True
        return self._year

    @property
    def disc_count(self) -> int:
        """Distinct disc numbers of the tracks (disc folders or ``1-03`` names); at least 1."""
        if self._disc_count is None:
            self._disc_count = len({t.disc_number for t in self._tracks} - {None}) or 1
        return self._disc_count

    @property
    def text(self) -> str:
        """Folded folder path and every track name, padded: for filters and relevance."""
        if self._text is None:
            self._text = " " + searchable(" ".join([self.folder, *(t.name for t in self._tracks)])) + " "
        return self._text

    @property
    def name_text(self) -> str:
        """Folded last two folder names (usually ``Artist`` and ``Album``), padded."""
        if self._name_text is None:
            sep = "\\" if "\\" in self.folder else "/"
            self._name_text = " " + searchable(" ".join(self.folder.split(sep)[-2:])) + " "
        return self._name_text

    @property
    def key(self) -> tuple[str, str]:
        """Stable identity: ``(username, folder)``."""
        return self.username, self.folder

    @property
    def size(self) -> int:
        return self.total_size

    @property
    def display_name(self) -> str:
        """``Artist - Album`` when both were guessed, else whichever is known."""
        artist, album = self.artist, self.album
        if artist and album:
            return f"{artist} - {album}"
        return album or artist or self.folder


def _album_artist(names: list[NameGuess], track_count: int) -> str:
    """The artist the file names agree on; ``Various Artists`` when 3+ differ and none has half."""
    artists = Counter(n.artist for n in names if n.artist)
    if not artists:
        return ""
    top, top_count = artists.most_common(1)[0]
    if len({a.casefold() for a in artists}) >= 3 and top_count * 2 <= track_count:
        return "Various Artists"
    return top


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
        return sum(a.track_count for a in self.albums) + len(self.singles)


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


class _Grouper:
    """One pass over the responses.

    Work shared by many files is done once: folder guesses per folder, format
    facts per extension, and the group of the previous file's folder.
    """

    def __init__(self) -> None:
        self.results = SearchResults()
        self.users: set[str] = set()
        self.groups: dict[tuple[str, str], _Group] = {}
        self.folder_parser = FolderParser()
        self.folders: dict[str, FolderGuess] = {}
        self.formats: dict[str, tuple[bool, str, bool]] = {}
        self.extra_folders: dict[str, str] = {}
        self.seen: dict[str, set[str]] = {}

    def group(self, username: str, album_folder: str) -> _Group:
        key = (username, album_folder)
        grp = self.groups.get(key)
        if grp is None:
            grp = self.groups[key] = _Group(username, album_folder)
        return grp

    def format_facts(self, ext: str) -> tuple[bool, str, bool]:
        facts = self.formats.get(ext)
        if facts is None:
            facts = self.formats[ext] = (is_audio(ext), format_family(ext), is_lossless(ext))
        return facts

    def add_response(self, resp: object) -> None:
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
        self.users.add(username)
        free = resp.get("hasFreeUploadSlot") is True
        speed = resp.get("uploadSpeed")
        speed = speed if type(speed) is int and speed > 0 else 0
        queue = resp.get("queueLength")
        queue = queue if type(queue) is int and queue > 0 else 0
        self.add_files(files, username, free, speed, queue, False)
        self.add_files(locked, username, free, speed, queue, True)

    def add_files(self, entries: list, username: str, free: bool, speed: int, queue: int,
                  locked: bool) -> None:
        """The hot loop: about 50,000 files per search, so it stays flat and local."""
        res = self.results
        seen = self.seen.get(username)
        if seen is None:
            seen = self.seen[username] = set()
        formats = self.formats
        last_folder: str | None = None
        folder_guess: FolderGuess  # both set by the first entry (its folder differs from None)
        grp: _Group
        res.file_entries += len(entries)
        for entry in entries:
            if type(entry) is not dict:
                res.skipped_files += 1
                continue
            filename = entry.get("filename")
            if type(filename) is not str or not filename or filename.isspace():
                res.skipped_files += 1
                continue
            if filename in seen:
                res.duplicates += 1
                continue
            seen.add(filename)
            folder, _, name = filename.rpartition("\\" if "\\" in filename else "/")
            announced = entry.get("extension")
            ext = extension_of(name, announced if type(announced) is str else None)
            facts = formats.get(ext) or self.format_facts(ext)
            if not facts[0]:
                res.non_audio_files += 1
                if not locked:
                    self.add_extra(username, folder, ext)
                continue
            if folder != last_folder:
                known = self.folders.get(folder)
                if known is None:
                    known = self.folders[folder] = self.folder_parser.parse(folder)
                folder_guess = known
                grp = self.group(username, folder_guess.album_folder)
                if grp.guess is None:
                    grp.guess = folder_guess
                last_folder = folder
            size = entry.get("size")
            vbr = entry.get("isVariableBitRate")
            bitrate = entry.get("bitRate")
            bit_depth = entry.get("bitDepth")
            sample_rate = entry.get("sampleRate")
            length = entry.get("length")
            track = ResultTrack(
                SearchFile(
                    username,
                    filename,
                    size if type(size) is int and size > 0 else 0,
                    ext,
                    bitrate if type(bitrate) is int and bitrate > 0 else None,
                    bit_depth if type(bit_depth) is int and bit_depth > 0 else None,
                    sample_rate if type(sample_rate) is int and sample_rate > 0 else None,
                    length if type(length) is int and length > 0 else None,
                    vbr if type(vbr) is bool else None,
                    locked,
                    free,
                    speed,
                    queue,
                ),
                folder_guess,
                folder,
                name,
                ext,
                facts[1],
                facts[2],
            )
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
        res.users = len(self.users)
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
    if count == 2:
        first, second = tracks
        return (first.track_number is not None and second.track_number is not None
                and (first.track_number, first.disc_number) != (second.track_number, second.disc_number))
    if any(t.track_number is not None for t in tracks):
        return True
    artists = Counter(t.name_guess.artist.casefold() for t in tracks if t.name_guess.artist)
    if len(artists) < 3:
        return True
    return artists.most_common(1)[0][1] * 2 > count


def _build_album(grp: _Group, guess: FolderGuess) -> ResultAlbum:
    tracks = grp.tracks
    formats = Counter([t.ext for t in tracks])
    ext = max(formats.items(), key=lambda kv: (kv[1], is_lossless(kv[0]), kv[0]))[0]
    files = [t.file for t in tracks]
    main = files if len(formats) == 1 else [t.file for t in tracks if t.ext == ext]
    bitrates = [f.bitrate for f in main if f.bitrate]
    lengths = [f.length for f in files]
    vbr_flags = {f.is_vbr for f in main}
    for t in tracks:
        t.in_album = True
    first = files[0]
    return ResultAlbum(
        username=grp.username,
        folder=grp.folder,
        folder_guess=guess,
        ext=ext,
        family=format_family(ext),
        lossless=is_lossless(ext),
        formats=dict(formats),
        total_size=sum([f.size for f in files]),
        total_length=None if None in lengths else sum(n or 0 for n in lengths),
        bitrate=round(sum(bitrates) / len(bitrates)) if bitrates else None,
        min_bitrate=min(bitrates) if bitrates else None,
        bit_depth=_mode([f.bit_depth for f in main if f.bit_depth]),
        sample_rate=_mode([f.sample_rate for f in main if f.sample_rate]),
        is_vbr=True if True in vbr_flags else (False if vbr_flags == {False} else None),
        extra_files=grp.extras,
        has_cover=grp.has_cover,
        has_cue=grp.has_cue,
        has_log=grp.has_log,
        locked_files=grp.locked,
        has_free_slot=first.has_free_slot,
        upload_speed=first.upload_speed,
        queue_length=first.queue_length,
        _tracks=tracks,
    )


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Hold off the cyclic garbage collector while building a large acyclic structure.

    Every 700 surviving objects the collector runs, and now and then it scans
    every object alive (the responses included); for 100,000 new objects that
    is a fifth of the time. Nothing built here forms a cycle, and reference
    counting still frees everything, so pausing loses nothing. The previous
    state is restored (a collector already disabled stays disabled).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def group_results(responses: object) -> SearchResults:
    """Group raw slskd search responses into albums and singles (rules in the module notes).

    Never raises on bad input: anything malformed is skipped and counted.
    """
    grouper = _Grouper()
    if not isinstance(responses, list):
        grouper.results.skipped_responses += 1
        return grouper.results
    with _gc_paused():
        for resp in responses:
            grouper.add_response(resp)
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
        # The name is part of the path (and whole words in it are whole words there too), so terms
        # settled by the short name never need the full text, which is costly to build for albums.
        name = item.name_text
        found = words = in_name = 0
        text = None
        for term, spaced in pairs:
            if term in name:
                found += 1
                in_name += 1
                if spaced in name:
                    words += 1
                    continue
            if text is None:
                text = item.text
            if term not in name:
                if term not in text:
                    continue
                found += 1
            if spaced in text:
                words += 1
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
    return (" ".join(searchable(item.display_name).split()),)


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
    """Which rows a ``FilterSpec`` keeps: albums (and their tracks), singles, or both."""

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
    half-typed word already matches; ``-word`` hides items with a word starting
    so. Tracks inside an album count as album rows for ``kind``.
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
            is_album_row = isinstance(item, ResultAlbum) or item.in_album
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
