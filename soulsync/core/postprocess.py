"""Turn a finished download into a tagged, well-named file in the library.

:class:`PostProcessor` runs one file through these steps, Qt-free, so a worker
thread can call it:

1. **verify**: the file is complete, plausible audio (:func:`verify_audio`);
2. **identify**: a matched download brings its Spotify :class:`Track`; an
   unmatched one is described by its own tags, then by guesses from its path
   (:func:`guess_from_path`), or reported as *needs matching* and left alone;
3. **cover**: fetched once per album through the injected ``fetch_cover(url)``
   and cached on disk;
4. **tag**: Spotify metadata and cover art written crash-safely (matched only);
5. **move**: to the user's template under the library folder, atomically and
   never over a different file (clash policy ``keep_better`` or ``number``);
6. **cover file**: ``cover.jpg`` in the album folder.

Every run returns a :class:`PostProcessResult` saying what was done, where the
file is now and, on failure, why in words. A failed file is moved aside into
the quarantine ("needs attention") folder next to a ``.reason.txt``, or left
where it is, per :attr:`PostProcessOptions.on_failure`: the source is never lost.
Asking Plex to scan is the caller's job; :attr:`PostProcessResult.destination_dir`
says which folder changed.
"""
from __future__ import annotations

import enum
import hashlib
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from soulsync.core import failpoints
from soulsync.core.audio_errors import AudioVerifyError
from soulsync.core.audiofile import (
    DEFAULT_DURATION_TOLERANCE_MS,
    FORMAT_OF_SUFFIX,
    AudioInfo,
    format_for_suffix,
    verify_audio,
)
from soulsync.core.destination import DestinationUnavailable, library_root_problem
from soulsync.core.models import Track
from soulsync.core.organize import (
    CLASH_POLICIES,
    ClashPolicy,
    MoveAction,
    MoveError,
    MoveResult,
    atomic_write_bytes,
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
from soulsync.core.pathparse import parse_path
from soulsync.core.safe_paths import safe_join
from soulsync.core.tagging import TaggingError, image_mime, read_tags, write_tags
from soulsync.core.transcode import Claim, Verdict, check

MAX_COVER_BYTES = 10 * 1024 * 1024
"""Cover art larger than this is refused (a peer or a server sending something odd)."""

REASON_SUFFIX = ".reason.txt"
MAX_NUMBERED_LOOKUP = 20
"""How many numbered copies (``Song (2).flac``...) are looked at for a file an interrupted run filed."""
_AUDIO_SUFFIXES = tuple(sorted(FORMAT_OF_SUFFIX))

FakePolicy = Literal["refuse", "best_available", "keep"]
FAKE_POLICIES: tuple[str, ...] = ("refuse", "best_available", "keep")
"""What happens to a download that looks fake (:mod:`soulsync.core.transcode`): refused (the queue moves
on to the next source), kept only when no other source is left, or kept always (with a warning)."""

FetchCover = Callable[[str], "bytes | None"]
"""Downloads cover art from a URL; returns None (or raises) when it cannot."""


class Outcome(str, enum.Enum):
    """How a file's post-processing ended."""

    PLACED = "placed"
    """The file is in the library (moved there, or replaced a worse copy)."""
    DUPLICATE = "duplicate"
    """The library already had this file or a better copy; nothing was added."""
    NEEDS_MATCHING = "needs_matching"
    """No usable metadata: the file was left in place for the user to match."""
    FAILED = "failed"
    """A step failed; see ``reason`` and ``quarantined_to``."""


class Step(str, enum.Enum):
    VERIFY = "verify"
    IDENTIFY = "identify"
    TAG = "tag"
    MOVE = "move"


@dataclass(slots=True)
class PostProcessOptions:
    """The user's settings for post-processing; check them with :meth:`validate`."""

    library_dir: Path
    quarantine_dir: Path
    """Where failed files go ("needs attention") and replaced files are kept; outside the library."""
    album_template: str = DEFAULT_ALBUM_TEMPLATE
    single_template: str = DEFAULT_SINGLE_TEMPLATE
    clash_policy: ClashPolicy = "keep_better"
    on_failure: Literal["quarantine", "leave"] = "quarantine"
    """Move a failed file into ``quarantine_dir`` with a reason file, or leave it where it is."""
    cover_cache_dir: Path | None = None
    """Where fetched cover art is cached; None keeps it in memory for this run only."""
    cover_cache_limit: int = 2000
    """Most cover images kept in the disk cache; the oldest go first."""
    embed_cover: bool = True
    write_cover_file: bool = True
    keep_replaced: bool = True
    """Keep library files replaced by better copies in ``quarantine_dir/replaced`` instead of deleting them."""
    duration_tolerance_ms: int = DEFAULT_DURATION_TOLERANCE_MS
    fake_policy: FakePolicy = "refuse"
    """One of :data:`FAKE_POLICIES`."""
    library_has_files: bool = False
    """Files were filed into ``library_dir`` before: an empty library folder then means its disk is missing."""

    def validate(self) -> None:
        """Raise ``ValueError`` (a :class:`TemplateError` for templates) with a clear message."""
        for label, template in (("album", self.album_template), ("singles", self.single_template)):
            try:
                validate_template(template)
            except TemplateError as exc:
                raise TemplateError(f"{label} template: {exc}") from exc
        if self.clash_policy not in CLASH_POLICIES:
            raise ValueError(f"unknown clash policy {self.clash_policy!r}; use one of {', '.join(CLASH_POLICIES)}")
        if self.fake_policy not in FAKE_POLICIES:
            raise ValueError(f"unknown fake policy {self.fake_policy!r}; use one of {', '.join(FAKE_POLICIES)}")
        if self.on_failure not in ("quarantine", "leave"):
            raise ValueError(f"unknown failure option {self.on_failure!r}; use 'quarantine' or 'leave'")
        if _inside(Path(self.quarantine_dir), Path(self.library_dir)):
            raise ValueError("the quarantine folder must not be inside the library folder")


def _inside(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root.resolve())


@dataclass(slots=True)
class PostProcessResult:
    """What happened to one file."""

    source: Path
    outcome: Outcome = Outcome.FAILED
    final_path: Path | None = None
    """The library file for this track (PLACED or DUPLICATE)."""
    reason: str = ""
    """Why it failed, needs matching, or which copy was kept: in words."""
    failed_step: Step | None = None
    done: list[str] = field(default_factory=list)
    """What was done, step by step, for the activity log."""
    warnings: list[str] = field(default_factory=list)
    """Problems that did not stop the file (e.g. cover art unavailable)."""
    info: AudioInfo | None = None
    verdict: Verdict | None = None
    """Whether the file is what it claims (a transcode check), once it was verified."""
    refused_source: bool = False
    """The file looked fake and was refused: another source of the same track should be tried."""
    track: Track | None = None
    """The metadata the file was organised by (Spotify's, its tags', or guessed)."""
    move: MoveResult | None = None
    quarantined_to: Path | None = None
    cover_file: Path | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in (Outcome.PLACED, Outcome.DUPLICATE)

    @property
    def destination_dir(self) -> Path | None:
        """The library folder that changed (or holds the file): what the caller asks Plex to scan."""
        return self.final_path.parent if self.final_path else None


# ---------------------------------------------------------------------------
# Guessing metadata from a path

_GENERIC_TITLE = re.compile(r"^(?:audio\s*)?track\s*\d*$|^\d+$", re.IGNORECASE)
"""Titles that name nothing: ``Track 01``, ``AudioTrack 3``, ``07``."""


def guess_from_path(path: str) -> Track | None:
    """Artist, title, album, track, disc and year guessed from a (peer's or local) file path.

    The guessing is :func:`soulsync.core.pathparse.parse_path`'s, the same the
    search page uses; this returns None unless it found both an artist and a
    real title (not ``Track 01``).
    """
    guess = parse_path(str(path))
    title, artist = guess.title.strip(), guess.artist.strip()
    if not artist or not title or _GENERIC_TITLE.match(title):
        return None
    return Track(title=title, artists=[artist], album=guess.album.strip(), track_number=guess.track_number,
                 disc_number=guess.disc_number, year=guess.year, path=str(path))


def _numbering_from_path(path: str) -> Track:
    """Album, numbering and year from a path whose title says nothing (``03 - Track 3.mp3``)."""
    guess = parse_path(str(path))
    return Track(title="", artists=[], album=guess.album.strip(), track_number=guess.track_number,
                 disc_number=guess.disc_number, year=guess.year)


def _merge(primary: Track, fallback: Track | None) -> Track:
    """``primary`` with its gaps (names, album, numbering, year) filled from ``fallback``."""
    if fallback is None:
        return primary
    return replace(
        primary,
        title=primary.title or fallback.title,
        artists=primary.artists or fallback.artists,
        album=primary.album or fallback.album,
        track_number=primary.track_number or fallback.track_number,
        disc_number=primary.disc_number or fallback.disc_number,
        year=primary.year or fallback.year,
    )


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def _tagged_for(path: Path, track: Track) -> bool:
    """Whether ``path`` carries ``track``'s Spotify track id, as SoulSync's tagging writes it."""
    if not track.spotify_id:
        return False
    try:
        return read_tags(path).spotify_id == track.spotify_id
    except (TaggingError, OSError):
        return False


# ---------------------------------------------------------------------------
# Cover art


class CoverCache:
    """Cover art by URL: fetched at most once per run, kept on disk between runs. Thread-safe."""

    def __init__(self, fetch: FetchCover | None, cache_dir: Path | None = None, limit: int = 2000) -> None:
        self._fetch = fetch
        self._dir = Path(cache_dir) if cache_dir else None
        self._limit = limit
        self._memory: dict[str, tuple[bytes | None, str]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self.fetch_count = 0
        """How many times ``fetch`` was called (for tests and the activity log)."""

    def _file(self, url: str) -> Path | None:
        if self._dir is None:
            return None
        return self._dir / (hashlib.sha256(url.encode("utf-8", "replace")).hexdigest()[:40] + ".img")

    def get(self, url: str) -> tuple[bytes | None, str]:
        """``(image bytes or None, note)``; the note explains a missing cover in words."""
        with self._guard:
            if url in self._memory:
                return self._memory[url]
            lock = self._locks.setdefault(url, threading.Lock())
        with lock:
            with self._guard:
                if url in self._memory:
                    return self._memory[url]
            found = self._load(url)
            with self._guard:
                self._memory[url] = found
                self._locks.pop(url, None)
            return found

    def _load(self, url: str) -> tuple[bytes | None, str]:
        cached = self._file(url)
        if cached is not None:
            try:
                data = cached.read_bytes()
                if image_mime(data):
                    return data, "cover art from the cache"
            except OSError:
                pass
        if self._fetch is None:
            return None, "no way to fetch cover art"
        with self._guard:
            self.fetch_count += 1
        try:
            fetched = self._fetch(url)
        except Exception as exc:  # the injected fetcher may raise anything; a cover is never fatal
            return None, f"cover art could not be downloaded ({str(exc) or type(exc).__name__})"
        if not fetched:
            return None, "cover art could not be downloaded"
        data = fetched
        if len(data) > MAX_COVER_BYTES:
            return None, f"cover art refused: {len(data) // 1024 // 1024} MB is too large"
        if not image_mime(data):
            return None, "cover art refused: not a JPEG or PNG image"
        if cached is not None:
            try:
                atomic_write_bytes(cached, data, overwrite=True)
                self._prune()
            except OSError:
                pass  # an unwritable cache only costs a refetch next run
        return data, "cover art downloaded"

    def _prune(self) -> None:
        if self._dir is None:
            return
        entries = []
        for entry in self._dir.glob("*.img"):
            try:
                entries.append((entry.stat().st_mtime, entry))
            except OSError:
                continue
        entries.sort()
        for _mtime, old in entries[:max(0, len(entries) - self._limit)]:
            old.unlink(missing_ok=True)


# ---------------------------------------------------------------------------
# The pipeline


class PostProcessor:
    """Runs downloads through verify -> identify -> cover -> tag -> move. Safe to share between threads."""

    def __init__(self, options: PostProcessOptions, fetch_cover: FetchCover | None = None) -> None:
        options.validate()
        self.options = options
        self.covers = CoverCache(fetch_cover, options.cover_cache_dir, options.cover_cache_limit)
        self._filed = False
        """A file was filed into the library by this processor (so the folder is expected to hold files)."""

    def process(
        self,
        source: str | os.PathLike,
        track: Track | None = None,
        *,
        cover_url: str | None = None,
        release_date: str = "",
        expected_size: int | None = None,
        expected_duration_ms: int | None = None,
        path_hint: str | None = None,
        claim: Claim | None = None,
        other_sources: bool = False,
    ) -> PostProcessResult:
        """Post-process one downloaded file.

        ``track`` is the matched Spotify metadata (None for a plain download);
        ``cover_url`` (default: the track's own ``cover_url``) and ``release_date`` come from its
        album. ``expected_size``
        is the size slskd announced; ``expected_duration_ms`` defaults to the
        track's duration. ``path_hint`` is the peer's original path, used to
        guess metadata for an unmatched file (default: the local path).
        ``claim`` is what the file's source promised (its name's format, an announced
        or labelled bitrate); the file is checked against it and against its own
        format for a transcode, and a fake is handled by ``fake_policy``
        (``best_available`` keeps it only when ``other_sources`` is False).
        Never raises for problems with the file; see the result. Raises
        :class:`DestinationUnavailable` when the library folder is not there (never created here) or is
        empty although files were filed into it: the file is left untouched, to be filed once it is back.

        A file a killed run was filing is taken up again: one already tagged
        with the track's Spotify id may differ from ``expected_size`` (tags
        changed it); a ``source`` that no longer exists because it was already
        moved is found under the track's library path by that id (``PLACED``).
        """
        source = Path(source)
        result = PostProcessResult(source=source)
        opts = self.options
        problem = library_root_problem(Path(opts.library_dir), opts.library_has_files or self._filed)
        if problem is not None:
            raise DestinationUnavailable(problem)
        if track is not None and not source.exists():
            filed = self._filed_before(source, track)
            if filed is not None:  # a run that died after the move: only the cover file may be left to do
                result.outcome, result.final_path, result.track = Outcome.PLACED, filed, track
                result.reason = "already in the library: an interrupted run had filed it"
                result.done.append(f"found already filed at {filed}")
                cover_url = cover_url or track.cover_url
                if cover_url and opts.write_cover_file \
                        and choose_template(track, opts.album_template, opts.single_template) == opts.album_template:
                    cover, _note = self.covers.get(cover_url)
                    if cover:
                        self._write_cover_file(filed.parent, cover, result)
                return result

        expected_ms = expected_duration_ms or (track.duration_ms if track else None)
        if expected_size and track is not None and _size(source) not in (None, expected_size) \
                and _tagged_for(source, track):
            expected_size = None  # an interrupted run tagged it (which changed its size) after checking it whole
            result.done.append("tagged before by an interrupted run")
        try:
            info = verify_audio(source, expected_ms, expected_size, duration_tolerance_ms=opts.duration_tolerance_ms)
        except AudioVerifyError as exc:
            return self._fail(result, Step.VERIFY, f"the file {exc.reason}", track)
        result.info = info
        result.done.append(f"verified: {info.describe()}")
        verdict = result.verdict = check(info, claim)
        result.done.append(f"quality: {verdict.label}: {verdict.reason}")
        if verdict.genuine is False:
            if opts.fake_policy == "refuse" or (opts.fake_policy == "best_available" and other_sources):
                result.refused_source = True
                return self._fail(result, Step.VERIFY, verdict.reason, track)
            result.warnings.append(f"kept although it looks fake: {verdict.reason}")
        failpoints.hit("postprocess.verified")

        matched = track is not None
        if track is None:
            track = self._identify(source, path_hint, result)
            if track is None:
                result.outcome = Outcome.NEEDS_MATCHING
                result.failed_step = Step.IDENTIFY
                result.reason = "needs matching: no artist and title in its tags or file name"
                return result
        result.track = track

        cover = None
        cover_url = cover_url or (track.cover_url if matched else None)
        if matched and cover_url:
            cover, note = self.covers.get(cover_url)
            (result.done if cover else result.warnings).append(note)

        if matched:
            try:
                write_tags(source, track, cover=cover if opts.embed_cover else None, release_date=release_date)
            except TaggingError as exc:
                return self._fail(result, Step.TAG, f"tags could not be written: {exc.reason}", track)
            result.done.append("tagged" + (" with cover art" if cover and opts.embed_cover else ""))
            failpoints.hit("postprocess.tagged")

        template = choose_template(track, opts.album_template, opts.single_template)
        try:
            dest = render_path(template, track, info.format, opts.library_dir)
            displaced = Path(opts.quarantine_dir) / "replaced" if opts.keep_replaced else None
            move = place_file(source, dest, clash=opts.clash_policy, displaced_dir=displaced,
                              same_item_suffixes=_AUDIO_SUFFIXES)
        except (MoveError, TemplateError) as exc:
            return self._fail(result, Step.MOVE, str(exc), track)
        failpoints.hit("postprocess.moved")
        self._filed = True
        result.move = move
        result.final_path = move.path
        result.reason = move.reason
        if verdict.genuine is False:
            result.reason = f"kept although it looks fake ({verdict.reason}); {move.reason}"
        if move.action in (MoveAction.MOVED, MoveAction.REPLACED):
            result.outcome = Outcome.PLACED
            result.done.append(f"{move.action.value} to {move.path}")
        else:
            result.outcome = Outcome.DUPLICATE
            result.done.append(move.reason)

        if cover and opts.write_cover_file and template == opts.album_template:
            self._write_cover_file(move.path.parent, cover, result)
        for folder in {source.parent, move.path.parent}:  # what killed runs left where this one worked
            swept = remove_stale_temp_files(folder)
            if swept:
                result.done.append(f"removed {swept} temporary file(s) an interrupted run left in {folder}")
        return result

    def _filed_before(self, source: Path, track: Track) -> Path | None:
        """Where an interrupted run moved ``source``: the library file this track's path leads to
        (or a numbered copy of it) that carries the track's Spotify id; None when there is none."""
        fmt = format_for_suffix(source)
        if fmt is None or not track.spotify_id:
            return None
        opts = self.options
        try:
            dest = render_path(choose_template(track, opts.album_template, opts.single_template), track, fmt,
                               opts.library_dir)
        except TemplateError:
            return None
        for n in range(1, MAX_NUMBERED_LOOKUP + 1):
            candidate = dest.with_name(numbered_name(dest.name, n))
            if not candidate.is_file():
                return None
            if _tagged_for(candidate, track):
                return candidate
        return None

    def _identify(self, source: Path, path_hint: str | None, result: PostProcessResult) -> Track | None:
        # A local path's folders above the download's own folder say nothing about the music.
        hint = path_hint or f"{source.parent.name}/{source.name}"
        guess = guess_from_path(hint)
        try:
            tagged = read_tags(source)
        except TaggingError:
            tagged = None
        if tagged is not None and tagged.title and tagged.artists:
            result.done.append("identified by its own tags")
            return _merge(tagged, guess or _numbering_from_path(hint))
        if guess is not None:
            result.done.append("identified by its file name")
            return _merge(guess, tagged)
        return None

    def _write_cover_file(self, folder: Path, cover: bytes, result: PostProcessResult) -> None:
        name = "cover.png" if image_mime(cover) == "image/png" else "cover.jpg"
        target = safe_join(folder, name)
        try:
            wrote = atomic_write_bytes(target, cover)
        except OSError as exc:
            result.warnings.append(f"{name} could not be written ({exc.strerror or exc})")
            return
        result.cover_file = target
        if wrote:
            result.done.append(f"wrote {name}")

    def _fail(self, result: PostProcessResult, step: Step, reason: str, track: Track | None) -> PostProcessResult:
        result.outcome = Outcome.FAILED
        result.failed_step = step
        result.reason = reason
        opts = self.options
        if opts.on_failure != "quarantine":
            return result
        if not result.source.exists():
            result.reason += "; the file is gone, so nothing was set aside"
            return result
        target = safe_join(opts.quarantine_dir, result.source.name)
        try:
            placed = place_file(result.source, target, clash="number")
        except MoveError as exc:
            result.reason += f"; it could not be set aside ({exc}) and was left in place"
            return result
        result.quarantined_to = placed.path
        note = [
            "SoulSync could not add this file to the library.",
            f"Original location: {result.source}",
            f"Step: {step.value}",
            f"Reason: {reason}",
        ]
        if track is not None:
            note.append(f"Wanted: {track.display()}" + (f" ({track.album})" if track.album else ""))
        try:
            atomic_write_bytes(safe_join(placed.path.parent, placed.path.name + REASON_SUFFIX),
                               ("\n".join(note) + "\n").encode("utf-8"), overwrite=True)
        except OSError as exc:
            result.warnings.append(f"the reason file could not be written ({exc.strerror or exc})")
        result.done.append(f"set aside in {placed.path.parent}")
        return result
