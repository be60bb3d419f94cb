"""Transcode detection: genuine and transcoded files of each format, built here with soundfile and PyAV.

"Music" is pink noise with a few tones at about -20 dBFS, full band. A transcode
is that music encoded to a lossy format, decoded, and written again in the
format it pretends to be, exactly what a faker does. Each verdict is checked
both ways, so a detector that always answers "genuine" (or always "fake", or
always "can't tell") fails here.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from soulsync.core import transcode
from soulsync.core.audiofile import verify_audio
from soulsync.core.transcode import Claim, claim_from_source, inspect_file, judge, measure_samples
from soulsync.sim.audio import FileFactory
from soulsync.sim.peers import ENCODINGS
from tests.audio_fixtures import m4a_available

RATE = 44100
SECONDS = 6.0
_MP3_LEVEL = {320: 0.05, 256: 0.2, 192: 0.44, 128: 0.65}
"""libsndfile compression level that makes LAME pick each constant bitrate."""


def music(seconds: float = SECONDS, rate: int = RATE, rolloff_hz: float | None = None, order: int = 2,
          seed: int = 7) -> np.ndarray:
    """Stereo pink noise plus three tones, full band unless ``rolloff_hz`` gives it a gentle low-pass."""
    n = int(seconds * rate)
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / rate)
    shape = 1.0 / np.sqrt(np.maximum(freqs, 20.0))
    if rolloff_hz:
        shape /= np.sqrt(1.0 + (freqs / rolloff_hz) ** (2 * order))  # a Butterworth-like slope, no wall
    noise = np.fft.irfft(spectrum * shape, n)
    t = np.arange(n) / rate
    tones = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 330.0, 554.0)) / 3
    mono = noise / np.max(np.abs(noise)) * 0.3 + tones * 0.05
    stereo = np.stack([mono, np.roll(mono, 37)], axis=1)
    return stereo.astype(np.float32)


def write(path: Path, data: np.ndarray, fmt: str, subtype: str | None = None, rate: int = RATE, **kw) -> Path:
    with sf.SoundFile(path, "w", rate, data.shape[1], subtype, format=fmt, **kw) as out:
        for start in range(0, len(data), 4096):  # libsndfile's Ogg encoders dislike one huge write
            out.write(data[start:start + 4096])
    return path


def mp3(path: Path, data: np.ndarray, kbps: int) -> Path:
    return write(path, data, "MP3", "MPEG_LAYER_III", bitrate_mode="CONSTANT", compression_level=_MP3_LEVEL[kbps])


def through_mp3(tmp_path: Path, data: np.ndarray, kbps: int) -> np.ndarray:
    """``data`` after a round trip through an MP3 of ``kbps``: what a faker starts from."""
    decoded, _ = sf.read(mp3(tmp_path / f"source-{kbps}.mp3", data, kbps), dtype="float32", always_2d=True)
    return decoded


def verdict(path: Path, claim: Claim | None = None):
    info = verify_audio(path)
    return transcode.check(info, claim)


# ---------------------------------------------------------------------------
# lossless formats


@pytest.mark.parametrize("fmt,ext", [("FLAC", "flac"), ("WAV", "wav"), ("AIFF", "aiff")])
def test_genuine_lossless_is_genuine(tmp_path, fmt, ext):
    v = verdict(write(tmp_path / f"real.{ext}", music(), fmt, "PCM_16"))
    assert v.genuine is True, v.reason
    assert v.cutoff_hz and v.cutoff_hz > 21000


@pytest.mark.parametrize("fmt,ext", [("FLAC", "flac"), ("WAV", "wav"), ("AIFF", "aiff")])
@pytest.mark.parametrize("kbps", [128, 192])
def test_lossless_from_mp3_is_fake(tmp_path, fmt, ext, kbps):
    fake = write(tmp_path / f"fake.{ext}", through_mp3(tmp_path, music(), kbps), fmt, "PCM_16")
    v = verdict(fake)
    assert v.genuine is False, v.reason
    assert "looks transcoded from a lossy source: nothing above" in v.reason
    assert v.reason.startswith(ext.upper())
    assert 15500 < v.cutoff_hz < 19500


def test_lossless_from_320_is_not_called_either_way(tmp_path):
    """A 320 kbps source keeps 20 kHz, like some mastering filters: honest answer is "can't tell"."""
    v = verdict(write(tmp_path / "maybe.flac", through_mp3(tmp_path, music(), 320), "FLAC", "PCM_16"))
    assert v.genuine is None, v.reason
    assert 19000 <= v.cutoff_hz < 20500


def test_24_bit_flac_padded_from_16_bit_is_fake(tmp_path):
    data = np.round(music() * 32767) / 32768  # 16-bit values, stored in a 24-bit file
    v = verdict(write(tmp_path / "padded.flac", data.astype(np.float32), "FLAC", "PCM_24"))
    assert v.genuine is False, v.reason
    assert "24-bit FLAC holds only 16-bit audio" in v.reason
    real = verdict(write(tmp_path / "real24.flac", music(), "FLAC", "PCM_24"))
    assert real.genuine is True, real.reason


def test_hires_upsampled_from_cd_is_fake(tmp_path):
    cd = music(rate=44100)
    n = len(cd)
    spectrum = np.fft.rfft(cd, axis=0)  # ideal upsampling to 88.2 kHz: nothing above 22.05 kHz
    padded = np.zeros((n + 1, 2), dtype=complex)
    padded[:len(spectrum)] = spectrum
    up = (np.fft.irfft(padded, 2 * n, axis=0) * 2).astype(np.float32)
    v = verdict(write(tmp_path / "hires.flac", up, "FLAC", "PCM_24", rate=88200))
    assert v.genuine is False, v.reason
    assert "looks upsampled" in v.reason
    real = verdict(write(tmp_path / "real-hires.flac", music(rate=88200), "FLAC", "PCM_24", rate=88200))
    assert real.genuine is True, real.reason


# ---------------------------------------------------------------------------
# natural roll-off, silence, short and broken files


def test_gentle_natural_rolloff_is_genuine(tmp_path):
    v = verdict(write(tmp_path / "dull.flac", music(rolloff_hz=3000, order=2), "FLAC", "PCM_16"))
    assert v.genuine is True, v.reason
    assert v.measurement is not None and not v.measurement.wall


def test_steep_natural_rolloff_is_not_called_fake(tmp_path):
    """An old recording whose top dies away into the noise floor: no wall, so never "fake"."""
    v = verdict(write(tmp_path / "old.flac", music(rolloff_hz=5000, order=4), "FLAC", "PCM_16"))
    assert v.genuine is not False, v.reason
    assert v.measurement is not None and not v.measurement.wall
    v320 = verdict(mp3(tmp_path / "old.mp3", music(rolloff_hz=5000, order=4), 320))
    assert v320.genuine is not False, v320.reason


def test_silence_and_short_files_cannot_be_judged(tmp_path):
    silent = verdict(write(tmp_path / "silent.flac", np.zeros((RATE * 3, 2), np.float32), "FLAC", "PCM_16"))
    assert silent.genuine is None and "silent" in silent.reason
    short = verdict(write(tmp_path / "short.flac", music(seconds=0.2), "FLAC", "PCM_16"))
    assert short.genuine is None and "too short" in short.reason
    blip = verdict(write(tmp_path / "blip.wav", music(seconds=0.01), "WAV", "PCM_16"))
    assert blip.genuine is None


def test_broken_files_are_reported_not_raised(tmp_path):
    junk = tmp_path / "junk.flac"
    junk.write_bytes(b"fLaC" + bytes(range(256)) * 20)
    result = inspect_file(junk)
    assert result.error and result.genuine is None and "not usable" in result.reason
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    assert inspect_file(empty).error


def test_measure_samples_copes_with_nothing():
    m = measure_samples([], 44100)
    assert m.cutoff_hz is None and m.seconds == 0
    m = measure_samples([np.zeros(100, np.float32)], 0)
    assert m.cutoff_hz is None


# ---------------------------------------------------------------------------
# lossy formats


@pytest.mark.parametrize("kbps", [128, 192, 320])
def test_genuine_mp3_is_genuine(tmp_path, kbps):
    v = verdict(mp3(tmp_path / f"real{kbps}.mp3", music(), kbps))
    assert v.genuine is True, v.reason


@pytest.mark.parametrize("kbps", [256, 320])
def test_mp3_upconverted_from_128_is_fake(tmp_path, kbps):
    fake = mp3(tmp_path / f"fake{kbps}.mp3", through_mp3(tmp_path, music(), 128), kbps)
    v = verdict(fake)
    assert v.genuine is False, v.reason
    assert f"MP3 at {kbps} kbps looks up-converted" in v.reason
    assert 15500 < v.cutoff_hz < 17500


def test_ogg_vorbis_genuine_and_from_mp3(tmp_path):
    real = verdict(write(tmp_path / "real.ogg", music(), "OGG", "VORBIS", compression_level=0.1))
    assert real.genuine is True, real.reason
    fake = verdict(write(tmp_path / "fake.ogg", through_mp3(tmp_path, music(), 128), "OGG", "VORBIS",
                         compression_level=0.1))
    assert fake.genuine is False, fake.reason
    assert fake.reason.startswith("OGG at")


def test_opus_genuine_and_from_mp3(tmp_path):
    real = verdict(write(tmp_path / "real.opus", music(rate=48000), "OGG", "OPUS", rate=48000,
                         compression_level=0.2))
    assert real.genuine is True, real.reason
    fake = verdict(write(tmp_path / "fake.opus", through_mp3(tmp_path, music(), 128), "OGG", "OPUS",
                         rate=48000, compression_level=0.2))
    assert fake.genuine is False, fake.reason


def _m4a(path: Path, data: np.ndarray, codec: str, bit_rate: int | None = None) -> Path:
    import av

    planar = np.ascontiguousarray(data.T)
    sample_format = "s16p" if codec == "alac" else "fltp"
    if codec == "alac":
        planar = (np.clip(planar, -1, 1) * 32767).astype(np.int16)
    with av.open(str(path), "w", format="ipod") as out:
        stream = out.add_stream(codec, rate=RATE, layout="stereo")
        stream.format = sample_format
        if bit_rate:
            stream.bit_rate = bit_rate
        for start in range(0, planar.shape[1], 4096):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(planar[:, start:start + 4096]),
                                               format=sample_format, layout="stereo")
            frame.sample_rate, frame.pts = RATE, start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


@pytest.mark.skipif(not m4a_available(), reason="PyAV is needed to write M4A")
def test_m4a_alac_and_aac(tmp_path):
    real = verdict(_m4a(tmp_path / "real.m4a", music(), "alac"))
    assert real.genuine is True, real.reason
    fake = verdict(_m4a(tmp_path / "fake.m4a", through_mp3(tmp_path, music(), 128), "alac"))
    assert fake.genuine is False, fake.reason
    assert fake.reason.startswith("ALAC looks transcoded")
    aac = verdict(_m4a(tmp_path / "real-aac.m4a", music(), "aac", 256000))
    assert aac.genuine is True, aac.reason
    aac_fake = verdict(_m4a(tmp_path / "fake-aac.m4a", through_mp3(tmp_path, music(), 128), "aac", 320000))
    assert aac_fake.genuine is False, aac_fake.reason


# ---------------------------------------------------------------------------
# claims of the source


def test_claims_from_peer_paths():
    assert claim_from_source("@@x\\Music\\Artist - Album (2011) [MP3 320]\\01 - Song.mp3") == Claim("mp3", 320)
    assert claim_from_source("a/Album [320kbps]/02 Song.mp3").kbps == 320
    assert claim_from_source("a/Album (2011) [FLAC]/02 Song.flac") == Claim("flac", None)
    assert claim_from_source("a/320 Miles/02 Song 320.mp3", announced_kbps=192) == Claim("mp3", 192)
    assert claim_from_source("a/Album [V0]/x.mp3", announced_kbps=245).kbps == 245


def test_mislabelled_bitrate_and_renamed_lossy_are_fake(tmp_path):
    path = mp3(tmp_path / "x.mp3", music(), 128)
    v = verdict(path, Claim("mp3", 320))
    assert v.genuine is False and "announced as 320 kbps is really 128 kbps" in v.reason
    assert verdict(path, Claim("mp3", 128)).genuine is True
    renamed = tmp_path / "x.flac"
    renamed.write_bytes(path.read_bytes())
    v = verdict(renamed, claim_from_source("peer/Album [FLAC]/x.flac"))
    assert v.genuine is False and "named .flac but holds MP3 audio" in v.reason


# ---------------------------------------------------------------------------
# the simulated peers' files


@pytest.fixture(scope="module")
def sim_files(tmp_path_factory):
    factory = FileFactory(tmp_path_factory.mktemp("sim-files"))
    return {name: [factory.path(enc.spec(20, voice, ())) for voice in (0, 5, 11)]
            for name, enc in ENCODINGS.items()}


@pytest.mark.parametrize("name", sorted(ENCODINGS))
def test_sim_encodings(sim_files, name):
    """The sim's fakes (band-limited FLAC and 320) are caught from the file alone; 128 kbps files in a
    "[MP3 320]" folder by the folder's claim; every genuine encoding passes."""
    label = ENCODINGS[name].label
    for path in sim_files[name]:
        claim = claim_from_source(f"@@peer\\Music\\Artist - Album (2011) [{label}]\\01 - Song.{path.suffix[1:]}")
        v = verdict(path, claim)
        if name in ("fake_flac", "fake_320", "mp3_128_as_320"):
            assert v.genuine is False, (name, v.reason)
        else:
            assert v.genuine is True, (name, v.reason)


