"""What a search text becomes on the Soulseek network, decided before it is sent.

slskd hands every search to Soulseek.NET, which splits the text on spaces and
drops each term one UTF-16 code unit long (``removeSingleCharacterSearchTerms``,
always on in slskd); when no term is left slskd refuses the search with 400
(``../shared/reference/service-apis.md`` 1.5, "Query rules"). So ``R.E.M.``
(cleaned to ``R E M``), ``M Q``, ``X 7`` or ``光 愛`` can never be searched as
they are, and retrying them is pointless.

:func:`network_query` applies the same rule here, so the app knows what is
really searched, shows it, and treats a text with nothing left as
unsearchable (the caller moves on to its next query form) instead of sending
it. Runs of single letters (an acronym such as ``R E M``) are joined into one
word (``REM``) when nothing else of the text would be left; otherwise they are
dropped like slskd would, since a peer's ``R.E.M.`` folder does not hold the
word ``REM``.
"""
from __future__ import annotations

import re

from soulsync.core.models import Track
from soulsync.core.normalize import classify_qualifier, fold

from soulsync.core.search import clean_query

UNSEARCHABLE_REASON = ("every word is a single character, and Soulseek (slskd) only searches for words "
                       "of two or more characters")


def utf16_length(text: str) -> int:
    """C#'s ``string.Length`` (what Soulseek.NET measures): UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _long_terms(terms: list[str]) -> list[str]:
    return [t for t in terms if utf16_length(t) > 1]


def _join_acronyms(terms: list[str]) -> list[str]:
    """``R E M Losing`` -> ``REM Losing``: two or more one-letter terms in a row become one word.

    Only letters of scripts with case (Latin, Greek, Cyrillic) form acronyms; two
    separate CJK characters are two words, not one."""
    out: list[str] = []
    run: list[str] = []
    for term in [*terms, ""]:
        if len(term) == 1 and term.isalpha() and term.lower() != term.upper():
            run.append(term)
            continue
        if len(run) >= 2:
            out.append("".join(run))
        elif run:
            out.extend(run)
        run = []
        if term:
            out.append(term)
    return out


def network_query(text: str) -> str | None:
    """The query to send for ``text``: cleaned (:func:`~soulsync.core.search.clean_query`) and
    without the terms slskd would drop; None when nothing searchable is left.

    >>> network_query("R.E.M. - Losing My Religion")
    'Losing My Religion'
    >>> network_query("R.E.M.")
    'REM'
    >>> network_query("光 愛") is None
    True
    """
    terms = clean_query(text).split()
    kept = _long_terms(terms)
    if kept:
        return " ".join(kept)
    joined = _long_terms(_join_acronyms(terms))
    return " ".join(joined) if joined else None


def acronym_query(text: str) -> str | None:
    """``text`` with its acronyms joined (``R.E.M. Losing`` -> ``REM Losing``), or None when it has none.

    A later query form: it finds peers whose folders are named ``REM``, which the
    plain form (where slskd drops ``R``, ``E`` and ``M``) does not ask for."""
    terms = clean_query(text).split()
    joined = _join_acronyms(terms)
    if joined == terms:
        return None
    kept = _long_terms(joined)
    return " ".join(kept) if kept else None



_BRACKETS = re.compile(r"\s*[(\[{][^)\]}]*[)\]}]")
_FEATURING = re.compile(r"\s+(?:feat\.?|ft\.?|featuring)\s+.*$", re.IGNORECASE)


def _plain(text: str) -> str:
    """A title or album without bracketed parts, ``feat.`` credits and qualifier tails (`` - Remastered 2011``)."""
    plain = _FEATURING.sub("", _BRACKETS.sub("", text)).strip()
    head, sep, tail = plain.rpartition(" - ")
    if sep and head.strip() and not classify_qualifier(tail).unknown:
        plain = head.strip()
    return plain or text.strip()


def query_forms(track: Track) -> list[str]:
    """The searches to try for a wanted track, best first, without duplicates.

    Artist + title; title + album; the first without accents; the first with
    its acronyms joined (``R.E.M.`` -> ``REM``). Qualifiers (``(Remastered)``,
    ``- Radio Edit``, ``feat. X``) are left out so peers' differently named
    files still match; the ranking sorts versions out. Every form is what
    slskd will really search (:func:`~soulsync.core.soulseek_query.network_query`:
    cleaned, one-character terms dropped); a form with nothing searchable left
    is left out, so a track may have no form at all (see :data:`UNSEARCHABLE_REASON`).
    """
    title = _plain(track.title or "")
    album = _plain(track.album or "")
    forms: list[str] = []

    def add(query: str | None) -> None:
        if query and query.lower() not in (f.lower() for f in forms):
            forms.append(query)

    artist_title = f"{track.artist} {title}"
    add(network_query(artist_title))
    if clean_query(album) and fold(clean_query(album)) != fold(clean_query(title)):
        add(network_query(f"{title} {album}"))
    add(network_query(fold(artist_title)))
    add(acronym_query(artist_title))
    if not track.artist:
        add(network_query(title))
    return forms


