"""Fakes in the download pipeline: post-processing refuses or keeps them per ``fake_policy``, the queue
moves on to the next source and remembers the bad one."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import pytest

from soulsync.context import process_download
from soulsync.core.bad_sources import BadSources
from soulsync.core.downloads import DownloadQueue
from soulsync.core.slskd_files import DownloadRules, expected_local_paths
from soulsync.core.models import Track, Transfer, TransferState
from soulsync.core.postprocess import Outcome, PostProcessOptions, PostProcessor, Step
from soulsync.core.store import Store
from soulsync.core.transcode import Claim
from soulsync.sim.audio import AudioSpec, FileFactory

TRACK = Track(title="Song", artists=["Band"], album="Album", duration_ms=12_000, track_number=1,
              spotify_id="trk1")


@pytest.fixture(scope="module")
def factory(tmp_path_factory) -> FileFactory:
    return FileFactory(tmp_path_factory.mktemp("sim-files"))


def copy(src: Path, dest_dir: Path, name: str) -> Path:
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / name
    dest.write_bytes(src.read_bytes())
    return dest


def processor(tmp_path: Path, policy: str) -> PostProcessor:
    (tmp_path / "library").mkdir(exist_ok=True)  # the library disk is there
    return PostProcessor(PostProcessOptions(library_dir=tmp_path / "library", quarantine_dir=tmp_path / "aside",
                                            fake_policy=policy))


def test_a_fake_flac_is_refused_by_default(tmp_path, factory):
    fake = copy(factory.path(AudioSpec("flac", 12, lowpass=True)), tmp_path / "dl", "song.flac")
    result = processor(tmp_path, "refuse").process(fake, TRACK)
    assert result.outcome is Outcome.FAILED and result.failed_step is Step.VERIFY
    assert result.refused_source
    assert result.reason.startswith("FLAC looks transcoded from a lossy source: nothing above 16.0 kHz")
    assert result.quarantined_to is not None and result.quarantined_to.exists()
    assert not (tmp_path / "library").exists() or not any((tmp_path / "library").rglob("*.flac"))


def test_a_genuine_flac_is_placed_and_its_verdict_recorded(tmp_path, factory):
    real = copy(factory.path(AudioSpec("flac", 12)), tmp_path / "dl", "song.flac")
    result = processor(tmp_path, "refuse").process(real, TRACK)
    assert result.outcome is Outcome.PLACED, result.reason
    assert result.verdict is not None and result.verdict.genuine is True
    assert not result.refused_source
    assert any(step.startswith("quality: genuine") for step in result.done)


@pytest.mark.parametrize("policy,others,kept", [
    ("refuse", False, False), ("best_available", True, False), ("best_available", False, True),
    ("keep", True, True)])
def test_policies(tmp_path, factory, policy, others, kept):
    fake = copy(factory.path(AudioSpec("mp3", 12, bitrate=320, lowpass=True)), tmp_path / "dl", "song.mp3")
    result = processor(tmp_path, policy).process(fake, TRACK, other_sources=others)
    assert result.verdict is not None and result.verdict.genuine is False
    if kept:
        assert result.outcome is Outcome.PLACED
        assert result.reason.startswith("kept although it looks fake (MP3 at 320 kbps looks up-converted")
        assert any("looks fake" in w for w in result.warnings)
    else:
        assert result.outcome is Outcome.FAILED and result.refused_source


def test_the_source_claim_is_checked(tmp_path, factory):
    low = copy(factory.path(AudioSpec("mp3", 12, bitrate=128)), tmp_path / "dl", "song.mp3")
    result = processor(tmp_path, "refuse").process(low, TRACK, claim=Claim("mp3", 320))
    assert result.refused_source and result.reason == "MP3 announced as 320 kbps is really 128 kbps"


def test_an_unknown_policy_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown fake policy"):
        processor(tmp_path, "maybe")


# ---------------------------------------------------------------------------
# the queue


class Slskd:
    """slskd that finishes every requested transfer at once, the peer's file put where slskd puts it."""

    def __init__(self, downloads: Path, shares: dict[tuple[str, str], Path], prefix: str = "t") -> None:
        self.root = downloads
        self.prefix = prefix
        self.shares = shares
        self.transfers: list[Transfer] = []

    def enqueue(self, username: str, files: list[dict]) -> SimpleNamespace:
        start = len(self.transfers)
        for f in files:
            source = self.shares[(username, f["filename"])]
            target = expected_local_paths(self.root, username, f["filename"], self.download_rules())[0]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
            self.transfers.append(Transfer(id=f"{self.prefix}{len(self.transfers)}", username=username,
                                           filename=f["filename"], size=f["size"], state=TransferState.SUCCEEDED,
                                           bytes_transferred=f["size"], percent_complete=100.0))
        return SimpleNamespace(enqueued=self.transfers[start:], failed=[])

    def downloads(self) -> list[Transfer]:
        return list(self.transfers)

    def cancel(self, username: str, transfer_id: str, remove: bool = False) -> None:
        return None

    def downloads_dir(self) -> str:
        return str(self.root)

    def download_rules(self) -> DownloadRules:
        """slskd 0.24/0.25: the last remote folder, no retries of its own."""
        return DownloadRules()


