"""Where files go in the library, and getting them there safely.

Three things live here:

* :func:`sanitize_component` and :func:`safe_join`: every name that comes from
  a peer or a tag is untrusted; these turn any text into one harmless path
  component that stays inside the library folder on Linux, macOS and Windows.
* Path templates (:func:`validate_template`, :func:`render_path`): the user's
  naming scheme, e.g. ``{albumartist}/{album} ({year})/{disc_prefix}{track:02} - {title}.{ext}``.
* :func:`place_file`: an atomic move that never overwrites a different file;
  a clash is settled by quality (``keep_better``) or by a numbered name (``number``).
"""
from __future__ import annotations

import enum
import errno
import os
import re
import secrets
import shutil
import string
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from soulsync.core.audio_errors import AudioVerifyError
from soulsync.core.audiofile import verify_audio
from soulsync.core.models import Track

MAX_COMPONENT_BYTES = 255
"""The per-name limit of ext4, XFS, btrfs, APFS (bytes) and NTFS (UTF-16 units, never more than UTF-8 bytes)."""

TEMP_PREFIX = ".soulsync-"
TEMP_SUFFIX = ".part"
"""Names of the hidden, in-progress files written next to their destination."""

DEFAULT_ALBUM_TEMPLATE = "{albumartist}/{album} ({year})/{disc_prefix}{track:02} - {title}.{ext}"
DEFAULT_SINGLE_TEMPLATE = "{artist}/{artist} - {title}.{ext}"

TEMPLATE_FIELDS: dict[str, str] = {
    "albumartist": "album artist (falls back to the main artist)",
    "artist": "main artist",
    "artists": "every credited artist, comma separated",
    "album": "album title",
    "title": "track title",
    "year": "release year",
    "track": "track number, e.g. {track:02} for 01",
    "tracktotal": "number of tracks on the disc or album",
    "disc": "disc number",
    "disctotal": "number of discs",
    "disc_prefix": "'2-' on multi-disc albums, empty otherwise",
    "genre": "genre",
    "isrc": "ISRC code",
    "ext": "file extension without the dot",
}
"""Placeholders a template may use, with a description for the settings page."""

_NUMERIC_FIELDS = frozenset({"year", "track", "tracktotal", "disc", "disctotal"})

ClashPolicy = Literal["keep_better", "number"]
CLASH_POLICIES: tuple[str, ...] = ("keep_better", "number")


class OrganizeError(Exception):
    """Base class of this module's errors; the message is fit for a person."""


class TemplateError(OrganizeError, ValueError):
    """A naming template the user typed cannot be used."""


class MoveError(OrganizeError):
    """A file could not be placed; the source is untouched."""


# ---------------------------------------------------------------------------
# Safe names

_REPLACED = frozenset('/\\<>:"|?*')
"""Separators of every OS plus the characters Windows refuses in names."""
_DROPPED = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff")
"""Bidirectional overrides and byte-order marks: invisible, and used to disguise names."""
_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{dev}{n}" for dev in ("COM", "LPT") for n in [*"123456789", "\u00b9", "\u00b2", "\u00b3"]}
)
_SPACES = re.compile(r"\s+")


def _clean_text(text: str) -> str:
    """NFC, one-line text with no separators, control characters or lone surrogates."""
    text = unicodedata.normalize("NFC", text.encode("utf-8", "surrogatepass").decode("utf-8", "replace"))
    out = []
    for ch in text:
        if ch in _REPLACED:
            out.append("_")
        elif ch in _DROPPED:
            continue
        elif unicodedata.category(ch) in ("Cc", "Cs"):
            out.append(" " if ch in "\t\n\r\x0b\x0c" else "")
        else:
            out.append(ch)
    return _SPACES.sub(" ", "".join(out))


def _split_ext(name: str) -> tuple[str, str]:
    """``("stem", ".ext")`` when the name ends in a short alphanumeric extension, else ``(name, "")``."""
    stem, dot, ext = name.rpartition(".")
    if dot and stem and 1 <= len(ext) <= 16 and ext.isascii() and ext.isalnum():
        return stem, "." + ext
    return name, ""


def _cut_utf8(text: str, max_bytes: int) -> str:
    return text.encode("utf-8")[:max(max_bytes, 0)].decode("utf-8", "ignore")


