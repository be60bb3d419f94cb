"""Path templates: the user's naming scheme for the library.

:func:`validate_template` checks a template the user typed and :func:`render_path`
fills it for a track, e.g. ``{albumartist}/{album} ({year})/{disc_prefix}{track:02} - {title}.{ext}``
(:data:`TEMPLATE_FIELDS` lists the placeholders).
"""
from __future__ import annotations

import os
import re
import string
from pathlib import Path

from soulsync.core.models import Track
from soulsync.core.organize import OrganizeError
from soulsync.core.safe_paths import MAX_COMPONENT_BYTES, _clean_text, safe_join, sanitize_component


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


class TemplateError(OrganizeError, ValueError):
    """A naming template the user typed cannot be used."""


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
