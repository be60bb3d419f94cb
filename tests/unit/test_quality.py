"""core/quality.py: formats, the acceptance rule, every quality tier of Settings and the sort key."""
from __future__ import annotations

import pytest

from soulsync.core.quality import (
    AUDIO_EXTENSIONS,
    DEFAULT_QUALITY_ORDER,
    LOSSLESS_EXTENSIONS,
    TIER_LABELS,
    QualityPrefs,
    extension_of,
    format_family,
    is_audio,
    is_lossless,
    quality_key,
    quality_label,
    quality_tier,
)

# ---------------------------------------------------------------------------- formats


@pytest.mark.parametrize("filename, announced, expected", [
    ("@@peer\\Music\\01 - Song.FLAC", None, "flac"),
    ("@@peer\\Music\\01 - Song.FLAC", "", "flac"),
    ("@@peer\\Music\\01 - Song.flac", ".MP3", "mp3"),
    ("@@peer\\Music\\01 - Song.flac", ".", "flac"),
    ("folder.v2/Song", None, ""),
    ("a\\b.c\\Song", None, ""),
    ("Song.mp3 ", None, "mp3"),
    ("Song.tar.Ogg", None, "ogg"),
])
def test_extension_of_prefers_the_announced_extension_then_the_file_name(filename, announced, expected):
    assert extension_of(filename, announced) == expected


def test_audio_and_lossless_extensions():
    assert LOSSLESS_EXTENSIONS < AUDIO_EXTENSIONS
    for ext in ("FLAC", "Wav", "aif", "ape", "wv", "dsf", "dff", "alac", "aiff"):
        assert is_audio(ext) and is_lossless(ext), ext
    for ext in ("mp3", "OGG", "opus", "m4a", "aac", "mp4", "wma", "oga"):
        assert is_audio(ext) and not is_lossless(ext), ext
    for ext in ("txt", "jpg", "cue", "", "flac2"):
        assert not is_audio(ext) and not is_lossless(ext), ext


@pytest.mark.parametrize("ext, family", [
    ("flac", "FLAC"), ("MP3", "MP3"), ("ogg", "OGG"), ("oga", "OGG"), ("opus", "OGG"),
    ("m4a", "AAC/M4A"), ("aac", "AAC/M4A"), ("mp4", "AAC/M4A"), ("alac", "AAC/M4A"),
    ("wav", "WAV"), ("aiff", "WAV"), ("aif", "WAV"), ("ape", "Other"), ("wma", "Other"), ("", "Other"),
])
def test_format_family_groups_extensions_as_the_filter_does(ext, family):
    assert format_family(ext) == family


# ---------------------------------------------------------------------------- acceptance


def test_default_prefs_accept_any_audio_and_nothing_else():
    prefs = QualityPrefs()
    assert prefs.order == DEFAULT_QUALITY_ORDER and prefs.order is not DEFAULT_QUALITY_ORDER
    assert prefs.min_bitrate == 0 and prefs.lossless_only is False
    assert prefs.acceptable("MP3", 32) and prefs.acceptable("ogg", None) and prefs.acceptable("flac", None)
    assert not prefs.acceptable("jpg", 320) and not prefs.acceptable("", None)


def test_a_file_at_exactly_the_minimum_bitrate_is_accepted():
    prefs = QualityPrefs(min_bitrate=192)
    assert prefs.acceptable("mp3", 192), "exactly the minimum is enough"
    assert prefs.acceptable("MP3", 193)
    assert not prefs.acceptable("mp3", 191)
    assert not prefs.acceptable("ogg", 128)
    assert prefs.acceptable("mp3", None), "an unannounced bitrate is not refused for it"
    assert prefs.acceptable("flac", 100), "lossless always passes the minimum"


def test_lossless_only_refuses_every_lossy_file():
    prefs = QualityPrefs(lossless_only=True)
    assert prefs.acceptable("FLAC", None) and prefs.acceptable("wav", 1411)
    assert not prefs.acceptable("mp3", 320) and not prefs.acceptable("m4a", None)


# ---------------------------------------------------------------------------- tiers

ALL_TIERS = list(TIER_LABELS)


def tiers_of(ext: str, bitrate: int | None = None, vbr: bool | None = None) -> set[str]:
    """Every Settings tier this file satisfies on its own."""
    return {t for t in ALL_TIERS if quality_tier(ext, bitrate, vbr, [t]) == 0}


def test_settings_offers_nine_tiers():
    assert ALL_TIERS == ["flac", "lossless", "mp3_320", "mp3_v0", "mp3_256", "aac", "ogg", "mp3_192", "other"]


