"""Text folding and version-tag parsing: the vocabulary the matcher compares in.

Two layers:

* **Folding** (:func:`fold`, :func:`normalize_text`): case, accents, full-width
  forms, ligatures, ``ø``/``ß``/``æ``..., apostrophes, punctuation, ``&``/``+``/``'n'``
  -> ``and``, ``pt.`` -> ``part``, ``vol.``/``volume`` -> ``vol``, roman numerals
  and number words after ``part``/``vol``/``no``... -> digits. Accents are removed
  only from Latin and Greek letters; CJK, Cyrillic, Arabic, Hebrew and Indic text
  keeps its letters and marks, so it still matches itself and nothing else.
* **Parsing** (:func:`parse_title`, :func:`parse_album`, :func:`artist_keys`):
  bracketed and `` - ``-separated qualifiers are classified into structured
  :class:`VersionTag` s. A qualifier is either a *same-recording* tag (remaster,
  mono, single version, explicit...), a *different-recording* tag (live, remix
  and whose, acoustic, instrumental...), a featured-artist credit, noise to drop
  (``[FLAC]``, ``(Official Video)``, ``(2011)``) or unknown text that stays part
  of the title (``(I Can't Get No) Satisfaction``).
"""
from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

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


# ----------------------------------------------------------------------------- version tags


class VersionKind(str, enum.Enum):
    """What a qualifier says about the recording."""

    # the same recording (mastering, packaging, censorship, placement)
    REMASTER = "remaster"
    MONO = "mono"
    STEREO = "stereo"
    SINGLE_VERSION = "single version"
    ALBUM_VERSION = "album version"
    EXPLICIT = "explicit"
    CLEAN = "clean"
    DELUXE = "deluxe"
    ORIGINAL = "original"
    SOUNDTRACK = "soundtrack"
    # a different recording, edit or arrangement
    LIVE = "live"
    REMIX = "remix"
    ACOUSTIC = "acoustic"
    INSTRUMENTAL = "instrumental"
    ACAPPELLA = "a cappella"
    DEMO = "demo"
    EDIT = "edit"
    EXTENDED = "extended"
    KARAOKE = "karaoke"
    COVER = "cover"
    SPEED = "sped up/slowed"
    RERECORDED = "re-recorded"
    ALTERNATE = "alternate"
    LANGUAGE = "language"
    PIECE = "reprise/interlude"

    @property
    def same_recording(self) -> bool:
        """True when a track with this tag is still the untagged recording."""
        return self in _SAME_RECORDING


_SAME_RECORDING = frozenset({
    VersionKind.REMASTER, VersionKind.MONO, VersionKind.STEREO, VersionKind.SINGLE_VERSION,
    VersionKind.ALBUM_VERSION, VersionKind.EXPLICIT, VersionKind.CLEAN, VersionKind.DELUXE,
    VersionKind.ORIGINAL, VersionKind.SOUNDTRACK,
})

_ALBUM_LEVEL_KINDS = frozenset({
    VersionKind.LIVE, VersionKind.ACOUSTIC, VersionKind.INSTRUMENTAL, VersionKind.KARAOKE,
    VersionKind.COVER, VersionKind.SPEED, VersionKind.RERECORDED, VersionKind.ACAPPELLA,
})
"""Kinds an album title passes on to its tracks (a live album's tracks are live).

Remix is not among them: remix EPs usually carry the original mix too, and remixed
tracks name their remixer in the title."""


@dataclass(frozen=True, slots=True)
class VersionTag:
    """One classified qualifier: its kind and, for remixes, live dates and languages, the detail."""

    kind: VersionKind
    detail: str = ""
    """Normalised remixer, venue/year or language; empty when the qualifier names none."""

    def __str__(self) -> str:
        return f"{self.detail} {self.kind.value}".strip() if self.detail else self.kind.value


@dataclass(frozen=True, slots=True)
class Qualifier:
    """What one bracketed or dash-separated qualifier turned out to be."""

    tags: tuple[VersionTag, ...] = ()
    features: tuple[str, ...] = ()
    """Featured artists, as written (not normalised)."""
    noise: bool = False
    """Format/bitrate/year/"official video" text that says nothing about the recording."""

    @property
    def unknown(self) -> bool:
        """Nothing recognised: the text belongs to the title."""
        return not (self.tags or self.features or self.noise)


