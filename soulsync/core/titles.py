"""Song and album titles taken apart: the core title, its version tags and featured artists.

:func:`parse_title` and :func:`parse_album` find bracketed and `` - ``-separated
qualifiers and classify them (:mod:`soulsync.core.version_tags`) into structured
:class:`~soulsync.core.version_tags.VersionTag` s; :func:`title_shape` gives the other
readings of a title (``03 - Song``, ``Alt (Main)``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from soulsync.core.normalize import _drop_leading_the, _words, fold, normalize_text
from soulsync.core.version_tags import (
    Qualifier,
    VersionKind,
    VersionTag,
    _ALBUM_LEVEL_KINDS,
    _FILLER,
    _K,
    _split_features,
    classify_qualifier,
)


_BRACKET = re.compile(r"[\(\[\{【〔]([^\(\)\[\]\{\}【】〔〕]*)[\)\]\}】〕]")
_DASH = re.compile(r"\s+[-–—~]+\s+|\s+[-–—]+(?=\S)|(?<=\S)[-–—]+\s+")
_FEAT_OUTSIDE = re.compile(r"\s(?:feat\.?|ft\.?|featuring)\s+(.+)$")
_TRAILING_DASH = re.compile(r"[\s\-–—~]+$")
_QUALIFIER_CHARS = re.compile(r"[\(\[\{【〔\-–—~]")
_FEAT_WORD = re.compile(r"\b(?:feat|ft|featuring)\b")


def _needs_parse(folded: str) -> bool:
    """Whether a folded title may hold brackets, dash tails or a feat. credit."""
    if _QUALIFIER_CHARS.search(folded):
        return True
    return ("ft" in folded or "feat" in folded) and _FEAT_WORD.search(folded) is not None


class ParsedTitle(NamedTuple):
    """A title split into the words that name the song and its qualifiers.

    A named tuple of strings and tuples: a library index holds one per track,
    and such tuples cost the garbage collector nothing once it has seen them.
    """

    core: str
    """Normalised title without any bracketed or dash qualifier."""
    full: str
    """Normalised title keeping unknown qualifiers in place (``i cant get no satisfaction``)."""
    tags: tuple[VersionTag, ...] = ()
    """Different-recording tags (live, remix...), sorted."""
    same: tuple[VersionKind, ...] = ()
    """Same-recording kinds (remaster, mono...), sorted."""
    features: tuple[str, ...] = ()
    """Featured artists named in the title, as written."""

    @property
    def kinds(self) -> tuple[VersionKind, ...]:
        """The different-recording kinds: what must agree for two tracks to be one recording."""
        return kinds_of(self.tags)


_EMPTY_TAGS: tuple[VersionTag, ...] = ()
_EMPTY_KINDS: tuple[VersionKind, ...] = ()
_EMPTY_FEATS: tuple[str, ...] = ()


def kinds_of(tags: "tuple[VersionTag, ...] | list[VersionTag]") -> tuple[VersionKind, ...]:
    """The distinct kinds of ``tags`` as a sorted tuple: comparable with ``==``.

    Tuples rather than sets: a library index holds one per track, and a tuple of
    nothing costs the garbage collector nothing.
    """
    if not tags:
        return _EMPTY_KINDS
    return tuple(sorted({t.kind for t in tags}, key=lambda k: k.value))

class _Collector:
    """Gathers what the qualifiers of one title or segment say."""

    __slots__ = ("tags", "same", "features")

    def __init__(self) -> None:
        self.tags: list[VersionTag] = []
        self.same: set[VersionKind] = set()
        self.features: list[str] = []

    def add(self, q: Qualifier) -> None:
        for tag in q.tags:
            if tag.kind.same_recording:
                self.same.add(tag.kind)
            elif tag not in self.tags:
                self.tags.append(tag)
        self.features.extend(q.features)


def _sub_groups(text: str, sink: _Collector | None, keep_unknown: bool) -> tuple[str, bool]:
    """Replace bracketed qualifiers, innermost first; unknown ones keep their words if asked.

    Returns the new text and whether any qualifier was unknown.
    """
    unknown = False

    def repl(m: re.Match[str]) -> str:
        nonlocal unknown
        q = classify_qualifier(m.group(1))
        if sink is not None:
            sink.add(q)
        if q.unknown:
            unknown = True
            if keep_unknown:
                return f" {m.group(1)} "
        return " "

    for _ in range(3):
        new = _BRACKET.sub(repl, text)
        if new == text:
            break
        text = new
    return text, unknown


def _strip_dash_tails(core: str, full: str, sink: _Collector) -> tuple[str, str]:
    """Cut `` - Live``, `` - 2011 Remaster``... while the last tail is a known qualifier."""
    shared = full is core
    while True:
        last = None
        for last in _DASH.finditer(core):  # noqa: B007 (the last match is what is wanted)
            pass
        if last is None:
            return core, full
        tail = core[last.end():]
        q = classify_qualifier(tail)
        if q.unknown:
            return core, full
        sink.add(q)
        core = core[:last.start()]
        if shared:
            full = core
        else:
            cut = full.rfind(tail)
            full = _TRAILING_DASH.sub("", full[:cut]) if cut >= 0 else core


def parse_title(title: str) -> ParsedTitle:
    """Split a track title into its song words and structured qualifiers.

    ``"Wonderwall - Remastered 2014"`` -> core ``wonderwall``, same ``{remaster}``;
    ``"Hello (Live at Wembley) [feat. X]"`` -> live tag with detail ``wembley``,
    feature ``X``. Leading ``The`` is dropped. A title made only of qualifiers
    keeps them as its words, so it still matches itself.
    """
    folded = fold(title)
    if not _needs_parse(folded):
        words = _drop_leading_the(_words(folded))
        return ParsedTitle(words, words, _EMPTY_TAGS, _EMPTY_KINDS, _EMPTY_FEATS)
    sink = _Collector()
    core, unknown = _sub_groups(folded, sink, keep_unknown=False)
    full = _sub_groups(folded, None, keep_unknown=True)[0] if unknown else core
    feat = _FEAT_OUTSIDE.search(core)
    if feat:
        sink.features.extend(_split_features(feat.group(1)))
        core = core[:feat.start()]
        feat_full = _FEAT_OUTSIDE.search(full) if unknown else feat
        if feat_full:
            full = full[:feat_full.start()]
    if _DASH.search(core):
        core, full = _strip_dash_tails(core, full, sink)
    core_n = _drop_leading_the(_words(core))
    full_n = _drop_leading_the(_words(full)) if full is not core else core_n
    if not core_n and not full_n:
        # the whole title is what would otherwise be a qualifier: "(Intro)", "Live"
        words = _drop_leading_the(_words(folded))
        return ParsedTitle(words, words, _EMPTY_TAGS, _EMPTY_KINDS, _EMPTY_FEATS)
    if not core_n:
        core_n = full_n
    tags = tuple(sorted(sink.tags, key=lambda t: (t.kind.value, t.detail))) if sink.tags else _EMPTY_TAGS
    return ParsedTitle(
        core=core_n,
        full=full_n if full_n != core_n else core_n,
        tags=tags,
        same=tuple(sorted(sink.same, key=lambda k: k.value)) if sink.same else _EMPTY_KINDS,
        features=tuple(sink.features) if sink.features else _EMPTY_FEATS,
    )


_LEADING_NUMBER = re.compile(r"^\s*(?:\d{1,2}[-.])?\d{1,3}(?:\s*[-._)]+\s*|\s+-\s+)(?=\S)")
"""A track number left at the head of a title: ``03 - Song``, ``1-03. Song``, ``07_Song``."""


class TitleShape(NamedTuple):
    """Other names one title may be known by in an untagged or oddly tagged file."""

    inline: str
    """The whole title as words, qualifiers included (``song alesso remix``): equal to a title that
    carries the same qualifier without brackets; ``""`` when the title has no qualifier."""
    alternatives: tuple[str, ...]
    """Normalised alternative titles: without a leading track number, a bracketed alternative title
    or nickname on its own, and the part before an unexplained dash (a film or theme subtitle)."""
    dash_parts: tuple[str, str] | None
    """(head, tail) of the first `` - `` split when the tail is unexplained: ``Artist - Title`` left in
    the title is recognised once the head is known to be a credited artist."""


_NO_SHAPE = TitleShape("", (), None)
_SHAPE_HINT = re.compile(r"^\s*[0-9０-９]|[\(\[\{【〔（［｛\-–—~－]")
"""What a title needs to have another reading: a leading number, a bracket or a dash (before folding)."""


def title_shape(title: str, parsed: ParsedTitle | None = None) -> TitleShape:
    """The alternative readings of ``title`` (see :class:`TitleShape`); pieces holding a number are
    never offered alone, so ``Song (Part 2)`` is not ``Song``. ``parsed`` is ``parse_title(title)``
    when the caller has it."""
    if _SHAPE_HINT.search(title) is None:
        return _NO_SHAPE
    folded = fold(title)
    number = _LEADING_NUMBER.match(folded) if folded[:1].isdigit() or folded[:1].isspace() else None
    if not number and not _QUALIFIER_CHARS.search(folded):
        return _NO_SHAPE
    if parsed is None:
        parsed = parse_title(folded)
    unknown_bracket = parsed.full != parsed.core
    dash = None if number else _DASH.search(folded)
    if dash is not None and (_DASH.search(folded, dash.end()) is not None
                             or not classify_qualifier(folded[dash.end():]).unknown):
        dash = None  # several dashes, or a known qualifier after the dash ("- Remastered 2011")
    if not (number or parsed.tags or unknown_bracket or dash):
        return _NO_SHAPE
    alternatives: list[str] = []
    if number:
        alternatives.append(parse_title(folded[number.end():]).core)
    if unknown_bracket:
        for group in _BRACKET.finditer(folded):
            inner = group.group(1)
            if classify_qualifier(inner).unknown:
                words = normalize_text(inner)
                if words and not any(ch.isdigit() for ch in words):
                    alternatives.append(words)
    dash_parts = None
    if dash is not None:
        head, tail = (_drop_leading_the(_words(_sub_groups(p, None, keep_unknown=False)[0]))
                      for p in (folded[:dash.start()], folded[dash.end():]))
        if head and tail:
            dash_parts = (head, tail)
            if not any(ch.isdigit() for ch in tail):
                alternatives.append(head)
    inline = _drop_leading_the(_words(folded)) if parsed.tags else ""
    kept = tuple(dict.fromkeys(a for a in alternatives if a and a != parsed.core and a != parsed.full))
    return TitleShape(inline, kept, dash_parts) if inline or kept or dash_parts else _NO_SHAPE
# ----------------------------------------------------------------------------- albums

_ALBUM_LIVE = re.compile(r"^live (?:at|in|from|on|\d{4})\b|\b(?:live|concert) (?:at|in|from)\b|\bin concert\b"
                         r"|(?<!long )(?<!to )\blive$")
_ALBUM_WHOLE = (
    (_ALBUM_LIVE, (_K.LIVE,)),
    (re.compile(r"\bunplugged\b"), (_K.ACOUSTIC, _K.LIVE)),
    (re.compile(r"\bkaraoke\b"), (_K.KARAOKE,)),
    (re.compile(r"\btribute to\b|\ba tribute\b"), (_K.COVER,)),
    (re.compile(r"\binstrumentals\b"), (_K.INSTRUMENTAL,)),
)


@dataclass(frozen=True, slots=True)
class ParsedAlbum:
    """An album title reduced to its name and the version kinds it gives its tracks."""

    core: str
    tags: tuple[VersionTag, ...] = ()


@lru_cache(maxsize=65536)
def parse_album(album: str) -> ParsedAlbum:
    """Normalise an album title; keep only the tags an album passes on to its tracks.

    ``"Live at Wembley '86"`` -> live; ``"Hits (Deluxe Edition)"`` -> core ``hits``, no tags;
    ``"Live Through This"`` stays a studio album.
    """
    parsed = parse_title(album)
    tags = [t for t in parsed.tags if t.kind in _ALBUM_LEVEL_KINDS]
    have = {t.kind for t in tags}
    for pattern, kinds in _ALBUM_WHOLE:
        if pattern.search(parsed.full):
            for kind in kinds:
                if kind not in have:
                    have.add(kind)
                    tags.append(VersionTag(kind, _album_live_detail(parsed.full) if kind is _K.LIVE else ""))
    core = parsed.core if parsed.core else parsed.full
    return ParsedAlbum(core, tuple(sorted(tags, key=lambda t: (t.kind.value, t.detail))))


def _album_live_detail(text: str) -> str:
    words = [w for w in _ALBUM_LIVE.sub(" ", text).split() if w not in _FILLER]
    return " ".join(words)
