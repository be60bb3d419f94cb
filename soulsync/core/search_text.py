"""Search text: a query cleaned for Soulseek peers, and text folded for matching typed words.

:func:`clean_query` is what is sent; :func:`searchable` folds names and paths for word
matching; :func:`query_terms` splits a typed filter into included and ``-excluded`` words.
"""
from __future__ import annotations

import functools
import re
import string
import unicodedata


_ASCII_PUNCT = bytes.maketrans(string.punctuation.encode("ascii"), b" " * len(string.punctuation))
_NON_ASCII_RE = re.compile(r"[^\x00-\x7f]+")
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
