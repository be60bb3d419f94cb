"""Audio quality: file formats, the user's quality order, and a sortable quality key.

The user states an ordered preference such as ``["flac", "mp3_320", "mp3_v0",
"other"]``. Each file is put into the first tier it satisfies; a lower tier
index is better. Within a tier, higher bit depth, sample rate and bitrate win.
"""
from __future__ import annotations

from dataclasses import dataclass, field

AUDIO_EXTENSIONS = frozenset({
    "flac", "mp3", "ogg", "oga", "opus", "m4a", "aac", "mp4", "alac", "wav", "aiff", "aif",
    "ape", "wv", "wma", "dsf", "dff",
})
LOSSLESS_EXTENSIONS = frozenset({"flac", "alac", "wav", "aiff", "aif", "ape", "wv", "dsf", "dff"})

FORMAT_FAMILIES = {
    "flac": "FLAC",
    "mp3": "MP3",
    "ogg": "OGG", "oga": "OGG", "opus": "OGG",
    "m4a": "AAC/M4A", "aac": "AAC/M4A", "mp4": "AAC/M4A", "alac": "AAC/M4A",
    "wav": "WAV", "aiff": "WAV", "aif": "WAV",
}
"""Filter families shown in the UI; anything else is ``Other``."""

TIER_LABELS = {
    "flac": "FLAC",
    "lossless": "Any lossless",
    "mp3_320": "MP3 320",
    "mp3_v0": "MP3 V0 (VBR ~245)",
    "mp3_256": "MP3 256+",
    "aac": "AAC/M4A 256+",
    "ogg": "OGG/Opus",
    "mp3_192": "MP3 192+",
    "other": "Anything else",
}

DEFAULT_QUALITY_ORDER = ["flac", "mp3_320", "mp3_v0", "other"]


def extension_of(filename: str, announced: str | None = None) -> str:
    """The lower-case extension without the dot; peers often send ``""``, so the name decides."""
    if announced:
        ext = announced.lower().lstrip(".")
        if ext:
            return ext
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    if "." not in name:
        return ""
    return name.rsplit(".", 1)[-1].lower().strip()


def is_audio(ext: str) -> bool:
    return ext.lower() in AUDIO_EXTENSIONS


def is_lossless(ext: str) -> bool:
    return ext.lower() in LOSSLESS_EXTENSIONS


def format_family(ext: str) -> str:
    return FORMAT_FAMILIES.get(ext.lower(), "Other")


@dataclass(slots=True)
class QualityPrefs:
    """The user's download quality preferences."""

    order: list[str] = field(default_factory=lambda: list(DEFAULT_QUALITY_ORDER))
    min_bitrate: int = 0
    """kbps; lossy files announced below this are unacceptable (lossless always passes)."""
    lossless_only: bool = False
    prefer_clean: bool = False
    """Prefer clean (censored) versions; otherwise a clean file comes after explicit or unmarked ones."""

    def acceptable(self, ext: str, bitrate: int | None) -> bool:
        """Whether a file of this format and bitrate may be downloaded at all."""
        ext = ext.lower()
        if not is_audio(ext):
            return False
        if is_lossless(ext):
            return True
        if self.lossless_only:
            return False
        if self.min_bitrate and bitrate is not None and bitrate < self.min_bitrate:
            return False
        return True


def _in_tier(tier: str, ext: str, bitrate: int | None, vbr: bool | None) -> bool:
    br = bitrate or 0
    if tier == "flac":
        return ext == "flac"
    if tier == "lossless":
        return is_lossless(ext)
    if tier == "mp3_320":
        return ext == "mp3" and br >= 315 and not vbr
    if tier == "mp3_v0":
        return ext == "mp3" and (vbr is True and br >= 220 or br >= 315)
    if tier == "mp3_256":
        return ext == "mp3" and br >= 256
    if tier == "aac":
        return format_family(ext) == "AAC/M4A" and br >= 256
    if tier == "ogg":
        return format_family(ext) == "OGG"
    if tier == "mp3_192":
        return ext == "mp3" and br >= 192
    if tier == "other":
        return is_audio(ext)
    return False


def quality_tier(ext: str, bitrate: int | None, vbr: bool | None, order: list[str]) -> int:
    """Index of the first tier in ``order`` this file satisfies; ``len(order)`` if none."""
    ext = ext.lower()
    for i, tier in enumerate(order):
        if _in_tier(tier, ext, bitrate, vbr):
            return i
    return len(order)


def quality_key(
    ext: str,
    bitrate: int | None = None,
    bit_depth: int | None = None,
    sample_rate: int | None = None,
    vbr: bool | None = None,
    order: list[str] | None = None,
) -> tuple:
    """A key that sorts best quality first (ascending)."""
    tier = quality_tier(ext, bitrate, vbr, order or DEFAULT_QUALITY_ORDER)
    lossless = is_lossless(ext)
    return (
        tier,
        0 if lossless else 1,
        -(bit_depth or (16 if lossless else 0)),
        -(sample_rate or 0),
        -(bitrate or 0),
    )


def quality_label(ext: str, bitrate: int | None = None, bit_depth: int | None = None,
                  sample_rate: int | None = None, vbr: bool | None = None) -> str:
    """Short human label, e.g. ``FLAC 24/96``, ``MP3 320``, ``MP3 V0``."""
    ext_u = ext.upper() or "?"
    if is_lossless(ext):
        if bit_depth and sample_rate:
            return f"{ext_u} {bit_depth}/{sample_rate / 1000:g}"
        return ext_u
    if bitrate:
        return f"{ext_u} {'VBR ' if vbr else ''}{bitrate}"
    return ext_u