def _cap(name: str, max_bytes: int) -> str:
    """Shorten ``name`` to ``max_bytes`` of UTF-8, keeping its extension and whole characters."""
    if len(name.encode("utf-8")) <= max_bytes:
        return name
    stem, ext = _split_ext(name)
    budget = max_bytes - len(ext.encode("utf-8"))
    if budget < 1:
        stem, ext, budget = name, "", max_bytes
    return _cut_utf8(stem, budget).rstrip(" .") + ext


def _is_reserved(name: str) -> bool:
    return name.split(".", 1)[0].rstrip(" ").upper() in _RESERVED


def sanitize_component(text: str, *, fallback: str = "_", max_bytes: int = MAX_COMPONENT_BYTES) -> str:
    """Turn any text into one safe file or folder name.

    Path separators and characters Windows forbids become ``_``; control and
    invisible direction characters go; whitespace collapses; leading dots and
    spaces (hidden files, ``..``) and trailing dots and spaces are removed;
    Windows device names get a ``_`` prefix; the result is capped to
    ``max_bytes`` of UTF-8 without splitting a character, keeping a file
    extension. An empty result becomes ``fallback``. Deterministic.
    """
    name = _clean_text(str(text)).lstrip(" .").rstrip(" .")
    name = _cap(name, max_bytes).rstrip(" .")
    if not name:
        name = _cap(_clean_text(fallback).strip(" .") or "_", max_bytes)
    if _is_reserved(name):
        name = _cap("_" + name, max_bytes)
    return name


def safe_join(root: str | os.PathLike, *parts: str) -> Path:
    """``root`` joined with each part as exactly one sanitised component: always inside ``root``.

    Separators inside a part are neutralised (``"AC/DC"`` is one folder,
    ``AC_DC``), never followed; ``..``, absolute and drive paths cannot
    escape; empty parts become ``_``.
    """
    return Path(root).joinpath(*(sanitize_component(part) for part in parts))


# ---------------------------------------------------------------------------
# Templates

_FORMATTER = string.Formatter()
_SEGMENT_SPLIT = re.compile(r"[/\\]")
_GROUP = re.compile(r"\s*(?:\(([^()]*)\)|\[([^\[\]]*)\])")
"""A bracketed group, e.g. `` ({year})``, dropped whole when all its placeholders are empty."""
_EMPTY = "\x00"
"""Stands for an empty value while rendering; real values never hold control characters."""
_SEP = r"[ \-_,]*"
_EMPTY_RUN = re.compile(rf"\x00(?:{_SEP}\x00)+")
_EMPTY_WITH_SEPS = re.compile(rf"({_SEP})\x00({_SEP})")
_EXT_TAIL = ".{ext}"


def _sample(field: str) -> object:
    return 1 if field in _NUMERIC_FIELDS else "x"


def _parse_segment(segment: str) -> list[tuple[str, str | None, str, str | None]]:
    try:
        # the spec is None only where the field is (a literal-only piece)
        return [(literal, field, spec or "", conversion) for literal, field, spec, conversion in _FORMATTER.parse(segment)]
    except ValueError as exc:
        raise TemplateError(f"the template has unbalanced braces ({exc})") from exc


def validate_template(template: str) -> None:
    """Raise :class:`TemplateError` with a clear message if ``template`` cannot be used.

    Checks braces, placeholder names (see :data:`TEMPLATE_FIELDS`), format
    specifications such as ``{track:02}``, and that the path is relative.
    """
    if not isinstance(template, str) or not template.strip():
        raise TemplateError("the template is empty")
    if template[0] in "/\\" or re.match(r"^[A-Za-z]:", template):
        raise TemplateError("the template must be relative to the library folder (no leading / or drive)")
    segments = _SEGMENT_SPLIT.split(template)
    for segment in segments:
        if segment.strip() in (".", ".."):
            raise TemplateError("the template may not contain '.' or '..' folders")
        for _literal, field, spec, conversion in _parse_segment(segment):
            if field is None:
                continue
            if field not in TEMPLATE_FIELDS:
                known = ", ".join("{" + name + "}" for name in TEMPLATE_FIELDS)
                raise TemplateError(f"unknown placeholder {{{field}}}; known placeholders: {known}")
            if conversion:
                raise TemplateError(f"{{{field}!{conversion}}}: conversions are not supported")
            if "{" in spec:
                raise TemplateError(f"{{{field}:{spec}}}: nested placeholders are not supported")
            try:
                format(_sample(field), spec)
            except ValueError as exc:
                raise TemplateError(f"{{{field}:{spec}}}: invalid format ({exc})") from exc
    if not segments[-1].strip():
        raise TemplateError("the template must end with a file name")


