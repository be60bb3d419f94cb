"""Tags and cover art in real FLAC, MP3, Ogg Vorbis, Ogg Opus, M4A, WAV and AIFF files; audio verification."""
from __future__ import annotations

import base64
import random
import tempfile
from pathlib import Path

import mutagen
import numpy as np
import pytest
import soundfile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mutagen.flac import Picture

from soulsync.core import tagging
from soulsync.core.audio_errors import AudioVerifyError
from soulsync.core.audiofile import verify_audio
from soulsync.core.models import Track
from soulsync.core.organize import is_temp_file
from soulsync.core.tagging import TaggingError, read_cover, read_tags, write_tags
from tests.audio_fixtures import FORMATS, available_formats, jpeg_bytes, m4a_available, make_audio

needs_m4a = pytest.mark.skipif(not m4a_available(), reason="M4A generation needs PyAV (pip install av)")
ALL_FORMATS = [pytest.param(f, marks=needs_m4a) if f == "m4a" else f for f in FORMATS]

TRACK = Track(
    title="Harder, Better, Faster, Stronger",
    artists=["Daft Punk", "Guest Ünïcødé"],
    album="Discovery",
    duration_ms=1000,
    isrc="GBDUW0000059",
    album_artist="Daft Punk",
    track_number=4,
    disc_number=1,
    track_total=14,
    disc_total=2,
    year=2001,
    genre="Electronic",
    spotify_id="5W3cjX2J3tjhG8zb6u0qHn",
    spotify_album_id="2noRn2Aes5aoNVsU6iWThc",
    spotify_artist_ids=["4tZwfgrHOc3mvqYlEYSvVi", "0abcdEFGhij"],
)
COVER = jpeg_bytes(16, 16, seed=1)
RELEASE = "2001-03-12"
ID3_SUFFIXES = (".mp3", ".wav", ".aiff")
"""Formats whose tags are ID3v2.4 (MP3 in front of the audio, WAV/AIFF in a chunk)."""
LOSSLESS = ("flac", "wav", "aiff")


@pytest.fixture(params=ALL_FORMATS)
def audio(request, tmp_path) -> Path:
    return make_audio(tmp_path / f"song.{request.param}", seconds=1)


def raw_fields(path: Path) -> dict[str, list[str]]:
    """Tags as mutagen itself reports them, normalised to our neutral names."""
    f = mutagen.File(path)
    tags = f.tags
    if path.suffix in ID3_SUFFIXES:
        out = {fid: [str(t) for t in tags[fid].text] for fid in
               ("TIT2", "TPE1", "TPE2", "TALB", "TRCK", "TPOS", "TDRC", "TCON", "TSRC") if fid in tags}
        for frame in tags.getall("TXXX"):
            out[f"TXXX:{frame.desc}"] = list(frame.text)
        return out
    if path.suffix == ".m4a":
        out = {k: list(v) for k, v in tags.items() if k != "covr"}
        for key, values in list(out.items()):
            if key.startswith("----:"):
                out[key] = [bytes(v).decode("utf-8") for v in values]
        return out
    return {k.upper(): list(v) for k, v in tags.as_dict().items()}


