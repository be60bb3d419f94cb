"""Fakes the simulated peers share are caught; genuine files pass.

The sim's catalogue says which files are fake: a ``lowpass`` spec (``fake_flac``,
``fake_320``: band-limited transcodes) or a 128 kbps MP3 in a folder labelled
320 (``mp3_128_as_320``). A 128 kbps MP3 whose folder promises nothing is what
it says it is, and so is every other file.

``test_every_shared_file`` judges every audio file of the default world (seed 1)
as the pipeline would: its content, and the claim of its remote path and of the
bitrate its peer announces. The content of a shared file depends only on its
encoding and voice (a loop tiled to its length), so each distinct one is
synthesised once, eight seconds long. ``test_downloaded_through_slskd`` downloads
a file of every encoding from the population through the slskd simulation and
the real queue and post-processing: fakes are refused, genuine files filed.
"""
from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import pytest

from soulsync.context import process_download
from soulsync.core.audiofile import AudioInfo, verify_audio
from soulsync.core.downloads import DownloadQueue
from soulsync.core.postprocess import PostProcessOptions, PostProcessor
from soulsync.core.store import Store
from soulsync.core.transcode import Measurement, claim_from_source, judge, measure
from soulsync.services.slskd import SlskdClient
from soulsync.sim.audio import AudioSpec, FileFactory
from soulsync.sim.catalog import build_catalog
from soulsync.sim.peers import ANNOUNCE_NONE, ENCODINGS, Peer, SharedFile, build_peers
from soulsync.sim.slskd import SlskdSim

SEED = 1


def is_fake(shared: SharedFile) -> bool:
    """What the sim's catalogue says: a band-limited transcode, or 128 kbps under a "320" label."""
    spec = shared.spec
    assert isinstance(spec, AudioSpec)
    folder = shared.path.rsplit("\\", 1)[0]
    return spec.lowpass or (spec.fmt == "mp3" and spec.bitrate == 128 and "MP3 320" in folder)


def announced(peer: Peer, factory: FileFactory, spec: AudioSpec) -> int | None:
    """The lossy bitrate a search shows for this file (what the app keeps in the candidate's quality)."""
    if peer.announce == ANNOUNCE_NONE or spec.fmt not in ("mp3", "ogg"):
        return None
    return factory.bitrate(spec)


@pytest.fixture(scope="module")
def population():
    return build_peers(build_catalog(seed=SEED), SEED)


def test_every_shared_file(population):
    factory = FileFactory()  # the machine-wide cache: these files are made once, not on every run
    measured: dict[AudioSpec, tuple[AudioInfo, Measurement]] = {}
    missed, refused = [], []
    counts: dict[bool, int] = defaultdict(int)
    for peer in population:
        for shared in peer.files:
            if not isinstance(shared.spec, AudioSpec):
                continue
            content = replace(shared.spec, duration_s=8, tags=())
            if content not in measured:
                path = factory.path(content)
                info = verify_audio(path)
                measured[content] = (info, measure(path, info.format, info.lossless))
            info, m = measured[content]
            claim = claim_from_source(shared.path, announced(peer, factory, shared.spec))
            verdict = judge(info, m, claim)
            fake = is_fake(shared)
            counts[fake] += 1
            if fake and verdict.genuine is not False:
                missed.append((peer.username, shared.path, verdict.reason))
            if not fake and verdict.genuine is False:
                refused.append((peer.username, shared.path, verdict.reason))
    assert counts[True] > 500 and counts[False] > 10_000  # the world really has both
    assert not missed, f"{len(missed)} fakes missed, e.g. {missed[:3]}"
    assert not refused, f"{len(refused)} genuine files called fake, e.g. {refused[:3]}"


def _pick(population: list[Peer]) -> list[tuple[Peer, SharedFile, str]]:
    """One file of each encoding (the "320"-labelled 128 kbps one counted apart), its peer made to
    deliver at once (what is tested is the file, not the peer's manners)."""
    wanted = {"fake_flac", "fake_320", "mp3_128_as_320", "flac", "flac24", "mp3_320", "mp3_v0", "mp3_128",
              "ogg", "wav", "alac"}
    picked: dict[str, tuple[Peer, SharedFile, str]] = {}
    for peer in population:
        for shared in peer.files:
            spec = shared.spec
            if shared.locked or not isinstance(spec, AudioSpec) or shared.track is None or spec.duration_s > 300:
                continue
            name = _encoding_of(shared)
            if name in wanted and name not in picked:
                polite = replace(peer, kind="fast", free_slot=True, queue_length=0, offline=False, stall_at=None,
                                 fail_at=None, reject_reason=None, speed=max(peer.speed, 500_000))
                picked[name] = (polite, shared, name)
    assert set(picked) == wanted, f"the world lacks {wanted - set(picked)}"
    return list(picked.values())


def _encoding_of(shared: SharedFile) -> str:
    spec = shared.spec
    assert isinstance(spec, AudioSpec)
    if spec.fmt == "mp3" and spec.bitrate == 128 and not spec.lowpass:
        return "mp3_128_as_320" if is_fake(shared) else "mp3_128"
    for name, enc in ENCODINGS.items():
        if enc.spec(spec.duration_s, spec.voice, spec.tags) == spec:
            return name
    return "?"


def test_downloaded_through_slskd(population, tmp_path):
    chosen = _pick(population)
    peers = {peer.username: peer for peer, _shared, _name in chosen}  # one peer may give several files
    sim = SlskdSim(list(peers.values()), tmp_path / "downloads", tmp_path / "incomplete", time_scale=200.0,
                   cache_dir=tmp_path / "synth").start()
    client = SlskdClient(sim.api_url, api_key=sim.api_key, timeout=10)
    store = Store(tmp_path / "queue.sqlite3")
    (tmp_path / "library").mkdir(exist_ok=True)  # the library disk is there
    post = PostProcessor(PostProcessOptions(library_dir=tmp_path / "library", quarantine_dir=tmp_path / "aside"))
    try:
        queue = DownloadQueue(store, client, downloads_dir=sim.downloads_dir,
                              on_completed=lambda item, path: process_download(post, item, path),
                              stall_timeout_s=120.0)
        items = {}
        for peer, shared, name in chosen:
            spec = shared.spec
            size = sim.factory.size(spec)
            kbps = announced(peer, sim.factory, spec)
            candidate = {"username": peer.username, "filename": shared.path, "size": size,
                         "quality": f"{spec.fmt.upper()} {kbps}" if kbps else spec.fmt.upper()}
            [item] = queue.enqueue([(peer.username, shared.path, size)], wanted=shared.track, source="matched",
                                   candidates=[candidate])
            items[item.id] = (name, is_fake(shared))
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            queue.tick()
            if all(i.finished for i in queue.items()):
                break
            time.sleep(0.05)
        results = {i.id: i for i in queue.items()}
        for item_id, (name, fake) in items.items():
            item = results[item_id]
            assert item.finished, f"{name}: still {item.state}"
            if fake:
                assert item.state == "failed" and item.meta.refused, (name, item.reason)
                assert item.tried[0][2] in item.reason
            else:
                assert item.state == "succeeded", (name, item.reason)
                assert Path(item.final_path).is_file()
        assert len(queue.bad_sources) == sum(fake for _name, fake in items.values()) == 3
    finally:
        store.close()
        client.close()
        sim.close()
