"""One download through the queue to a tagged file in the library, against slskd 0.24.5 on Linux and
0.26 on Linux and Windows: names Windows forbids (``Why?.flac`` in ``Live: Berlin``), a file directly in
a share root, and 0.26 retrying a failed attempt on its own (service-apis.md 1.6, 1.7)."""
from __future__ import annotations

from pathlib import Path

import mutagen
import pytest

from soulsync.context import process_download
from soulsync.core.downloads import DownloadQueue
from soulsync.core.models import Track
from soulsync.core.postprocess import PostProcessOptions, PostProcessor
from soulsync.sim.audio import AudioSpec
from soulsync.sim.peers import Peer, SharedFile
from tests.e2e.queue_runner import peer_files
from tests.e2e.test_queue_sim import all_finished, drive, store, synth_cache, world  # noqa: F401  (fixtures)

ALBUM = "Live: Berlin"
SONGS = (("Why?", "@@abcde\\Music\\Band\\Live: Berlin\\01 - Why?.flac"),
         ("Encore", "@@abcde\\02 - Encore.flac"))
"""(title, remote path): a folder and a file name Windows forbids, and a file directly in a share root."""
WHERE = {  # where each slskd files them, below its downloads folder
    ("0.24.5", "linux"): ("Live: Berlin/01 - Why?.flac", "@@abcde/02 - Encore.flac"),
    ("0.26.0", "linux"): ("Live: Berlin/01 - Why?.flac", "02 - Encore.flac"),
    ("0.26.0", "windows"): ("Live_ Berlin/01 - Why_.flac", "02 - Encore.flac"),
}


def berlin_peer() -> Peer:
    files = [SharedFile(path, AudioSpec("flac", 4, voice=n, tags=(("title", title),)))
             for n, (title, path) in enumerate(SONGS, 1)]
    return Peer(username="berliner", kind="fast", files=files, upload_speed=300_000, speed=300_000, free_slot=True,
                queue_length=0, latency=0.1)


def wanted(number: int, title: str) -> Track:
    return Track(title=title, artists=["Band"], album=ALBUM, album_artist="Band", duration_ms=4000,
                 track_number=number, track_total=2, year=2019)


@pytest.mark.parametrize("version, host_os", list(WHERE))
def test_a_download_reaches_the_library_tagged(world, store, tmp_path, version, host_os):  # noqa: F811
    sim, client = world([berlin_peer()], version=version, host_os=host_os)
    if version == "0.26.0":  # the first attempt of each file breaks off; slskd 0.26 tries again by itself
        for title, _ in SONGS:
            sim.transfer_faults.add("errored", user="berliner", match=title.rstrip("?"), at=0.5, count=1)
    (tmp_path / "library").mkdir(exist_ok=True)  # the library disk is there
    processor = PostProcessor(PostProcessOptions(library_dir=tmp_path / "library",
                                                 quarantine_dir=tmp_path / "needs-attention"))
    queue = DownloadQueue(store, client, on_completed=lambda item, path: process_download(processor, item, path),
                          stall_timeout_s=30)
    for number, ((title, _), file) in enumerate(zip(SONGS, peer_files(sim.peer("berliner"), sim.factory)), 1):
        queue.enqueue([file], wanted=wanted(number, title), source="matched")
    items = drive(queue, all_finished, timeout=90)
    assert [(i.state, i.attempt, i.tried) for i in items] == [("succeeded", 1, [])] * 2, \
        [(i.state, i.reason) for i in items]
    assert [i.local_path for i in items] == [str(sim.downloads_dir / p) for p in WHERE[(version, host_os)]]
    for item, (title, _) in zip(items, SONGS):
        final = Path(item.final_path)
        assert final.is_file() and (tmp_path / "library") in final.parents
        tags = mutagen.File(final)
        assert tags["title"] == [title] and tags["album"] == [ALBUM] and tags["artist"] == ["Band"]
    records = sim.transfers()
    assert len(records) == 2, "slskd's own retries, not new requests"
    if version == "0.26.0":
        assert [r.attempts for r in records] == [2, 2]