def _number(value: int | None) -> int | None:
    return value if isinstance(value, int) and value > 0 else None


def template_fields(track: Track, ext: str) -> dict[str, str | int | None]:
    """The values a template can use for ``track``; ``None`` means empty.

    Artist, album and title fall back to ``Unknown Artist``, ``Unknown Album``
    and ``Untitled`` so a folder is never nameless.
    """
    artist = track.artist.strip() or "Unknown Artist"
    disc, disc_total = _number(track.disc_number), _number(track.disc_total)
    multi_disc = (disc_total or 0) > 1 or (disc_total is None and (disc or 0) > 1)
    return {
        "albumartist": track.album_artist.strip() or artist,
        "artist": artist,
        "artists": ", ".join(a.strip() for a in track.artists if a.strip()) or artist,
        "album": track.album.strip() or "Unknown Album",
        "title": track.title.strip() or "Untitled",
        "year": _number(track.year),
        "track": _number(track.track_number),
        "tracktotal": _number(track.track_total),
        "disc": disc,
        "disctotal": disc_total,
        "disc_prefix": f"{disc}-" if multi_disc and disc else None,
        "genre": track.genre.strip() or None,
        "isrc": (track.isrc or "").strip() or None,
        "ext": re.sub(r"[^a-z0-9]", "", ext.lower().lstrip(".")) or "bin",
    }


def _render_piece(text: str, values: dict[str, str | int | None]) -> str:
    out = []
    for literal, field, spec, _conversion in _parse_segment(text):
        out.append(_clean_text(literal))
        if field is None:
            continue
        value = values[field]
        if value is None or value == "":
            out.append(_EMPTY)
        else:
            out.append(_clean_text(format(value if isinstance(value, int) else _clean_text(value), spec)))
    return "".join(out)


def _drop_empty_groups(segment: str, values: dict[str, str | int | None]) -> str:
    def replace(match: re.Match) -> str:
        inner = match.group(1) if match.group(1) is not None else match.group(2)
        fields = [f for _l, f, _s, _c in _parse_segment(inner) if f is not None]
        if fields and all(values[f] in (None, "") for f in fields):
            return ""
        return match.group(0)

    return _GROUP.sub(replace, segment)


def _tidy_empties(text: str) -> str:
    """Remove empty values with the separators they leave dangling (``" - "``, ``"_"``...)."""
    text = _EMPTY_RUN.sub(_EMPTY, text)

    def replace(match: re.Match) -> str:
        start, end = match.start(), match.end()
        if start == 0 or end == len(text) or text[start - 1] in "([" or text[end] in ")]":
            return ""
        left, right = match.group(1), match.group(2)
        return left if len(left) >= len(right) else right

    return _EMPTY_WITH_SEPS.sub(replace, text)


def choose_template(track: Track, album_template: str = DEFAULT_ALBUM_TEMPLATE,
                    single_template: str = DEFAULT_SINGLE_TEMPLATE) -> str:
    """The album template for a track with an album and a track number, else the singles template."""
    if track.album.strip() and _number(track.track_number):
        return album_template
    return single_template


def render_path(template: str, track: Track, ext: str, root: str | os.PathLike) -> Path:
    """The library path for ``track`` under ``root`` following ``template``.

    Every value is sanitised (a title ``"AC/DC"`` never makes a folder); a
    bracketed group whose placeholders are all empty disappears with its
    leading space (``"Album ({year})"`` becomes ``"Album"``), and so do
    separators left dangling by an empty value. Empty folder levels are
    skipped. The extension is appended when the template has no ``{ext}``.
    Raises :class:`TemplateError` for an invalid template.
    """
    validate_template(template)
    values = template_fields(track, ext)
    segments = _SEGMENT_SPLIT.split(template)
    *folders, name = segments
    parts = []
    for segment in folders:
        rendered = _tidy_empties(_render_piece(_drop_empty_groups(segment, values), values)).strip()
        if rendered:
            parts.append(rendered)
    if name.endswith(_EXT_TAIL):
        stem_template, suffix = name[: -len(_EXT_TAIL)], "." + str(values["ext"])
    elif "{ext" in name:
        stem_template, suffix = name, ""
    else:
        stem_template, suffix = name, "." + str(values["ext"])
    stem = _tidy_empties(_render_piece(_drop_empty_groups(stem_template, values), values)).strip()
    stem = sanitize_component(stem, fallback=str(values["title"]), max_bytes=MAX_COMPONENT_BYTES - len(suffix))
    return safe_join(root, *parts, stem + suffix)