_K = VersionKind
# Ordered: earlier rules consume their words before later, vaguer ones look.
# Each rule: (pattern over normalize_text output, kinds).
_RULES: tuple[tuple[re.Pattern[str], tuple[VersionKind, ...]], ...] = tuple(
    (re.compile(p), kinds) for p, kinds in (
        (r"\bkaraoke\b|\bin the style of\b.*|\boriginally (?:performed|by)\b.*|\b(?:as )?made famous by\b.*"
         r"|\bsing ?along\b", (_K.KARAOKE,)),
        (r"\b(?:sped|speed) up\b|\b(?:super )?slowed(?: down)?\b|\breverb(?:ed)?\b|\bnightcore\b|\bdaycore\b"
         r"|\b8d(?: audio)?\b|\bchopped(?: and screwed| not slopped)?\b|\bscrewed\b|\bpitched(?: up| down)?\b",
         (_K.SPEED,)),
        (r"\bre ?record(?:ed|ing)?\b|\bnew recording\b", (_K.RERECORDED,)),
        (r"\ba ?capp?ella\b|\bacapp?ella\b|\bvocals? only\b|\bvocal stem\b", (_K.ACAPPELLA,)),
        (r"\binstrumental\b|\binst\b|\bbacking track\b|\boff vocal\b|\bminus one\b|\bno vocals?\b",
         (_K.INSTRUMENTAL,)),
        (r"\bunplugged\b", (_K.ACOUSTIC, _K.LIVE)),
        (r"\bacoustic\b|\bstripped(?: back| down)?\b", (_K.ACOUSTIC,)),
        (r"\blive\b|\bin concert\b|\ben (?:vivo|directo|concierto)\b|\bao vivo\b|\bdal vivo\b"
         r"|\brecorded (?:at|in|for)\b", (_K.LIVE,)),
        (r"\bdemo\b|\brough mix\b|\bearly version\b|\bwork ?tape\b|\bhome recording\b", (_K.DEMO,)),
        (r"\b(?:album|lp) (?:version|mix|edit)\b", (_K.ALBUM_VERSION,)),
        (r"\bsingle (?:version|mix|edit)\b|\b7 (?:inch )?(?:version|mix|edit)\b|\b45 version\b",
         (_K.SINGLE_VERSION,)),
        (r"\boriginal(?: (?:mix|version|recording|edit|club mix))?\b|\bmain version\b|\bfull version\b",
         (_K.ORIGINAL,)),
        (r"\bextended(?: (?:mix|version|edit|remix))?\b|\b12 (?:inch )?(?:version|mix)\b|\blong version\b"
         r"|\bclub (?:version|edit)\b", (_K.EXTENDED,)),
        (r"\bmono(?: (?:mix|version))?\b", (_K.MONO,)),
        (r"\bstereo(?: (?:mix|version))?\b", (_K.STEREO,)),
        (r"\bre ?edit\b|\bremix(?:ed)?\b|\brmx\b|\brework(?:ed)?\b|\bvip\b|\bbootleg\b|\bflip\b|\bmash ?up\b"
         r"|\bdub\b|\bremode\b|\bmix\b", (_K.REMIX,)),
        (r"\bradio (?:edit|version|mix|cut)\b|\bshort (?:version|edit)\b|\btv (?:size|edit|version)\b"
         r"|\bvideo (?:edit|version)\b|\bedit\b|\bedited\b", (_K.EDIT,)),
        (r"\b(?:digital(?:ly)? )?re ?master(?:ed)?\b|\bremaster(?:ed)?\b", (_K.REMASTER,)),
        (r"\bexplicit\b|\bdirty\b|\buncensored\b", (_K.EXPLICIT,)),
        (r"\bclean\b|\bcensored\b", (_K.CLEAN,)),
        (r"\bdeluxe\b|\bexpanded\b|\banniversary\b|\b(?:special|limited|collectors|bonus) edition\b"
         r"|\bbonus(?: track)?\b|\bhidden track\b", (_K.DELUXE,)),
        (r"\bcover(?:ed)?\b|\btribute\b", (_K.COVER,)),
        (r"\balternat(?:e|ive)(?: (?:take|version|mix))?\b|\balt (?:take|version)\b|\btake \d+\b|\bouttake\b"
         r"|\brehearsal\b|\bsessions?\b|\borchestral\b|\bsymphonic\b|\bpiano version\b|\bstrings? version\b"
         r"|\bunreleased version\b|\bfirst take\b|\bjam\b|\blo ?fi\b|\bbass boost(?:ed)?\b", (_K.ALTERNATE,)),
        (r"\b(?:english|spanish|french|german|italian|portuguese|japanese|korean|chinese|mandarin|cantonese"
         r"|russian|swedish|dutch|hindi|arabic|turkish|polish|greek|catalan|espanol|castellano|ingles)"
         r"(?: language)? version\b|\bversion (?:en )?(?:espanol|ingles|francais|english)\b|\ben espanol\b",
         (_K.LANGUAGE,)),
        (r"\breprise\b|\binterlude\b|\bintro\b|\boutro\b|\bskit\b", (_K.PIECE,)),
        (r"\bsingle\b", (_K.SINGLE_VERSION,)),
    )
)