def test_judge_alone_respects_thresholds(tmp_path):
    """The verdict follows the measured cutoff: the same FLAC measured with a wall at 16 kHz is fake,
    with one at 21.5 kHz genuine."""
    info = verify_audio(write(tmp_path / "a.flac", music(seconds=1), "FLAC", "PCM_16"))
    base = transcode.Measurement(5.0, -20.0, RATE, 16000, True, 40.0, False, -20.0, 16)
    assert judge(info, base).genuine is False
    assert judge(info, transcode.Measurement(5.0, -20.0, RATE, 21500, True, 40.0, False, -20.0, 16)).genuine
    assert judge(info, transcode.Measurement(5.0, -20.0, RATE, 16000, True, 40.0, True, -20.0, 16)).genuine is None


@pytest.mark.parametrize("ext", ["flac", "mp3", "ogg", "opus", "wav"])
def test_pure_tones_are_never_called_fake(tmp_path, ext):
    """A lone sine has nothing above it in any format; with no broadband content there is no proof."""
    from tests.audio_fixtures import make_audio

    v = verdict(make_audio(tmp_path / f"tone.{ext}", seconds=3.0))
    assert v.genuine is not False, v.reason


def test_damaged_and_odd_audio_gets_a_verdict_not_an_exception(tmp_path):
    good = write(tmp_path / "good.flac", music(seconds=8), "FLAC", "PCM_16")
    data = bytearray(good.read_bytes())
    rng = np.random.default_rng(5)
    middle = len(data) // 2
    data[middle:middle + 20000] = rng.integers(0, 256, 20000, dtype=np.uint8).tobytes()  # the tail stays whole
    damaged = tmp_path / "damaged.flac"
    damaged.write_bytes(bytes(data))
    assert inspect_file(damaged).reason  # a verdict (or "not usable"), never an exception

    odd = music(seconds=3)
    odd[1000:5000] = np.nan  # a float WAV may hold NaN and infinities
    odd[6000] = np.inf
    v = verdict(write(tmp_path / "odd.wav", odd, "WAV", "FLOAT"))
    assert v.genuine is not False, v.reason


@pytest.mark.parametrize("magic", [b"fLaC", b"ID3\x04\x00\x00\x00\x00\x00\x00", b"OggS", b"\xff\xfb\x90\x00",
                                   b"RIFF\x00\x10\x00\x00WAVEfmt ", b"\x00\x00\x00\x18ftypM4A "])
def test_hostile_bytes_never_raise(tmp_path, magic):
    rng = np.random.default_rng(len(magic))
    for n in range(5):
        path = tmp_path / f"x{n}.bin"
        path.write_bytes(magic + rng.integers(0, 256, 3000 * (n + 1), dtype=np.uint8).tobytes())
        result = inspect_file(path)
        assert result.genuine is None and result.reason