# ---------------------------------------------------------------------------
# Atomic placement


class MoveAction(str, enum.Enum):
    """What :func:`place_file` did."""

    MOVED = "moved"
    """The source now lives at ``path`` (possibly a numbered name)."""
    REPLACED = "replaced"
    """The source was better than the file at ``path`` and took its place."""
    ALREADY_PRESENT = "already_present"
    """``path`` already held identical content; the duplicate source was removed."""
    KEPT_EXISTING = "kept_existing"
    """``path`` holds a better (or equal) copy; the source was left where it was."""


@dataclass(frozen=True, slots=True)
class MoveResult:
    action: MoveAction
    path: Path
    """Where the library copy of this track now is."""
    source: Path
    reason: str = ""
    """Why, in words, for clashes (which file was kept and why)."""
    displaced_to: Path | None = None
    """Where the replaced worse file was put aside, if it was kept."""

    @property
    def source_consumed(self) -> bool:
        """Whether the source file is gone from its original place."""
        return self.action is not MoveAction.KEPT_EXISTING


def is_temp_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is one of SoulSync's in-progress temporary files."""
    name = Path(path).name
    return name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)


def remove_stale_temp_files(folder: str | os.PathLike, *, min_age_s: float = 3600.0,
                            now: float | None = None) -> int:
    """Delete temporary files an interrupted run left in ``folder``; return how many.

    Only files untouched for ``min_age_s`` go, so a write in progress is safe.
    ``now`` (epoch seconds) defaults to the current time.
    """
    cutoff = (time.time() if now is None else now) - min_age_s
    removed = 0
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return 0
    for entry in entries:
        if not is_temp_file(entry):
            continue
        try:
            if entry.is_file() and entry.stat().st_mtime <= cutoff:
                entry.unlink()
                removed += 1
        except OSError:
            continue
    return removed


def _temp_path(folder: Path) -> Path:
    return folder / f"{TEMP_PREFIX}{secrets.token_hex(8)}{TEMP_SUFFIX}"


def fsync_dir(folder: str | os.PathLike) -> None:
    """Make a rename or new name in ``folder`` durable (POSIX; a no-op elsewhere)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def durable_copy(src: str | os.PathLike, folder: str | os.PathLike) -> Path:
    """A fsynced copy of ``src`` under a hidden temporary name in ``folder`` (see :func:`is_temp_file`)."""
    src, folder = Path(src), Path(folder)
    tmp = _temp_path(folder)
    try:
        with open(src, "rb") as fin, open(tmp, "xb") as fout:
            shutil.copyfileobj(fin, fout, 1 << 20)
            fout.flush()
            os.fsync(fout.fileno())
        shutil.copystat(src, tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _publish(tmp: Path, dest: Path) -> None:
    """Give the complete temp file ``tmp`` the name ``dest``, failing if ``dest`` exists; ``tmp`` never lingers."""
    try:
        if not _link_into(tmp, dest):
            _rename_no_clobber(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _link_into(src: Path, dest: Path) -> bool:
    """Hard-link ``src`` as ``dest`` (never clobbers); False when links are impossible here."""
    try:
        os.link(src, dest)
    except FileExistsError:
        raise
    except OSError:
        return False
    fsync_dir(dest.parent)
    return True


def atomic_move(src: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Move ``src`` to ``dest`` atomically, never overwriting: raises ``FileExistsError`` if taken.

    Same device: a hard link then unlink (or a rename where links are not
    supported). Across devices: copy to a hidden temp file in the destination
    folder, fsync, then link/rename into place, then remove the source. At
    every instant the file exists complete under at least one name.
    """
    src, dest = Path(src), Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if os.path.lexists(dest):
        raise FileExistsError(errno.EEXIST, "destination exists", str(dest))
    if not _link_into(src, dest):
        try:
            _rename_no_clobber(src, dest)
            return dest
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
        _publish(durable_copy(src, dest.parent), dest)
    src.unlink()
    return dest


