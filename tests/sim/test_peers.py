"""Simulated Soulseek peers: deterministic, varied, and sharing the catalog the way real users do."""
from __future__ import annotations

import re
from collections import Counter

import pytest

from soulsync.sim.audio import AudioSpec, ExtraSpec
from soulsync.sim.catalog import build_catalog
from soulsync.sim.peers import ENCODINGS, PEER_KINDS, build_peers, voice_of

RESERVED = re.compile(r'[<>:"/|?*]')


@pytest.fixture(scope="module")
def catalog():
    return build_catalog(seed=1)


@pytest.fixture(scope="module")
def peers(catalog):
    return build_peers(catalog, seed=1)


def _fingerprint(peers) -> list:
    return [(p.username, p.kind, p.speed, p.queue_length, p.latency, [(f.path, f.spec, f.locked) for f in p.files])
            for p in peers]


def test_same_seed_same_world(catalog, peers):
    assert _fingerprint(build_peers(catalog, seed=1)) == _fingerprint(peers)
    other = build_peers(catalog, seed=2)
    assert [p.username for p in other] != [p.username for p in peers]


def test_population(peers):
    assert len(peers) >= 40
    assert len({p.username for p in peers}) == len(peers)
    kinds = Counter(p.kind for p in peers)
    assert set(kinds) == set(PEER_KINDS)
    assert sum(len(p.files) for p in peers) > 10_000
    busy = [p for p in peers if p.kind == "busy"]
    assert all(not p.free_slot and p.queue_length >= 10 for p in busy)
    assert all(p.offline for p in peers if p.kind == "offline")
    assert all(p.speed < p.upload_speed for p in peers if p.kind == "liar")
    assert all(p.speed <= 120_000 for p in peers if p.kind == "slow")
    assert all(p.stall_at for p in peers if p.kind == "staller")
    assert all(p.fail_at for p in peers if p.kind == "flaky")
    assert all(p.reject_reason for p in peers if p.kind == "rejecter")


def test_windows_style_remote_paths(peers):
    for peer in peers:
        for shared in peer.files:
            parts = shared.path.split("\\")
            assert parts[0].startswith("@@") and len(parts) >= 3, shared.path
            assert "/" not in shared.path
            assert all(part and not RESERVED.search(part) and part == part.rstrip(". ") for part in parts[1:]), \
                shared.path
            assert shared.path.endswith("." + shared.extension)
        paths = [f.path for f in peer.files]
        assert len(paths) == len(set(paths)), f"{peer.username} shares a path twice"


def test_layouts_and_extras(peers):
    paths = [f.path for p in peers for f in p.files]
    assert any(re.search(r"\\\d{4} - [^\\]+ \[FLAC\]\\\d\d - ", p) for p in paths), "tidy year - album [FLAC]"
    assert any(re.search(r"\\[^\\]+ - [^\\]+ \(\d{4}\) \[MP3 320\]\\", p) for p in paths), "Artist - Album (Y) [MP3 320]"
    assert any(re.search(r"\\(CD ?|Disc |Disk )\d\\", p) for p in paths), "disc subfolders"
    assert any(re.search(r"-(WEB|CD)-\d{4}-[A-Za-z0-9]+\\", p) for p in paths), "scene releases"
    assert any(peer.layout == "flat" for peer in peers), "flat folders of loose tracks"
    kinds = Counter(f.spec.kind for p in peers for f in p.files if isinstance(f.spec, ExtraSpec))
    assert {"jpg", "cue", "log", "nfo", "m3u"} <= set(kinds)
    assert any(any(ord(c) > 127 for c in path) for path in paths), "non-ASCII names"


def test_formats_quality_and_fakes(peers):
    audio = [f for p in peers for f in p.files if f.is_audio]
    formats = Counter(f.spec.fmt for f in audio)
    assert {"flac", "mp3", "ogg", "wav", "m4a"} <= set(formats)
    specs = [f.spec for f in audio]
    assert any(s.fmt == "mp3" and s.vbr_level is not None for s in specs), "VBR MP3"
    assert {128, 192, 320} <= {s.bitrate for s in specs if s.fmt == "mp3" and s.vbr_level is None}
    assert any(s.fmt == "flac" and s.bit_depth == 24 for s in specs), "hi-res FLAC"
    assert any(s.fmt == "flac" and s.lowpass for s in specs), "fake FLAC (transcode)"
    assert any(s.fmt == "mp3" and s.bitrate == 320 and s.lowpass for s in specs), "upconverted 320"
    mislabelled = [f for f in audio if "[MP3 320]" in f.path and f.spec.bitrate == 128]
    assert mislabelled, "a folder labelled 320 holding 128 kbps files"


def test_durations_follow_the_catalog_with_exceptions(peers):
    audio = [f for p in peers for f in p.files if f.is_audio]
    matching = [f for f in audio if abs(f.spec.duration_s * 1000 - f.track.duration_ms) <= 500]
    different = [f for f in audio if abs(f.spec.duration_s * 1000 - f.track.duration_ms) > 10_000]
    assert len(matching) > 0.9 * len(audio)
    assert different, "some truncated rips or other edits"
    assert any(f.spec.duration_s < 100 and f.track.duration_ms > 150_000 for f in different), "a truncated rip"


def test_locked_shares(peers):
    locked_peers = [p for p in peers if p.kind == "locked"]
    assert all(sum(f.locked for f in p.files) > 0.2 * len(p.files) for p in locked_peers)
    assert sum(not f.locked for p in peers for f in p.files) > 0.9 * sum(len(p.files) for p in peers)


def test_same_recording_same_voice_and_versions_differ(catalog, peers):
    by_track: dict[int, set[int]] = {}
    for peer in peers:
        for shared in peer.files:
            if isinstance(shared.spec, AudioSpec):
                by_track.setdefault(id(shared.track), set()).add(shared.spec.voice)
    assert all(len(voices) == 1 for voices in by_track.values())
    live_or_remix = [t for t in catalog.tracks if " - Live" in t.title or "Remix" in t.title]
    originals = {(t.title.split(" - ")[0], t.artist): t for t in catalog.tracks if " - " not in t.title}
    pairs = [(t, originals[(t.title.split(" - ")[0], t.artist)]) for t in live_or_remix
             if (t.title.split(" - ")[0], t.artist) in originals]
    assert pairs and any(voice_of(a) != voice_of(b) or a.duration_ms != b.duration_ms for a, b in pairs)


def test_every_encoding_is_valid():
    for encoding in ENCODINGS.values():
        spec = encoding.spec(30, 0, ())
        assert spec.fmt == encoding.fmt


def test_too_few_peers_is_refused(catalog):
    with pytest.raises(ValueError):
        build_peers(catalog, seed=1, n_peers=5)
