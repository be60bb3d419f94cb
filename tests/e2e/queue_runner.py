"""The download queue as a separate process, for the SIGKILL tests, plus the small peer world its e2e tests share.

``python -m tests.e2e.queue_runner --db DB --url URL --api-key KEY --files FILES.json --library DIR``
opens the queue on ``DB`` against slskd at ``URL``, reconciles, enqueues the
files of ``FILES.json`` as one group unless that group is already in the
database, then ticks until every item of the group is finished and exits 0.
Each finished file is copied into ``--library`` (temp file + rename, so a kill
never leaves half a file there, and a repeat after a kill is harmless).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

from soulsync.core.downloads import DownloadQueue
from soulsync.core.queue_model import Completion
from soulsync.core.store import Store
from soulsync.core.store_records import QueueItem
from soulsync.services.slskd import SlskdClient
from soulsync.sim.audio import AudioSpec, FileFactory
from soulsync.sim.peers import Peer, SharedFile

GROUP = "kill-test-album"


def album_peer(username: str, folder: str = "Album (2020)", tracks: int = 6, seconds: int = 6,
               speed: int = 60_000, **behaviour) -> Peer:
    """A peer sharing one MP3 album ``@@<root>\\Music\\Band\\<folder>\\NN - Track N.mp3`` with a free slot."""
    root = "@@" + "".join(c for c in username.lower() if c.isalnum())[:5].ljust(5, "x")
    files = [SharedFile(f"{root}\\Music\\Band\\{folder}\\{n:02d} - Track {n}.mp3",
                        AudioSpec("mp3", seconds, bitrate=128, voice=n % 16,
                                  tags=(("title", f"Track {n}"), ("artist", "Band"), ("album", folder))))
             for n in range(1, tracks + 1)]
    return Peer(username=username, kind="fast", files=files, upload_speed=speed, speed=speed, free_slot=True,
                queue_length=0, latency=0.1, **behaviour)


def peer_files(peer: Peer, factory: FileFactory) -> list[tuple[str, str, int]]:
    """``(username, remote filename, size)`` of every file the peer shares, as a search would report them."""
    return [(peer.username, f.path, factory.size(f.spec)) for f in peer.files]


def copy_into(library: Path):
    """An ``on_completed`` that copies the file into ``library`` atomically (idempotent)."""

    def place(item: QueueItem, path: Path) -> Completion:
        dest = library / path.name
        tmp = library / f".{path.name}.part"
        shutil.copyfile(path, tmp)
        os.replace(tmp, dest)
        return Completion(True, str(dest))

    return place


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--files", required=True, help="JSON list of [username, filename, size]")
    parser.add_argument("--library", required=True)
    parser.add_argument("--poll", type=float, default=0.05, help="seconds between ticks")
    parser.add_argument("--max-seconds", type=float, default=120.0)
    args = parser.parse_args(argv)

    library = Path(args.library)
    library.mkdir(parents=True, exist_ok=True)
    files = [tuple(f) for f in json.loads(Path(args.files).read_text())]
    store = Store(args.db)
    client = SlskdClient(args.url, api_key=args.api_key, timeout=5)
    queue = DownloadQueue(store, client, on_completed=copy_into(library), max_concurrent=3,
                          missing_grace_s=2.0, stall_timeout_s=30.0)
    print("started", flush=True)
    deadline = time.monotonic() + args.max_seconds
    queue.tick()
    if not any(i.group_id == GROUP for i in queue.items()):
        queue.enqueue(files, group_id=GROUP, source="album")
        print("enqueued", flush=True)
    while time.monotonic() < deadline:
        diff = queue.tick()
        if diff.error:
            print("error", diff.error, flush=True)
        group = [i for i in queue.items() if i.group_id == GROUP]
        if group and all(i.finished for i in group):
            print("finished", flush=True)
            return 0
        time.sleep(args.poll)
    print("gave up waiting", flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