def _rename_no_clobber(src: Path, dest: Path) -> None:
    """Rename where hard links are unsupported; the destination is rechecked just before
    (Windows' rename refuses an existing target by itself)."""
    if os.path.lexists(dest):
        raise FileExistsError(errno.EEXIST, "destination exists", str(dest))
    os.rename(src, dest)
    fsync_dir(dest.parent)


def atomic_write_bytes(dest: str | os.PathLike, data: bytes, *, overwrite: bool = False) -> bool:
    """Write ``data`` to ``dest`` through a fsynced temp file; readers never see a partial file.

    Without ``overwrite`` an existing ``dest`` is left alone and False is returned.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not overwrite and os.path.lexists(dest):
        return False
    tmp = _temp_path(dest.parent)
    try:
        with open(tmp, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if overwrite:
            os.replace(tmp, dest)
            fsync_dir(dest.parent)
        else:
            _publish(tmp, dest)
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)
    return True


def files_identical(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Same size and same bytes (compared in chunks, stopping at the first difference)."""
    a, b = Path(a), Path(b)
    try:
        if a.stat().st_size != b.stat().st_size:
            return False
        if os.path.samefile(a, b):
            return True
        with open(a, "rb") as fa, open(b, "rb") as fb:
            while True:
                chunk = fa.read(1 << 20)
                if chunk != fb.read(1 << 20):
                    return False
                if not chunk:
                    return True
    except OSError:
        return False


def numbered_name(name: str, n: int, max_bytes: int = MAX_COMPONENT_BYTES) -> str:
    """``"Song.flac"`` -> ``"Song (n).flac"``, still within ``max_bytes``."""
    if n <= 1:
        return name
    stem, ext = _split_ext(name)
    suffix = f" ({n}){ext}"
    return _cut_utf8(stem, max_bytes - len(suffix.encode("utf-8"))).rstrip(" .") + suffix


QualityProbe = Callable[[Path], tuple[tuple, str]]
"""Returns ``(rank, label)`` for a file; a larger rank is better."""


def probe_quality(path: Path) -> tuple[tuple, str]:
    """Rank by lossless, then bitrate, then size; an unreadable file ranks lowest."""
    try:
        info = verify_audio(path)
    except AudioVerifyError as exc:
        return (False, -1, -1), f"a damaged file ({exc.reason})"
    return info.quality_rank(), info.describe()


_MAX_NUMBER = 9999


def place_file(
    src: str | os.PathLike,
    dest: str | os.PathLike,
    *,
    clash: ClashPolicy = "keep_better",
    displaced_dir: str | os.PathLike | None = None,
    quality: QualityProbe = probe_quality,
    same_item_suffixes: Iterable[str] = (),
) -> MoveResult:
    """Move ``src`` to ``dest`` without ever overwriting a different file.

    If ``dest`` already holds identical bytes, the source is a duplicate and is
    removed (``ALREADY_PRESENT``). Otherwise a clash is resolved by ``clash``:

    * ``"number"``: the first free ``name (2).ext``, ``name (3).ext``... (an
      identical numbered copy also counts as already present);
    * ``"keep_better"``: ``quality`` ranks both files; the better one ends up at
      ``dest``. A worse existing file is atomically replaced and, when
      ``displaced_dir`` is given, kept there; a better or equal existing file
      stays and the source is left untouched (``KEPT_EXISTING``). A file with
      the same name but one of ``same_item_suffixes`` (e.g. ``.mp3`` when
      placing ``.flac``) is the same track in another format and clashes too.

    Raises :class:`MoveError` (source untouched) when the file cannot be placed.
    """
    src, dest = Path(src), Path(dest)
    if clash not in CLASH_POLICIES:
        raise MoveError(f"unknown clash policy {clash!r}; use one of {', '.join(CLASH_POLICIES)}")
    if not src.is_file():
        raise MoveError(f"{src.name}: the file to move is missing")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        if clash == "number":
            return _place_numbered(src, dest)
        rivals = [dest.with_name(dest.stem + s) for s in same_item_suffixes if s.lower() != dest.suffix.lower()]
        return _place_keep_better(src, dest, Path(displaced_dir) if displaced_dir else None, quality, rivals)
    except OSError as exc:
        raise MoveError(f"could not move {src.name} to {dest.parent}: {exc.strerror or exc}") from exc


