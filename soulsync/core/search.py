"""Soulseek search results as items: the files, albums and result set a search yields.

:class:`ResultTrack` is one audio file with its path guesses, :class:`ResultAlbum` one
remote folder of one user, :class:`SearchResults` everything one search returned
(:func:`~soulsync.core.search_grouping.group_results` builds it from slskd's responses).
Per-file guesses, album track order and folded match texts are computed on first use
and kept, so a view pays for the rows it reads. Sort keys and filters
(:mod:`soulsync.core.search_filters`) work on both item types through the same
attributes; query text is cleaned and folded in :mod:`soulsync.core.search_text`.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TypeVar, Union

from soulsync.core.models import SearchFile, SearchFileFacts
from soulsync.core.pathparse import FolderGuess, NameGuess, PathGuess, combine, parse_stem
from soulsync.core.search_text import searchable


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


# --------------------------------------------------------------------------- ranking and filters


