"""Download queue: one poll of slskd's transfer list, mapped, diffed and saved.

The queue is opened on a real SQLite file (WAL) with ``size`` active items;
an in-memory slskd stands in for the network. ``queue.poll_all_moving``
measures the busiest case, every transfer reporting new bytes (every row
updated in one transaction, every item in the diff); ``queue.poll_idle`` the
common case of a list where nothing moved (nothing written, empty diff). The
UI polls once a second from a worker, so the target keeps that well below the
interval for 500 active downloads.
"""
from __future__ import annotations

import dataclasses
import shutil
import tempfile
import uuid
from pathlib import Path
from types import SimpleNamespace

from bench.harness import Benchmark
from soulsync.core.downloads import DownloadQueue
from soulsync.core.models import Track, Transfer, TransferState
from soulsync.core.slskd_files import DownloadRules
from soulsync.core.store import Store


class _Slskd:
    """Just enough slskd for the queue: enqueue records transfers, downloads lists them."""

    def __init__(self) -> None:
        self.transfers: list[Transfer] = []

    def enqueue(self, username: str, files: list[dict]) -> SimpleNamespace:
        made = [Transfer(id=str(uuid.uuid4()), username=username, filename=f["filename"], size=f["size"],
                         state=TransferState.QUEUED_LOCALLY, raw_state="Queued, Locally") for f in files]
        self.transfers.extend(made)
        return SimpleNamespace(enqueued=made, failed=[])

    def downloads(self) -> list[Transfer]:
        return [dataclasses.replace(t) for t in self.transfers]

    def cancel(self, username: str, transfer_id: str, remove: bool = False) -> None:
        pass

    def downloads_dir(self) -> str:
        return "/nonexistent"

    def download_rules(self) -> DownloadRules:
        return DownloadRules()

    def advance(self) -> None:
        for t in self.transfers:
            t.state, t.raw_state = TransferState.IN_PROGRESS, "InProgress"
            t.bytes_transferred += 4096
            t.percent_complete = 100.0 * t.bytes_transferred / t.size
            t.average_speed = 250_000.0


def _setup(size: int) -> SimpleNamespace:
    folder = Path(tempfile.mkdtemp(prefix="bench-queue-"))
    store = Store(folder / "queue.sqlite3")
    slskd = _Slskd()
    queue = DownloadQueue(store, slskd, downloads_dir=folder, max_concurrent=size, stall_timeout_s=3600)
    candidates = [{"username": f"alt{n}", "filename": f"@@alt\\Music\\X\\{n:02d}.flac", "size": 30_000_000}
                  for n in range(8)]
    for user in range(size // 10):
        files = [(f"peer{user}", f"@@share\\Music\\Artist {user}\\Album\\{n:02d} - Track.flac", 30_000_000)
                 for n in range(10)]
        queue.enqueue(files, wanted=Track(title="Track", artists=[f"Artist {user}"]), candidates=candidates)
    queue.tick()
    return SimpleNamespace(folder=folder, store=store, slskd=slskd, queue=queue)


def _poll_moving(state: SimpleNamespace) -> dict:
    state.slskd.advance()
    diff = state.queue.poll()
    return {"changed": len(diff.changed)}


def _poll_idle(state: SimpleNamespace) -> dict:
    diff = state.queue.poll()
    return {"changed": len(diff.changed)}


def _teardown(state: SimpleNamespace) -> None:
    state.store.close()
    shutil.rmtree(state.folder, ignore_errors=True)


BENCHMARKS = [
    Benchmark(
        name="queue.poll_all_moving",
        setup=_setup,
        run=_poll_moving,
        teardown=_teardown,
        sizes=[100, 250, 500],
        target=0.050,
        description="poll with every active transfer reporting progress: map, diff, save in one transaction",
    ),
    Benchmark(
        name="queue.poll_idle",
        setup=_setup,
        run=_poll_idle,
        teardown=_teardown,
        sizes=[100, 250, 500],
        target=0.020,
        description="poll of an unchanged transfer list: map and compare only",
    ),
]