def _place_numbered(src: Path, dest: Path) -> MoveResult:
    for n in range(1, _MAX_NUMBER + 1):
        candidate = dest.with_name(numbered_name(dest.name, n))
        if os.path.lexists(candidate):
            if candidate.is_file() and files_identical(src, candidate):
                return _already_present(src, candidate)
            continue
        try:
            atomic_move(src, candidate)
        except FileExistsError:
            continue  # taken in the meantime; try the next number
        reason = "" if n == 1 else f"{dest.name} already exists with different content"
        return MoveResult(MoveAction.MOVED, candidate, src, reason)
    raise MoveError(f"no free name for {dest.name} after {_MAX_NUMBER} attempts")


def _already_present(src: Path, existing: Path) -> MoveResult:
    if src.resolve() != existing.resolve():  # a second name of the same file (an interrupted move) goes too
        src.unlink()
    return MoveResult(MoveAction.ALREADY_PRESENT, existing, src, "an identical copy is already in the library")


def _place_keep_better(src: Path, dest: Path, displaced_dir: Path | None, quality: QualityProbe,
                       rivals: list[Path]) -> MoveResult:
    for _attempt in range(3):
        rival = next((r for r in rivals if r.is_file()), None)
        if rival is not None and not os.path.lexists(dest):
            return _settle_rival(src, dest, rival, displaced_dir, quality)
        if not os.path.lexists(dest):
            try:
                atomic_move(src, dest)
                return MoveResult(MoveAction.MOVED, dest, src)
            except FileExistsError:
                continue  # someone else got there first: compare with theirs
        if not dest.is_file():
            raise MoveError(f"{dest} exists and is not a file")
        if files_identical(src, dest):
            return _already_present(src, dest)
        new_rank, new_label = quality(src)
        old_rank, old_label = quality(dest)
        if new_rank <= old_rank:
            why = "is better than" if new_rank < old_rank else "is as good as"
            return MoveResult(MoveAction.KEPT_EXISTING, dest, src,
                              f"kept the existing {old_label}: it {why} the new {new_label}")
        displaced = _replace(src, dest, displaced_dir)
        return MoveResult(MoveAction.REPLACED, dest, src,
                          f"replaced the existing {old_label} with the better {new_label}", displaced)
    raise MoveError(f"{dest.name} kept changing while it was being placed")


def _settle_rival(src: Path, dest: Path, rival: Path, displaced_dir: Path | None,
                  quality: QualityProbe) -> MoveResult:
    """The same track exists in another format under ``rival``: keep only the better one."""
    new_rank, new_label = quality(src)
    old_rank, old_label = quality(rival)
    if new_rank <= old_rank:
        why = "is better than" if new_rank < old_rank else "is as good as"
        return MoveResult(MoveAction.KEPT_EXISTING, rival, src,
                          f"kept the existing {old_label}: it {why} the new {new_label}")
    atomic_move(src, dest)
    displaced = None
    if displaced_dir is not None:
        displaced_dir.mkdir(parents=True, exist_ok=True)
        displaced = _keep_copy(rival, displaced_dir)
    rival.unlink()
    return MoveResult(MoveAction.REPLACED, dest, src,
                      f"replaced the existing {old_label} with the better {new_label}", displaced)


def _replace(src: Path, dest: Path, displaced_dir: Path | None) -> Path | None:
    """Atomically swap the better ``src`` in at ``dest``; keep the old file in ``displaced_dir``."""
    staged = _temp_path(dest.parent)
    if not _link_into(src, staged):
        staged = durable_copy(src, dest.parent)
    displaced = None
    try:
        if displaced_dir is not None:
            displaced_dir.mkdir(parents=True, exist_ok=True)
            displaced = _keep_copy(dest, displaced_dir)
        os.replace(staged, dest)
        fsync_dir(dest.parent)
    finally:
        staged.unlink(missing_ok=True)
    src.unlink()
    return displaced


def _keep_copy(path: Path, folder: Path) -> Path:
    """A second name (or a durable copy) of ``path`` in ``folder`` under a free numbered name."""
    for n in range(1, _MAX_NUMBER + 1):
        target = folder / numbered_name(path.name, n)
        if os.path.lexists(target):
            continue
        try:
            if not _link_into(path, target):
                _publish(durable_copy(path, folder), target)
        except FileExistsError:
            continue
        return target
    raise MoveError(f"no free name for {path.name} in {folder}")
