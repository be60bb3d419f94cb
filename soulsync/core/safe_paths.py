"""Safe names: any text turned into one harmless path component.

Every name that comes from a peer or a tag is untrusted; :func:`sanitize_component`
and :func:`safe_join` turn any text into one harmless path component that stays
inside the library folder on Linux, macOS and Windows.
"""
from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path


MAX_COMPONENT_BYTES = 255
"""The per-name limit of ext4, XFS, btrfs, APFS (bytes) and NTFS (UTF-16 units, never more than UTF-8 bytes)."""


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