@pytest.mark.parametrize("ext, bitrate, vbr, expected", [
    ("flac", None, None, {"flac", "lossless", "other"}),
    ("FLAC", 900, None, {"flac", "lossless", "other"}),
    ("wav", None, None, {"lossless", "other"}),
    ("alac", None, None, {"lossless", "other"}),
    ("mp3", 320, False, {"mp3_320", "mp3_v0", "mp3_256", "mp3_192", "other"}),
    ("mp3", 315, None, {"mp3_320", "mp3_v0", "mp3_256", "mp3_192", "other"}),
    ("mp3", 314, None, {"mp3_256", "mp3_192", "other"}),
    ("mp3", 320, True, {"mp3_v0", "mp3_256", "mp3_192", "other"}),
    ("mp3", 245, True, {"mp3_v0", "mp3_192", "other"}),
    ("mp3", 220, True, {"mp3_v0", "mp3_192", "other"}),
    ("mp3", 219, True, {"mp3_192", "other"}),
    ("mp3", 245, None, {"mp3_192", "other"}),
    ("mp3", 245, False, {"mp3_192", "other"}),
    ("mp3", 256, None, {"mp3_256", "mp3_192", "other"}),
    ("mp3", 255, None, {"mp3_192", "other"}),
    ("mp3", 192, None, {"mp3_192", "other"}),
    ("mp3", 191, None, {"other"}),
    ("mp3", None, None, {"other"}),
    ("m4a", 256, None, {"aac", "other"}),
    ("aac", 320, None, {"aac", "other"}),
    ("mp4", 255, None, {"other"}),
    ("ogg", 96, None, {"ogg", "other"}),
    ("opus", None, None, {"ogg", "other"}),
    ("wma", 320, None, {"other"}),
    ("txt", 320, None, set()),
])
def test_each_tier_takes_exactly_the_files_it_names(ext, bitrate, vbr, expected):
    assert tiers_of(ext, bitrate, vbr) == expected


def test_the_first_tier_a_file_satisfies_is_its_rank():
    order = ["flac", "mp3_320", "mp3_v0", "other"]
    assert quality_tier("flac", None, None, order) == 0
    assert quality_tier("mp3", 320, False, order) == 1
    assert quality_tier("mp3", 245, True, order) == 2
    assert quality_tier("ogg", 160, None, order) == 3
    assert quality_tier("txt", 320, None, order) == 4, "a file in no tier ranks after all of them"
    assert quality_tier("wav", None, None, ["flac", "mp3_320"]) == 2
    assert quality_tier("flac", None, None, ["no such tier", "flac"]) == 1


# ---------------------------------------------------------------------------- sort key


def test_quality_key_orders_by_tier_then_lossless_then_depth_rate_and_bitrate():
    order = ["mp3_320", "other"]
    assert quality_key("mp3", 320, order=order) == (0, 1, 0, 0, -320)
    assert quality_key("flac", order=order) == (1, 0, -16, 0, 0)
    assert quality_key("flac", 1000, 24, 96000, order=order) == (1, 0, -24, -96000, -1000)
    assert quality_key("ogg", order=order) == (1, 1, 0, 0, 0)
    assert quality_key("mp3", 245, vbr=True) == (2, 1, 0, 0, -245), "no order given: the default order"
    assert quality_key("mp3", 245, vbr=True, order=[]) == quality_key("mp3", 245, vbr=True)
    ranked = sorted([("ogg", 500, None, None), ("flac", None, 16, 44100), ("flac", None, 24, 96000),
                     ("mp3", 320, None, None), ("wav", None, 16, 48000)],
                    key=lambda f: quality_key(f[0], f[1], f[2], f[3], order=["lossless", "other"]))
    assert ranked == [("flac", None, 24, 96000), ("wav", None, 16, 48000), ("flac", None, 16, 44100),
                      ("ogg", 500, None, None), ("mp3", 320, None, None)]


@pytest.mark.parametrize("args, label", [
    (("flac", 900, 24, 96000), "FLAC 24/96"),
    (("flac", 900, 16, 44100), "FLAC 16/44.1"),
    (("flac", 900, 16, None), "FLAC"),
    (("flac", 900, None, 44100), "FLAC"),
    (("mp3", 320), "MP3 320"),
    (("mp3", 245, None, None, True), "MP3 VBR 245"),
    (("mp3", None), "MP3"),
    (("ogg", 0), "OGG"),
    (("", None), "?"),
])
def test_quality_label(args, label):
    assert quality_label(*args) == label