def test_the_queue_moves_on_from_fakes_and_remembers_them(tmp_path, factory):
    specs = {"faker": AudioSpec("flac", 12, lowpass=True),
             "labeller": AudioSpec("mp3", 12, bitrate=128),
             "honest": AudioSpec("flac", 12)}
    folders = {"faker": "Album [FLAC]", "labeller": "Album [MP3 320]", "honest": "Album [FLAC]"}
    shares = {}
    candidates = []
    for user, spec in specs.items():
        name = f"@@{user}\\Music\\Band\\{folders[user]}\\01 - Song.{spec.fmt}"
        shares[(user, name)] = factory.path(spec)
        candidates.append({"username": user, "filename": name, "size": factory.size(spec),
                           "quality": "MP3 128" if spec.fmt == "mp3" else "FLAC"})
    store = Store(tmp_path / "q.sqlite3")
    post = processor(tmp_path, "refuse")
    try:
        queue = DownloadQueue(store, Slskd(tmp_path / "downloads", shares), downloads_dir=tmp_path / "downloads",
                              on_completed=lambda item, path: process_download(post, item, path))
        first = candidates[0]
        [item] = queue.enqueue([(first["username"], first["filename"], first["size"])], wanted=TRACK,
                               source="matched", candidates=candidates)
        for _ in range(20):
            queue.tick()
            done = queue.get(item.id)
            if done.finished:
                break
        assert (done.state, done.username, done.attempt) == ("succeeded", "honest", 3), done.reason
        assert [t[0] for t in done.tried] == ["faker", "labeller"]
        assert done.tried[0][2] == "FLAC looks transcoded from a lossy source: nothing above 16.0 kHz"
        assert done.tried[1][2] == "MP3 announced as 320 kbps is really 128 kbps"
        assert list(done.meta.refused) == [tuple(t[:3]) for t in done.tried]
        remembered = BadSources(store)
        assert len(remembered) == 2 and remembered.reason("faker", first["filename"]) == done.tried[0][2]

        # another queue on the same database never goes back to a remembered fake: when the first source
        # of a new item is broken, the fake is passed over for the next one
        junk = tmp_path / "junk.flac"
        junk.write_bytes(b"not audio at all" * 64)
        broken = {"username": "broken", "filename": "@@broken\\Music\\x.flac", "size": junk.stat().st_size}
        shares[("broken", broken["filename"])] = junk
        again = DownloadQueue(store, Slskd(tmp_path / "downloads2", shares, prefix="u"),
                              downloads_dir=tmp_path / "downloads2",
                              on_completed=lambda item, path: process_download(post, item, path))
        honest = candidates[2]
        [second] = again.enqueue([(broken["username"], broken["filename"], broken["size"])],
                                 wanted=dataclasses.replace(TRACK, spotify_id="trk2", title="Song 2"),
                                 source="matched", candidates=[broken, first, honest])
        for _ in range(20):
            again.tick()
            finished = again.get(second.id)
            if finished.finished:
                break
        assert (finished.state, finished.username) == ("succeeded", "honest"), finished.reason
        assert [t[0] for t in finished.tried] == ["broken"]
    finally:
        store.close()


def test_the_announced_bitrate_comes_from_the_current_candidate():
    from soulsync.context import announced_kbps
    from soulsync.core.store_records import QueueItem

    def item(quality: str, filename: str = "a.mp3") -> QueueItem:
        return QueueItem(id="i", state="processing", username="u", filename="a.mp3",
                         candidates=[{"username": "u", "filename": filename, "size": 1, "quality": quality}])

    assert announced_kbps(item("MP3 320")) == 320
    assert announced_kbps(item("MP3 VBR 245")) == 245
    assert announced_kbps(item("FLAC 16/44.1")) is None
    assert announced_kbps(item("MP3 320", filename="other.mp3")) is None
    assert announced_kbps(item("")) is None


def test_best_available_counts_no_known_fake_as_another_source(tmp_path, factory):
    from soulsync.core.store_records import QueueItem

    post = processor(tmp_path, "best_available")
    fake_spec = AudioSpec("flac", 12, lowpass=True)
    other = {"username": "other", "filename": "@@o\\Album\\01 - Song.flac", "size": 1}
    item = QueueItem(id="i", state="processing", username="faker", filename="@@f\\Album\\01 - Song.flac",
                     wanted=TRACK, candidates=[{"username": "faker", "filename": "@@f\\Album\\01 - Song.flac",
                                                "size": 1}, other])
    first = copy(factory.path(fake_spec), tmp_path / "dl1", "song.flac")
    assert process_download(post, item, first).refused_source  # "other" may still be genuine
    second = copy(factory.path(fake_spec), tmp_path / "dl2", "song.flac")
    kept = process_download(post, item, second, bad_sources={("other", other["filename"])})
    assert kept.outcome is Outcome.PLACED and kept.reason.startswith("kept although it looks fake")