def test_tags_read_back_with_mutagen_equal_the_metadata(audio):
    write_tags(audio, TRACK, cover=COVER, release_date=RELEASE)
    fields = raw_fields(audio)
    ext = audio.suffix[1:]
    if audio.suffix in ID3_SUFFIXES:
        assert mutagen.File(audio).tags.version[:2] == (2, 4)
        assert fields["TIT2"] == [TRACK.title]
        assert fields["TPE1"] == ["Daft Punk, Guest Ünïcødé"]
        assert fields["TXXX:ARTISTS"] == TRACK.artists
        assert fields["TPE2"] == ["Daft Punk"]
        assert fields["TALB"] == ["Discovery"]
        assert fields["TRCK"] == ["4/14"] and fields["TPOS"] == ["1/2"]
        assert fields["TDRC"] == [RELEASE]
        assert fields["TCON"] == ["Electronic"] and fields["TSRC"] == [TRACK.isrc]
        assert fields["TXXX:SPOTIFY_TRACK_ID"] == [TRACK.spotify_id]
        assert fields["TXXX:SPOTIFY_ALBUM_ID"] == [TRACK.spotify_album_id]
        assert fields["TXXX:SPOTIFY_ARTIST_ID"] == TRACK.spotify_artist_ids
        assert "TXXX:ISRC" not in fields
    elif ext == "m4a":
        assert fields["\xa9nam"] == [TRACK.title]
        assert fields["\xa9ART"] == ["Daft Punk, Guest Ünïcødé"]
        assert fields["----:com.apple.iTunes:ARTISTS"] == TRACK.artists
        assert fields["aART"] == ["Daft Punk"] and fields["\xa9alb"] == ["Discovery"]
        assert fields["trkn"] == [(4, 14)] and fields["disk"] == [(1, 2)]
        assert fields["\xa9day"] == [RELEASE] and fields["\xa9gen"] == ["Electronic"]
        assert fields["----:com.apple.iTunes:ISRC"] == [TRACK.isrc]
        assert fields["----:com.apple.iTunes:SPOTIFY_TRACK_ID"] == [TRACK.spotify_id]
        assert fields["----:com.apple.iTunes:SPOTIFY_ALBUM_ID"] == [TRACK.spotify_album_id]
        assert fields["----:com.apple.iTunes:SPOTIFY_ARTIST_ID"] == TRACK.spotify_artist_ids
    else:
        assert fields["TITLE"] == [TRACK.title]
        assert fields["ARTIST"] == ["Daft Punk, Guest Ünïcødé"]
        assert fields["ARTISTS"] == TRACK.artists
        assert fields["ALBUMARTIST"] == ["Daft Punk"] and fields["ALBUM"] == ["Discovery"]
        assert fields["TRACKNUMBER"] == ["4"] and fields["TRACKTOTAL"] == ["14"]
        assert fields["DISCNUMBER"] == ["1"] and fields["DISCTOTAL"] == ["2"]
        assert fields["DATE"] == [RELEASE] and fields["GENRE"] == ["Electronic"]
        assert fields["ISRC"] == [TRACK.isrc]
        assert fields["SPOTIFY_TRACK_ID"] == [TRACK.spotify_id]
        assert fields["SPOTIFY_ALBUM_ID"] == [TRACK.spotify_album_id]
        assert fields["SPOTIFY_ARTIST_ID"] == TRACK.spotify_artist_ids


def test_cover_embedded_in_the_format_s_own_way(audio):
    write_tags(audio, TRACK, cover=COVER)
    f = mutagen.File(audio)
    ext = audio.suffix[1:]
    if ext == "flac":
        assert [(p.type, p.mime, p.data) for p in f.pictures] == [(3, "image/jpeg", COVER)]
    elif ext in ("ogg", "opus"):
        (block,) = f.tags["METADATA_BLOCK_PICTURE"]
        pic = Picture(base64.b64decode(block))
        assert (pic.type, pic.mime, pic.data) == (3, "image/jpeg", COVER)
    elif audio.suffix in ID3_SUFFIXES:
        (apic,) = f.tags.getall("APIC")
        assert (apic.type, apic.mime, apic.data) == (3, "image/jpeg", COVER)
    else:
        (covr,) = f.tags["covr"]
        assert bytes(covr) == COVER and covr.imageformat == covr.FORMAT_JPEG
    assert read_cover(audio) == COVER


def test_read_tags_round_trip(audio):
    write_tags(audio, TRACK, cover=COVER, release_date=RELEASE)
    back = read_tags(audio)
    for name in ("title", "artists", "album", "isrc", "album_artist", "track_number", "disc_number",
                 "track_total", "disc_total", "year", "genre", "spotify_id", "spotify_album_id",
                 "spotify_artist_ids"):
        assert getattr(back, name) == getattr(TRACK, name), name
    assert back.path == str(audio)
    assert abs(back.duration_ms - 1000) < 60


def test_tagging_keeps_the_audio_intact(audio):
    before = verify_audio(audio)
    write_tags(audio, TRACK, cover=COVER)
    after = verify_audio(audio)
    assert (after.format, after.duration_ms, after.sample_rate) == (before.format, before.duration_ms,
                                                                    before.sample_rate)


