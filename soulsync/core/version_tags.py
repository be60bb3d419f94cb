"""Version tags: what a title's qualifier says about the recording.

A qualifier (:func:`classify_qualifier`) is either a *same-recording* tag (remaster,
mono, single version, explicit...), a *different-recording* tag (live, remix
and whose, acoustic, instrumental...), a featured-artist credit, noise to drop
(``[FLAC]``, ``(Official Video)``, ``(2011)``) or unknown text that stays part
of the title (``(I Can't Get No) Satisfaction``). :class:`VersionKind` names the
kinds; :class:`VersionTag` is one tag with its detail.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from functools import lru_cache

from soulsync.core.normalize import _ARTIST_SPLIT, normalize_text


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
