"""Text folding: the vocabulary the matcher compares in, and the keys of artist names and ISRCs.

* **Folding** (:func:`fold`, :func:`normalize_text`): case, accents, full-width
  forms, ligatures, ``ø``/``ß``/``æ``..., apostrophes, punctuation, ``&``/``+``/``'n'``
  -> ``and``, ``pt.`` -> ``part``, ``vol.``/``volume`` -> ``vol``, roman numerals
  and number words after ``part``/``vol``/``no``... -> digits. Accents are removed
  only from Latin and Greek letters; CJK, Cyrillic, Arabic, Hebrew and Indic text
  keeps its letters and marks, so it still matches itself and nothing else.
* **Artists** (:func:`normalize_artist`, :func:`artist_keys`, :func:`split_artists`)
  and **ISRCs** (:func:`normalize_isrc`).

Titles and albums are taken apart in :mod:`soulsync.core.titles`, their qualifiers
classified in :mod:`soulsync.core.version_tags`.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from anyascii import anyascii

# ----------------------------------------------------------------------------- folding

_SPECIAL_LETTERS = str.maketrans({
    "ø": "o", "đ": "d", "ð": "d", "ł": "l", "ŀ": "l", "ħ": "h", "ı": "i", "ŧ": "t",
    "æ": "ae", "œ": "oe", "þ": "th", "ĸ": "k", "ſ": "s", "ŋ": "n",
    "ё": "е",  # Russian writes ё as е half the time
})


_HAS_SPECIAL = re.compile("[" + "".join(chr(c) for c in _SPECIAL_LETTERS) + "]")
_MARKS_ON_LATIN_OR_GREEK = re.compile(
    "(?<=[\u0000-\u024f\u1e00-\u1eff\u0370-\u03ff\u1f00-\u1fff])"
    "[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")
"""Combining accents sitting on a Latin or Greek letter (after NFD)."""
_ANY_MARK = re.compile("[\u0300-\u036f]+")
"""The same for text that holds only Latin and Greek letters (cheaper, no look-behind)."""


def fold(text: str) -> str:
    """Case- and accent-fold ``text``, keeping punctuation and non-Latin scripts.

    NFKC first (full-width forms, ligatures, superscripts), then casefold
    (``ß`` -> ``ss``), a few letters NFKD cannot split (``ø``, ``ł``, ``æ``...),
    then combining marks are dropped where they sit on a Latin or Greek letter.
    Japanese voicing marks, Cyrillic ``й`` and Indic vowel signs survive.
    """
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKC", text).casefold()
    if _HAS_SPECIAL.search(text):
        text = text.translate(_SPECIAL_LETTERS)
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFD", text)
    marks = _ANY_MARK if max(text) < "\u0400" else _MARKS_ON_LATIN_OR_GREEK
    return unicodedata.normalize("NFC", marks.sub("", decomposed))


def _build_punctuation_table() -> dict[int, str]:
    """Every punctuation, symbol, separator and control character -> a space.

    Apostrophes vanish (``don't`` -> ``dont``); ``&`` and ``+`` become ``and``.
    Built once for the Basic Multilingual Plane and plane 1 (emoji, musical
    symbols); planes 2 and up hold CJK ideographs, which are letters.
    """
    table: dict[int, str] = {}
    for cp in range(0x20000):
        if 0xD800 <= cp < 0xE000:
            continue
        cat = unicodedata.category(chr(cp))
        if cat[0] in "PSZ" or cat in ("Cc", "Cf"):
            table[cp] = " "
    for ch in "'`´’‘ʼ′＇":
        table[ord(ch)] = ""
    table[ord("&")] = " and "
    table[ord("+")] = " and "
    table[ord("＆")] = " and "
    return table


_PUNCT = _build_punctuation_table()

_NUMBER_WORDS = {
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
    "first": "1", "second": "2", "third": "3", "fourth": "4", "fifth": "5",
}
"""Number words after a counted word (``Part Two``); cardinals are digits everywhere (see ``_CARDINALS``)."""
_CARDINALS = {
    # English
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
    "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14",
    "fifteen": "15", "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19", "twenty": "20",
    "hundred": "100",
    # Spanish, Portuguese, Italian, French, German (articles such as un/uno/ein/um are left alone)
    "dos": "2", "tres": "3", "cuatro": "4", "cinco": "5", "seis": "6", "siete": "7", "ocho": "8",
    "nueve": "9", "diez": "10", "dois": "2", "duas": "2", "quatro": "4", "sete": "7", "oito": "8",
    "nove": "9", "dez": "10", "tre": "3", "quattro": "4", "cinque": "5", "sette": "7", "dieci": "10",
    "deux": "2", "trois": "3", "quatre": "4", "cinq": "5", "sept": "7", "huit": "8", "neuf": "9",
    "dix": "10", "zwei": "2", "drei": "3", "vier": "4", "funf": "5", "sechs": "6", "sieben": "7",
    "acht": "8", "neun": "9", "zehn": "10",
}
"""Cardinal number words written as digits wherever they stand, so ``Song 2`` = ``Song Two`` and
``Cinco de Mayo`` = ``5 de Mayo``. Both sides are rewritten alike, so no pair of different words meets."""
_ROMAN = {
    "i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5", "vi": "6", "vii": "7", "viii": "8",
    "ix": "9", "x": "10", "xi": "11", "xii": "12", "xiii": "13", "xiv": "14", "xv": "15",
    "xvi": "16", "xvii": "17", "xviii": "18", "xix": "19", "xx": "20",
}
_TOKEN_REWRITE = {"pt": "part", "pts": "part", "parts": "part", "volume": "vol", "vols": "vol", "n": "and",
                  "nr": "no", "num": "no", "number": "no"}
_GLUED_COUNT = re.compile(r"^(part|pt|vol|chapter|act|book|no)(\d+)$|^(part|pt)(ii|iii|iv|vi|vii|viii|ix)$")
"""A counted word glued to its number: ``Part1``, ``Pt2``, ``Vol3``, ``PartII`` (glued roman numerals only
after ``part``/``pt`` and of two letters or more, so ``Nov``, ``Parti`` and ``Actix`` stay words)."""
_RANGE_JOINERS = frozenset({"and", "to", "through", "thru"})
_COUNTED = frozenset({"part", "vol", "chapter", "act", "book", "movement", "episode"})
"""Words after which a roman numeral or a number word is a number (``Part Two`` = ``Pt. II`` = ``part 2``)."""
_NUMBERED = frozenset({"no", "op"})
"""Words after which only a roman numeral is converted (``No One`` stays words)."""


def _rewrite_tokens(tokens: list[str]) -> list[str]:
    """Token-level synonyms: ``pt`` -> ``part``; numerals after counted words -> digits."""
    out: list[str] = []
    prev = ""
    counting = False
    """Inside a run of part numbers: ``Parts 1 & 2``, ``Pts. I-II``."""
    for raw in tokens:
        glued = _GLUED_COUNT.match(raw) if raw[-1].isalnum() and len(raw) > 2 else None
        pieces = tuple(g for g in glued.groups() if g) if glued else (raw,)
        for tok in pieces:
            tok = _TOKEN_REWRITE.get(tok, tok)
            if counting and tok in _RANGE_JOINERS:
                continue  # "part 1 and 2" -> "part 1 2", as "part 1-2" reads
            if prev in _COUNTED or (counting and (tok in _ROMAN or tok in _NUMBER_WORDS)):
                tok = _ROMAN.get(tok) or _NUMBER_WORDS.get(tok) or tok
            elif len(tok) > 1 and tok in _ROMAN and (prev in _NUMBERED or tok not in ("vi", "xi")):
                # ``Rocky II``, ``No. IV``; ``I``, ``V``, ``X``, ``Vi`` and ``Xi`` alone stay words
                tok = _ROMAN[tok]
            elif prev not in _NUMBERED:  # "No One" is not "No. 1"
                tok = _CARDINALS.get(tok, tok)
            if tok.isdigit() and tok[0] == "0":
                tok = tok.lstrip("0") or "0"
            counting = tok.isdigit() and (prev in _COUNTED or counting)
            out.append(tok)
            prev = tok
    return _join_initials(out)


def _join_initials(tokens: list[str]) -> list[str]:
    """Runs of two or more single letters become one word: ``U.S.A.`` = ``USA``, ``R E M`` = ``REM``."""
    if sum(1 for t in tokens if len(t) == 1 and t.isalpha()) < 2:
        return tokens
    out: list[str] = []
    run: list[str] = []
    for tok in tokens + [""]:
        if len(tok) == 1 and tok.isalpha() and tok.isascii():
            run.append(tok)
            continue
        if run:
            # "a g" and "i u" read as an article or a pronoun and a letter, not initials
            out.extend(["".join(run)] if len(run) > 2 or (len(run) == 2 and run[0] not in "ai") else run)
            run = []
        if tok:
            out.append(tok)
    return out


_REWRITE_TRIGGERS = (frozenset(_TOKEN_REWRITE) | _COUNTED | _NUMBERED | frozenset(_CARDINALS)
                     | frozenset(k for k in _ROMAN if len(k) > 1))
_MAY_NEED_REWRITE = re.compile(r"(?:^| )(?:0|[a-z] [a-z](?: |$)|(?:part|pt|vol|chapter|act|book|no)[0-9]|(?:part|pt)[ivx])")
"""Leading zeros, single letters in a row, glued part numbers: the other reasons to rewrite tokens."""


_ASCII_PUNCT = bytes(
    (c if chr(c).isalnum() or c in (9, 10, 13, 32) else 32) for c in range(256)
)
_ASCII_DELETE = b"'`"


_ANY_APOSTROPHE = re.compile("['’`´ʼ]")
_ELISION = re.compile(
    r"(?<![\w'’`´ʼ])['’`´ʼ](til|cause|cos|cuz|em|bout|round|fore|tis|twas)\b"
    r"|\b(\w{2,}?)in['’`´ʼ](?!\w)|\bol['’`´ʼ](?!\w)")
_ELIDED = {"til": "until", "cause": "because", "cos": "because", "cuz": "because", "em": "them",
           "bout": "about", "round": "around", "fore": "before", "tis": "it is", "twas": "it was"}


def _expand_elision(m: re.Match[str]) -> str:
    if m.group(1):
        return _ELIDED[m.group(1)]
    if m.group(2):
        return m.group(2) + "ing"
    return "old"


def _expand_elisions(folded: str) -> str:
    """Words shortened with an apostrophe, spelled out: ``Goin'`` -> ``going``, ``'til`` -> ``until``,
    ``'em`` -> ``them``, ``ol'`` -> ``old``. Without the apostrophe the word is left as written."""
    if folded.isascii():
        if "'" not in folded and "`" not in folded:
            return folded
    elif _ANY_APOSTROPHE.search(folded) is None:
        return folded
    return _ELISION.sub(_expand_elision, folded)


def _words(folded: str) -> str:
    """``normalize_text`` for text that is already folded."""
    folded = _expand_elisions(folded)
    if folded.isascii():
        if "&" in folded or "+" in folded:
            folded = folded.replace("&", " and ").replace("+", " and ")
        words = folded.encode().translate(_ASCII_PUNCT, _ASCII_DELETE).decode().split()
    else:
        words = folded.translate(_PUNCT).split()
    if not words:
        return ""
    if _REWRITE_TRIGGERS.isdisjoint(words):
        joined = " ".join(words)
        if not _MAY_NEED_REWRITE.search(joined):
            return joined
    return " ".join(_rewrite_tokens(words))


def normalize_text(text: str) -> str:
    """Folded words joined by single spaces: the comparable form of any name."""
    return _words(fold(text))


_NOT_LATIN_LETTER = re.compile(r"[^\W\d_\u0000-\u024f\u1e00-\u1eff]")
"""A letter of any script but Latin (Cyrillic, Greek, kana, kanji, Hangul, Arabic...)."""


def has_other_script(text: str) -> bool:
    """Whether ``text`` holds letters of a script other than Latin."""
    return not text.isascii() and _NOT_LATIN_LETTER.search(text) is not None


@lru_cache(maxsize=65536)
def transliterate(text: str) -> str:
    """``normalize_text`` of ``text`` written in Latin letters; ``""`` when it holds no other script.

    Uses the romanisation of each script that the ``anyascii`` tables give (a common scientific-style
    Russian, Hepburn-like kana, pinyin for Chinese characters, Korean syllable by syllable), so
    ``Группа крови`` gives ``gruppa krovi`` and ``사랑`` gives ``salang`` (Revised Romanization would
    write ``sarang``: near names in Latin letters are then compared by similarity). Simplified and traditional Chinese characters give the
    same pinyin. Kanji are read as Chinese, so a Japanese title in kanji rarely equals its Japanese
    romanisation: that is where :mod:`matching` lets album, length and track position decide.
    """
    if not has_other_script(text):
        return ""
    return normalize_text(anyascii(fold(text)))


def compact(text: str) -> str:
    """``normalize_text`` output without spaces: ``Jay-Z``, ``JAY Z`` and ``Jayz`` agree."""
    return text.replace(" ", "")


def _drop_leading_the(text: str) -> str:
    if text.startswith("the ") and len(text) > 4:
        return text[4:]
    return text


# ----------------------------------------------------------------------------- artists

_ARTIST_SPLIT = re.compile(
    r"\s*(?:,|;|/|\\|\s&\s|\s\+\s|\s(?:feat|ft)\.?\s|\sfeaturing\s|\swith\s|\sx\s|\s×\s|\svs\.?\s|\sand\s)\s*",
    re.IGNORECASE)
_ARTIST_SPLIT_STRONG = re.compile(
    r"\s*(?:;|/|\\|\s(?:feat|ft)\.?\s|\sfeaturing\s|\swith\s|\sx\s|\s×\s|\svs\.?\s)\s*", re.IGNORECASE)


_NOT_A_NAME = frozenset({"the", "and", "various", "va"})
"""Pieces of a split credit that are not names (``Beatles, The``)."""


def normalize_artist(name: str) -> str:
    """One artist name in comparable form: ``The Beatles`` / ``Beatles, The`` -> ``beatles``."""
    text = normalize_text(name)
    if text.endswith(" the"):
        text = text[:-4]
    return _drop_leading_the(text)


@lru_cache(maxsize=131072)
def artist_keys(name: str) -> tuple[str, ...]:
    """Compact keys an artist credit can be found under: the whole credit and each named part.

    ``"Calvin Harris & Dua Lipa"`` -> ``("calvinharrisandDualipa"..., "calvinharris", "dualipa")``
    (compact, lower case). Duos like ``Simon & Garfunkel`` keep their whole key too.
    """
    keys: list[str] = []
    whole = compact(normalize_artist(name))
    if whole:
        keys.append(whole)
    folded = fold(name)
    for splitter in (_ARTIST_SPLIT_STRONG, _ARTIST_SPLIT):
        for part in splitter.split(folded):
            key = compact(normalize_artist(part))
            if key and key not in keys and key not in _NOT_A_NAME:
                keys.append(key)
    if not keys:
        raw = "".join(name.split()).casefold()
        if raw:
            keys.append(raw)
    return tuple(keys)


def split_artists(name: str) -> list[str]:
    """The individual names in one credit string, as written: ``"A feat. B & C"`` -> ``[A, B, C]``."""
    return [p.strip() for p in _ARTIST_SPLIT.split(name)
            if p.strip() and normalize_artist(p) not in _NOT_A_NAME]


# ----------------------------------------------------------------------------- ISRC

_ISRC = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}\d{7}$")


def normalize_isrc(isrc: str | None) -> str | None:
    """Upper case without hyphens or spaces; ``None`` unless it is a well-formed ISRC."""
    if not isrc or not isinstance(isrc, str):
        return None
    if _ISRC.fullmatch(isrc):
        return isrc
    value = isrc.replace("-", "").replace(" ", "").strip().upper()
    return value if _ISRC.fullmatch(value) else None