def test_rewriting_removes_stale_values_and_keeps_cover(audio):
    write_tags(audio, TRACK, cover=COVER, release_date=RELEASE)
    plain = Track(title="Other", artists=["Solo"], album="", year=1999)
    write_tags(audio, plain)
    back = read_tags(audio)
    assert back.title == "Other" and back.artists == ["Solo"]
    assert (back.album, back.isrc, back.track_number, back.track_total, back.disc_total) == ("", None, None, None,
                                                                                              None)
    assert back.year == 1999  # the release date no longer applies: the year is written instead
    assert back.spotify_id is None and back.spotify_artist_ids == []
    assert read_cover(audio) == COVER  # no new cover given: the old one stays
    new_cover = jpeg_bytes(8, 8, seed=9)
    write_tags(audio, plain, cover=new_cover)
    assert read_cover(audio) == new_cover


def test_png_cover_and_refused_non_image(tmp_path):
    path = make_audio(tmp_path / "a.flac")
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    write_tags(path, TRACK, cover=png)
    assert mutagen.File(path).pictures[0].mime == "image/png"
    before = path.read_bytes()
    with pytest.raises(TaggingError, match="neither a JPEG nor a PNG"):
        write_tags(path, TRACK, cover=b"<html>not an image</html>")
    assert path.read_bytes() == before


@pytest.mark.parametrize(("fmt", "opener"), [("flac", "FLAC"), ("wav", "WAVE"), ("aiff", "AIFF")])
def test_failed_write_leaves_the_original_untouched(tmp_path, monkeypatch, fmt, opener):
    path = make_audio(tmp_path / f"a.{fmt}")
    write_tags(path, TRACK)
    before = path.read_bytes()

    def crash(self, *args, **kwargs):
        with open(self.filename, "r+b") as fh:  # damage the working copy half-way, as a crash would
            fh.seek(100)
            fh.write(b"\x00" * 200)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(getattr(tagging, opener), "save", crash)
    with pytest.raises(TaggingError, match="No space left"):
        write_tags(path, Track(title="New", artists=["X"]), cover=COVER)
    assert path.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if is_temp_file(p)]


def test_corrupt_file_fails_cleanly(tmp_path):
    path = tmp_path / "fake.flac"
    path.write_bytes(b"fLaC" + bytes(range(256)) * 4)
    with pytest.raises(TaggingError) as info:
        write_tags(path, TRACK)
    assert info.value.reason and "fake.flac" in str(info.value)
    with pytest.raises(TaggingError):
        read_tags(path)
    assert path.read_bytes()[:4] == b"fLaC"


def test_read_tags_tolerates_odd_values(tmp_path):
    path = make_audio(tmp_path / "odd.flac")
    f = mutagen.File(path)
    f.tags["TITLE"] = ["x" * 5000]
    f.tags["TRACKNUMBER"] = ["three"]
    f.tags["DISCNUMBER"] = ["2/x"]
    f.tags["TOTALTRACKS"] = ["11"]
    f.tags["DATE"] = ["sometime in 1999?"]
    f.tags["ARTIST"] = ["A", "", "B\x00"]
    f.save()
    back = read_tags(path)
    assert len(back.title) == tagging.MAX_TAG_CHARS
    assert back.track_number is None and back.track_total == 11
    assert back.disc_number == 2 and back.disc_total is None
    assert back.year is None
    assert back.artists == ["A", "B"]


def test_read_tags_of_untagged_file(tmp_path):
    back = read_tags(make_audio(tmp_path / "bare.mp3"))
    assert (back.title, back.artists, back.album) == ("", [], "")
    assert read_cover(tmp_path / "bare.mp3") is None


# ---------------------------------------------------------------------------
# Verification


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_verify_describes_real_files(tmp_path, fmt):
    path = make_audio(tmp_path / f"x.{fmt}", seconds=2)
    info = verify_audio(path, expected_duration_ms=2000, expected_size=path.stat().st_size)
    assert info.format == fmt
    assert abs(info.duration_ms - 2000) < 60
    assert info.size == path.stat().st_size
    assert info.bitrate > 0 and info.channels == 2
    assert info.lossless is (fmt in LOSSLESS)
    assert (info.bit_depth == 16) is (fmt in LOSSLESS)
    assert info.sample_rate == (48000 if fmt == "opus" else 44100)