_FEAT_HEAD = re.compile(r"^(?:feat|ft|featuring|with|w|starring|duet with)\b\s*(.*)$")
_FEAT_INNER = re.compile(r"\s(?:feat\.?|ft\.?|featuring)\s+(.*)$")
_PROD = re.compile(r"^(?:prod|produced|prod by|produced by)\b")
_SOUNDTRACK = re.compile(
    r"^(?:from|taken from|theme from|as heard (?:in|on)|music from|as seen on)\b|\b(?:love |main )?theme from\b"
    r"|\b(?:soundtrack|ost|motion picture|original score|from the (?:film|movie|series|musical|game))\b")
_RERECORD_POSSESSIVE = re.compile(r"\w['’`´]s version\b")

_FILLER = frozenset({
    "version", "mix", "edit", "the", "a", "an", "by", "from", "at", "in", "on", "of", "and", "track",
    "recorded", "recording", "remastered", "remaster", "vs", "x", "official", "s", "edition", "to",
})
_NOISE = re.compile(
    r"\b(?:official|music|video|audio|lyrics?|lyric video|visuali[sz]er|hq|hd|4k|1080p|720p|mv|pv|m v"
    r"|flac|mp3|aac|m4a|ogg|opus|wav|alac|aiff|lossless|kbps|kbit|kbs|k|cbr|vbr|v0|v2|320|256|192|128"
    r"|\d+ ?bit|\d+ ?khz|\d+ ?kbps|\d+k|24|16|bit|khz|44|48|88|96|192|web|webrip|cd|cdq|cdrip|vinyl|rip|hi ?res|hires"
    r"|mqa|free download|out now|full album|premiere|clip|explicit content|www \S+|com|net|org)\b")
_YEAR = re.compile(r"^(?:19|20)\d\d$")


def _split_features(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in _ARTIST_SPLIT.split(text) if p.strip())


@lru_cache(maxsize=32768)
def classify_qualifier(text: str) -> Qualifier:
    """Classify the inside of one bracket or one dash-separated tail.

    ``text`` is folded (:func:`fold`) but keeps its punctuation. Returns the
    version tags, featured artists or noise it holds; an unknown qualifier has
    none of them and belongs to the title.
    """
    features: tuple[str, ...] = ()
    head = text.strip()
    feat_at_head = _FEAT_HEAD.match(normalize_text(head))
    if feat_at_head:
        # re-split on the raw text so names keep their spelling
        raw = re.sub(r"^\s*(?:featuring|feat\.?|ft\.?|with|w/|starring|duet with)\s*", "", head, flags=re.I)
        return Qualifier(features=_split_features(raw) or (raw,))
    inner = _FEAT_INNER.search(head)
    if inner:
        features = _split_features(inner.group(1))
        head = head[:inner.start()]
    norm = normalize_text(head)
    if not norm:
        return Qualifier(features=features, noise=not features)
    if _PROD.match(norm):
        return Qualifier(features=features, noise=True)
    tags: list[VersionTag] = []
    if _SOUNDTRACK.search(norm):
        return Qualifier(tags=(VersionTag(_K.SOUNDTRACK),), features=features)
    rest = norm
    found: list[VersionKind] = []
    if _RERECORD_POSSESSIVE.search(head):
        found.append(_K.RERECORDED)
        rest = re.sub(r"\b\w+s version\b", " ", rest)
    for pattern, kinds in _RULES:
        if pattern.search(rest):
            rest = pattern.sub(" ", rest)
            found.extend(k for k in kinds if k not in found)
    leftover = [w for w in rest.split() if w not in _FILLER]
    if not found and "version" in rest.split() and leftover:
        # "(Jazz Version)", "(TikTok Version)", "(2015 Version)": some other version of the song
        found.append(_K.ALTERNATE)
    if not found:
        if all(_NOISE.fullmatch(w) or w.isdigit() for w in leftover) or not _NOISE.sub(" ", " ".join(leftover)).strip():
            return Qualifier(features=features, noise=True)
        return Qualifier(features=features)
    detail = " ".join(w for w in leftover if not _NOISE.fullmatch(w) or _YEAR.match(w))
    for kind in found:
        tags.append(VersionTag(kind, _detail_for(kind, detail, norm)))
    return Qualifier(tags=tuple(tags), features=features)


_LANGUAGE = re.compile(
    r"english|spanish|french|german|italian|portuguese|japanese|korean|chinese|mandarin|cantonese|russian"
    r"|swedish|dutch|hindi|arabic|turkish|polish|greek|catalan|espanol|castellano|ingles|francais")


def _detail_for(kind: VersionKind, leftover: str, norm: str) -> str:
    """The part of a qualifier that distinguishes two recordings of the same kind."""
    if kind is _K.LANGUAGE:
        lang = _LANGUAGE.search(norm)
        return {"espanol": "spanish", "castellano": "spanish", "ingles": "english",
                "francais": "french"}.get(lang.group(0), lang.group(0)) if lang else ""
    if kind in (_K.REMIX, _K.LIVE):
        return leftover
    return ""


# ----------------------------------------------------------------------------- titles

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


def _drop_leading_the(text: str) -> str:
    if text.startswith("the ") and len(text) > 4:
        return text[4:]
    return text


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

