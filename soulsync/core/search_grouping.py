"""Grouping Soulseek search results into albums and singles.

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

Grouping does only what deciding albums and singles needs; the items
(:mod:`soulsync.core.search`) compute the rest on first use.
"""
from __future__ import annotations

from collections import Counter

from soulsync.core.gcutil import built_in_bulk
from soulsync.core.slskd_responses import read_response
from soulsync.core.models import SearchFile
from soulsync.core.pathparse import FolderGuess, FolderParser, album_folder_of
from soulsync.core.quality import extension_of, format_family, is_audio, is_lossless
from soulsync.core.search import ResultAlbum, ResultTrack, SearchResults, _mode


COVER_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "gif", "bmp", "webp", "tif", "tiff"})
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
        peer = read_response(resp)
        if peer is None:
            res.skipped_responses += 1
            return
        res.responses += 1
        self.users.add(peer.username)
        self.add_files(peer.files, peer.username, peer.has_free_slot, peer.upload_speed, peer.queue_length, False)
        self.add_files(peer.locked, peer.username, peer.has_free_slot, peer.upload_speed, peer.queue_length, True)

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


def group_results(responses: object) -> SearchResults:
    """Group raw slskd search responses into albums and singles (rules in the module notes).

    Never raises on bad input: anything malformed is skipped and counted.
    """
    grouper = _Grouper()
    if not isinstance(responses, list):
        grouper.results.skipped_responses += 1
        return grouper.results
    with built_in_bulk(freeze=False):
        for resp in responses:
            grouper.add_response(resp)
        return grouper.finish()