def test_format_comes_from_content_not_name(tmp_path):
    path = make_audio(tmp_path / "x.flac")
    disguised = path.rename(tmp_path / "x.mp3")
    assert verify_audio(disguised).format == "flac"


@pytest.mark.parametrize("fmt", ALL_FORMATS)
@pytest.mark.parametrize("fraction", [0.999, 0.9, 0.5, 0.1])
def test_truncated_files_are_refused(tmp_path, fmt, fraction):
    whole = make_audio(tmp_path / f"whole.{fmt}", seconds=2).read_bytes()
    cut = tmp_path / f"cut.{fmt}"
    cut.write_bytes(whole[: int(len(whole) * fraction)])
    with pytest.raises(AudioVerifyError) as info:
        verify_audio(cut)
    assert info.value.reason


@pytest.mark.parametrize("fmt", available_formats())
def test_any_truncation_is_detected(tmp_path, fmt):
    whole = make_audio(tmp_path / f"whole.{fmt}", seconds=2).read_bytes()
    cut = tmp_path / f"cut.{fmt}"
    rng = random.Random(fmt)
    for length in sorted(rng.sample(range(1, len(whole)), 60)):
        cut.write_bytes(whole[:length])
        with pytest.raises(AudioVerifyError):
            verify_audio(cut)


def test_verify_reasons(tmp_path):
    path = make_audio(tmp_path / "a.flac", seconds=2)
    size = path.stat().st_size
    with pytest.raises(AudioVerifyError, match="download incomplete"):
        verify_audio(path, expected_size=size + 10)
    with pytest.raises(AudioVerifyError, match="but 3:30 was expected"):
        verify_audio(path, expected_duration_ms=210_000)
    verify_audio(path, expected_duration_ms=5000)  # within the 5 s tolerance
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    with pytest.raises(AudioVerifyError, match="empty"):
        verify_audio(empty)
    with pytest.raises(AudioVerifyError, match="cannot be opened"):
        verify_audio(tmp_path / "missing.flac")
    text = tmp_path / "notes.flac"
    text.write_text("just some text, not audio\n" * 20)
    with pytest.raises(AudioVerifyError, match="not a recognised audio file"):
        verify_audio(text)
    adpcm = tmp_path / "a.wav"
    soundfile.write(adpcm, np.zeros(4410, dtype=np.float32), 44100, subtype="IMA_ADPCM")
    with pytest.raises(AudioVerifyError, match=r"unsupported audio format \(WAV holding IMA ADPCM audio"):
        verify_audio(adpcm)


def test_flac_with_trailing_id3v1_is_accepted(tmp_path):
    path = make_audio(tmp_path / "a.flac")
    with open(path, "ab") as fh:
        fh.write(b"TAG" + b"\x00" * 125)
    assert verify_audio(path).format == "flac"


_FUZZ_SEEDS: dict[str, bytes] = {}


def _seed_file(fmt: str) -> bytes:
    if fmt not in _FUZZ_SEEDS:
        with tempfile.TemporaryDirectory() as tmp:
            path = make_audio(Path(tmp) / f"seed.{fmt}", seconds=1)
            write_tags(path, TRACK, cover=COVER)
            _FUZZ_SEEDS[fmt] = path.read_bytes()
    return _FUZZ_SEEDS[fmt]


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fmt=st.sampled_from(available_formats()), data=st.data())
def test_damaged_files_never_crash_verify_or_tagging(tmp_path, fmt, data):
    """Hostile bytes: verify, read_tags and write_tags either work or raise their own error."""
    original = _seed_file(fmt)
    damaged = bytearray(original)
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(damaged) - 1))
        chunk = data.draw(st.binary(min_size=1, max_size=64))
        damaged[at:at + len(chunk)] = chunk
    if data.draw(st.booleans()):
        del damaged[data.draw(st.integers(0, len(damaged) - 1)):]
    path = tmp_path / f"fuzz.{fmt}"
    path.write_bytes(bytes(damaged))
    try:
        verify_audio(path)
    except AudioVerifyError as exc:
        assert exc.reason
    try:
        read_tags(path)
        read_cover(path)
    except TaggingError as exc:
        assert exc.reason
    before = path.read_bytes()
    try:
        write_tags(path, TRACK, cover=COVER)
    except TaggingError:
        assert path.read_bytes() == before  # a failed write changes nothing
