"""Getting files into the library safely: atomic moves that never overwrite a different file.

:func:`place_file` is an atomic move that never overwrites a different file; a clash
is settled by quality (``keep_better``) or by a numbered name (``number``).
:func:`atomic_move`, :func:`durable_copy` and :func:`atomic_write_bytes` write through
hidden temporary files (:data:`TEMP_PREFIX`) that :func:`remove_stale_temp_files` clears.
Where a file goes is decided by the user's naming template
(:mod:`soulsync.core.path_templates`), made of safe names (:mod:`soulsync.core.safe_paths`).
"""
from __future__ import annotations

import enum
import errno
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from soulsync.core.audio_errors import AudioVerifyError
from soulsync.core.audiofile import verify_audio
from soulsync.core.safe_paths import MAX_COMPONENT_BYTES, _cut_utf8, _split_ext

TEMP_PREFIX = ".soulsync-"
TEMP_SUFFIX = ".part"
"""Names of the hidden, in-progress files written next to their destination."""

ClashPolicy = Literal["keep_better", "number"]
CLASH_POLICIES: tuple[str, ...] = ("keep_better", "number")


class OrganizeError(Exception):
    """Base class of this module's errors; the message is fit for a person."""


class MoveError(OrganizeError):
    """A file could not be placed; the source is untouched."""


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
