"""Synthesized peer files: exact announced sizes, real decodable audio of the announced length."""
from __future__ import annotations

import io

import av
import mutagen
import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from soulsync.core.audiofile import verify_audio
from soulsync.sim.audio import AudioSpec, ExtraSpec, FileFactory

TAGS = (("title", "Über die Nacht (feat. Zoë)"), ("artist", "Anaïs Kowalski"), ("album", "Göteborg Sessions"),
        ("tracknumber", "7"), ("date", "2015"))


def decode(path) -> tuple[np.ndarray, int]:
    """Samples (float, frames x channels) and rate, decoded by libsndfile or, for M4A, FFmpeg."""
    if path.suffix != ".m4a":
        return sf.read(path)
    with av.open(str(path)) as container:
        frames = [f.to_ndarray() for f in container.decode(audio=0)]
        rate = container.streams.audio[0].sample_rate
    return np.concatenate(frames, axis=1).T / 32768.0, rate


@pytest.fixture(scope="module")
def factory(tmp_path_factory):
    return FileFactory(tmp_path_factory.mktemp("synth"))


@pytest.mark.parametrize("spec", [
    AudioSpec("flac", 37, tags=TAGS, voice=3),
    AudioSpec("flac", 12, bit_depth=24, sample_rate=48000, voice=1),
    AudioSpec("mp3", 41, bitrate=320, tags=TAGS, voice=5),
    AudioSpec("mp3", 29, bitrate=128, voice=2),
    AudioSpec("mp3", 33, vbr_level=0, tags=TAGS, voice=7),
    AudioSpec("mp3", 3, vbr_level=2, channels=1, voice=9),
    AudioSpec("ogg", 23, channels=1, tags=TAGS, voice=4),
    AudioSpec("ogg", 19, voice=11),
    AudioSpec("wav", 6, voice=1),
    AudioSpec("m4a", 13, tags=TAGS, voice=8),
    AudioSpec("m4a", 2, channels=1, voice=3),
], ids=lambda s: f"{s.fmt}-{s.duration_s}s-{s.bitrate or s.vbr_level or s.bit_depth}")
def test_file_has_announced_size_and_duration(factory, spec):
    announced = factory.size(spec)
    path = factory.path(spec)
    assert path.stat().st_size == announced
    audio = mutagen.File(path)
    assert audio is not None
    assert audio.info.length == pytest.approx(spec.duration_s, abs=0.03)
    data, rate = decode(path)
    assert rate == spec.sample_rate
    assert len(data) / rate == pytest.approx(spec.duration_s, abs=0.06)
    assert 0.05 < np.abs(data).max() < 0.5, "audible, not clipping"
    if spec.fmt != "wav":
        info = verify_audio(path, spec.duration_s * 1000, announced)
        assert info.duration_ms == pytest.approx(spec.duration_s * 1000, abs=30)


def test_tags_are_written(factory):
    flac = mutagen.File(factory.path(AudioSpec("flac", 5, tags=TAGS)))
    assert flac["title"] == ["Über die Nacht (feat. Zoë)"] and flac["artist"] == ["Anaïs Kowalski"]
    mp3 = mutagen.File(factory.path(AudioSpec("mp3", 5, bitrate=192, tags=TAGS)))
    assert str(mp3.tags["TIT2"]) == "Über die Nacht (feat. Zoë)" and str(mp3.tags["TRCK"]) == "7"
    m4a = mutagen.File(factory.path(AudioSpec("m4a", 5, tags=TAGS)))
    assert m4a["\xa9nam"] == ["Über die Nacht (feat. Zoë)"] and m4a["trkn"] == [(7, 0)]


def test_announced_bitrates(factory):
    assert factory.bitrate(AudioSpec("mp3", 10, bitrate=256)) == 256
    assert factory.bitrate(AudioSpec("flac", 10)) is None
    v0 = factory.bitrate(AudioSpec("mp3", 10, vbr_level=0))
    v2 = factory.bitrate(AudioSpec("mp3", 10, vbr_level=2))
    assert 200 < v0 <= 320 and v2 < v0
    real = mutagen.File(factory.path(AudioSpec("mp3", 30, vbr_level=0, voice=0))).info.bitrate / 1000
    assert real == pytest.approx(v0, rel=0.1)


def test_size_is_known_without_synthesis(tmp_path):
    fresh = FileFactory(tmp_path)
    spec = AudioSpec("mp3", 240, bitrate=320)
    assert fresh.size(spec) > 240 * 40_000
    assert fresh.stats.files == 0 and not list(tmp_path.glob("*.mp3"))


def test_transcodes_have_no_top_octave(factory):
    def high_share(spec: AudioSpec) -> float:
        data, rate = sf.read(factory.path(spec))
        spectrum = np.abs(np.fft.rfft(data[rate:2 * rate, 0] * np.hanning(rate)))
        freqs = np.fft.rfftfreq(rate, 1 / rate)
        return spectrum[freqs > 17000].mean() / spectrum[(freqs > 5000) & (freqs < 10000)].mean()

    assert high_share(AudioSpec("flac", 4, voice=2)) > 0.5
    assert high_share(AudioSpec("flac", 4, voice=2, lowpass=True)) < 0.02


def test_files_are_cached_and_reused(tmp_path):
    first = FileFactory(tmp_path)
    spec = AudioSpec("flac", 4, voice=6)
    path = first.path(spec)
    again = FileFactory(tmp_path)
    assert again.path(spec) == path and again.stats.files == 0 and again.stats.cache_hits == 1
    assert again.size(AudioSpec("ogg", 30, voice=6)) == first.size(AudioSpec("ogg", 30, voice=6))


def test_extras(factory):
    cover = ExtraSpec("jpg", "Album", seed=4, jpeg_size=65_000 * 3 + 17)
    data = factory.path(cover).read_bytes()
    assert len(data) == factory.size(cover)
    assert Image.open(io.BytesIO(data)).size == (300, 300)
    cue = ExtraSpec("cue", "Album", ("One", "Two"), seed=1)
    text = factory.path(cue).read_bytes().decode("utf-8")
    assert len(text.encode()) == factory.size(cue) and 'TITLE "Two"' in text


def test_specs_are_validated():
    with pytest.raises(ValueError):
        AudioSpec("aac", 10)
    with pytest.raises(ValueError):
        AudioSpec("m4a", 10, bit_depth=24)
    with pytest.raises(ValueError):
        AudioSpec("mp3", 10, bitrate=321)
    with pytest.raises(ValueError):
        AudioSpec("flac", 0)
