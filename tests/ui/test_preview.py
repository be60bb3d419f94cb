"""Track preview end to end: the player bar fetches real FLAC and MP3 files from the slskd simulation
and plays them headless (no audio device), before the transfer has finished."""
from __future__ import annotations

import re
import time

import pytest
from PyQt6.QtCore import QPoint, Qt
from PyQt6.QtMultimedia import QMediaDevices, QMediaPlayer
from PyQt6.QtWidgets import QLineEdit, QVBoxLayout, QWidget

from soulsync.core.models import SearchFile
from soulsync.core.pathparse import FolderGuess, split_remote
from soulsync.core.preview_cache import PreviewOptions
from soulsync.core.search import ResultTrack
from soulsync.core.search_grouping import group_results
from soulsync.sim.audio import AudioSpec, ExtraSpec
from soulsync.ui.preview import PreviewState
from soulsync.ui.widgets.player_bar import PlayerBar
from soulsync.ui.widgets.player_controls import SeekBar

PLAYING = QMediaPlayer.PlaybackState.PlayingState
SPEED = 40_000
"""Peer speed in simulated bytes/s: 2 MB/s of real time at the suite's time scale of 50, so a
10 MB file takes about 5 s and playback (after about 3 s of audio) starts long before the end."""


def _candidates(sim, fmt: str) -> list[tuple]:
    found = []
    for peer in sim.peers:
        if peer.kind != "fast" or peer.announce != "full" or not peer.free_slot:
            continue
        for shared in peer.files:
            spec = shared.spec
            if (shared.is_audio and not shared.locked and isinstance(spec, AudioSpec) and spec.fmt == fmt
                    and spec.duration_s >= 150 and sim.factory.size(spec) >= 6_000_000):
                found.append((peer, shared))
    return found


def _result(sim, peer, shared) -> ResultTrack:
    """The search result the app would show for this shared file."""
    spec = shared.spec
    entry = {"filename": shared.path, "size": sim.factory.size(spec), "extension": "", "length": spec.duration_s}
    if spec.fmt == "flac":
        entry.update(bitDepth=spec.bit_depth, sampleRate=spec.sample_rate)
    else:
        entry["bitRate"] = sim.factory.bitrate(spec)
    response = {"username": peer.username, "files": [entry], "hasFreeUploadSlot": True,
                "uploadSpeed": peer.upload_speed, "queueLength": 0}
    results = group_results([response])
    return (results.singles + [t for album in results.albums for t in album.tracks])[0]


@pytest.fixture(scope="module")
def files(sim_world):
    """Distinct FLAC and MP3 files of fast peers, so tests never trip over each other's transfers."""
    sim = sim_world.slskd
    flacs, mp3s = _candidates(sim, "flac"), _candidates(sim, "mp3")
    assert len(flacs) >= 5 and len(mp3s) >= 3
    return {"flac": flacs, "mp3": mp3s}


def track(sim_world, files, fmt: str, index: int, speed: int = SPEED) -> ResultTrack:
    peer, shared = files[fmt][index]
    sim_world.slskd.set_peer(peer.username, speed=speed)
    return _result(sim_world.slskd, peer, shared)


def transfers_of(sim, result: ResultTrack) -> list:
    return [t for t in sim.transfers() if t.username == result.username and t.filename == result.file.filename]


@pytest.fixture
def bar(qtbot, demo_context):
    widget = PlayerBar(demo_context, options=PreviewOptions(stall_timeout_s=1.5, message_s=0.6))
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.shutdown()


def preview_cache_files(bar: PlayerBar) -> list:
    return sorted(bar.cache.root.glob("*")) if bar.cache.root.exists() else []


def play_and_measure(qtbot, bar: PlayerBar, sim, result: ResultTrack) -> tuple[float, int]:
    """Press play; return the seconds until QMediaPlayer plays, and the bytes slskd had by then."""
    pressed = time.monotonic()
    bar.preview(result)
    qtbot.waitUntil(lambda: bar.player is not None and bar.player.playbackState() == PLAYING
                    and bar.state.kind is PreviewState.PLAYING, timeout=20_000)
    elapsed = time.monotonic() - pressed
    (transfer,) = [t for t in transfers_of(sim, result) if not t.removed]
    return elapsed, transfer.bytes_transferred


def assert_position_advances(qtbot, bar: PlayerBar, by_ms: int = 1000) -> None:
    start = bar.player.position()
    qtbot.waitUntil(lambda: bar.player.position() >= start + by_ms, timeout=10_000)
    assert bar.player.playbackState() == PLAYING


def seek_bar_point(seek: SeekBar, fraction: float) -> QPoint:
    """Where on the bar a person clicks to reach ``fraction`` of the track."""
    left, width = seek._span()
    return QPoint(round(left + fraction * width), seek.height() // 2)


def click_seek_bar_at(qtbot, seek: SeekBar, fraction: float) -> None:
    qtbot.mouseClick(seek, Qt.MouseButton.LeftButton, pos=seek_bar_point(seek, fraction))


def test_the_seek_bar_follows_the_mouse_and_asks_to_seek_on_release(qtbot):
    seek = SeekBar()
    qtbot.addWidget(seek)
    seek.resize(414, 18)
    seek.show()
    asked: list[int] = []
    seek.seek_requested.connect(asked.append)
    click_seek_bar_at(qtbot, seek, 0.5)
    assert asked == [], "nothing to seek in before a track is loaded"
    seek.setRange(0, 200_000)
    qtbot.mousePress(seek, Qt.MouseButton.LeftButton, pos=seek_bar_point(seek, 0.25))
    assert seek.isSliderDown() and seek.value() == 50_000 and asked == []
    qtbot.mouseMove(seek, seek_bar_point(seek, 0.75))
    assert seek.value() == 150_000 and asked == [], "dragging only moves the knob"
    qtbot.mouseRelease(seek, Qt.MouseButton.LeftButton, pos=seek_bar_point(seek, 0.75))
    assert asked == [150_000] and not seek.isSliderDown()
    qtbot.mouseClick(seek, Qt.MouseButton.RightButton, pos=seek_bar_point(seek, 0.1))
    assert asked == [150_000], "only the left button seeks"


@pytest.mark.parametrize("fmt", ["flac", "mp3"])
def test_play_starts_before_the_download_completes_and_stop_cleans_up(qtbot, bar, sim_world, files, fmt):
    sim = sim_world.slskd
    result = track(sim_world, files, fmt, 0)
    elapsed, received = play_and_measure(qtbot, bar, sim, result)
    print(f"\n{fmt}: PlayingState {elapsed:.2f} s after play, with {received:,} of {result.size:,} bytes at slskd")
    assert received < result.size, "playback started before the whole file had arrived"
    assert 0 < bar.seek.downloaded < 1
    assert_position_advances(qtbot, bar)
    assert bar.title_label.text() == result.guess.title and fmt.upper() in bar.detail_label.text()
    assert re.search(r"· \d+ kbps", bar.detail_label.text()), "the bitrate of what plays is shown"
    assert bar.total_label.text() == f"{result.file.length // 60}:{result.file.length % 60:02d}"
    assert bar.elapsed_label.text() != "0:00"
    if not QMediaDevices.audioOutputs():
        assert bar.no_audio_device and "no audio device" in bar.status_label.text()
    assert preview_cache_files(bar), "the preview streams through the cache folder"

    bar.stop()
    assert bar.state.kind is PreviewState.IDLE and bar.player.playbackState() != PLAYING
    qtbot.waitUntil(lambda: not preview_cache_files(bar), timeout=10_000)
    qtbot.waitUntil(lambda: all(t.state == "Completed, Cancelled" and t.removed for t in transfers_of(sim, result)),
                    timeout=10_000)
    leftovers = [p for p in sim.incomplete_dir.rglob("*") if p.is_file()]
    assert not leftovers, "the partial download is deleted at slskd's side too"


def test_a_finished_preview_leaves_nothing_in_slskds_downloads(qtbot, bar, sim_world, files):
    sim = sim_world.slskd
    result = track(sim_world, files, "mp3", 1, speed=200_000)
    bar.preview(result)
    qtbot.waitUntil(lambda: bar.seek.downloaded == 1.0 and bar.state.kind is PreviewState.PLAYING, timeout=20_000)
    qtbot.waitUntil(lambda: all(t.removed for t in transfers_of(sim, result)), timeout=10_000)
    (transfer,) = transfers_of(sim, result)
    assert transfer.state == "Completed, Succeeded" and transfer.local_path is not None
    assert not transfer.local_path.exists(), "slskd's copy of a preview is deleted; the cache has it"
    assert_position_advances(qtbot, bar, 500)
    bar.volume.setValue(0)
    assert bar.audio.volume() == 0
    bar.volume.setValue(100)
    assert bar.audio.volume() == pytest.approx(1.0)
    qtbot.mouseClick(bar.mute_button, Qt.MouseButton.LeftButton)
    assert bar.audio.isMuted() and bar.player.playbackState() == PLAYING
    bar.stop()
    qtbot.waitUntil(lambda: not preview_cache_files(bar), timeout=10_000)


def test_a_busy_peer_shows_the_place_in_its_queue_then_plays(qtbot, bar, sim_world, files):
    sim = sim_world.slskd
    result = track(sim_world, files, "mp3", 1)
    peer = sim.peer(result.username)
    before = (peer.free_slot, peer.queue_length, peer.queue_seconds)
    sim.set_peer(result.username, free_slot=False, queue_length=2, queue_seconds=40.0)
    try:
        seen = []
        bar.state_changed.connect(seen.append)
        bar.preview(result)
        qtbot.waitUntil(lambda: bar.state.kind is PreviewState.PLAYING, timeout=20_000)
        queued = [s for s in seen if s.kind is PreviewState.QUEUED]
        assert queued and queued[0].place == 3 and "place 3" in queued[0].text
        assert [s.kind for s in seen].index(PreviewState.QUEUED) < [s.kind for s in seen].index(PreviewState.PLAYING)
    finally:
        sim.set_peer(result.username, free_slot=before[0], queue_length=before[1], queue_seconds=before[2])


def test_a_second_preview_cancels_the_first_transfer(qtbot, bar, sim_world, files):
    sim = sim_world.slskd
    first = track(sim_world, files, "flac", 1, speed=10_000)
    second = track(sim_world, files, "mp3", 2)
    bar.preview(first)
    qtbot.waitUntil(lambda: any(t.state == "InProgress" for t in transfers_of(sim, first)), timeout=20_000)
    bar.preview(second)
    qtbot.waitUntil(lambda: all(t.state == "Completed, Cancelled" and t.removed for t in transfers_of(sim, first)),
                    timeout=10_000)
    qtbot.waitUntil(lambda: bar.state.kind is PreviewState.PLAYING, timeout=20_000)
    assert bar.track is second
    assert_position_advances(qtbot, bar, 500)
    assert len(preview_cache_files(bar)) == 1, "the first preview's cache file is gone"


def test_seeking_past_the_download_waits_for_the_data(qtbot, bar, sim_world, files):
    sim = sim_world.slskd
    result = track(sim_world, files, "flac", 2)
    play_and_measure(qtbot, bar, sim, result)
    assert bar.seek.downloaded < 0.35
    click_seek_bar_at(qtbot, bar.seek, 0.35)
    target = bar.seek.value()
    assert abs(target - bar.seek.maximum() * 0.35) <= bar.seek.maximum() * 0.01
    assert bar.state.kind is PreviewState.BUFFERING and "to " in bar.state.text
    qtbot.waitUntil(lambda: bar.player.position() >= target, timeout=60_000)
    assert bar.seek.downloaded >= 0.35
    qtbot.waitUntil(lambda: bar.state.kind is PreviewState.PLAYING, timeout=5_000)
    assert_position_advances(qtbot, bar, 500)


def test_a_stalled_preview_times_out_with_a_message_and_returns_to_idle(qtbot, bar, sim_world, files):
    sim = sim_world.slskd
    result = track(sim_world, files, "flac", 3)
    rule = sim.transfer_faults.add("stall", user=result.username, match=re.escape(result.name) + "$", at=0.02)
    try:
        failures = []
        bar.state_changed.connect(lambda s: failures.append(s) if s.kind is PreviewState.FAILED else None)
        bar.preview(result)
        qtbot.waitUntil(lambda: bool(failures), timeout=20_000)
        assert "stalled" in failures[0].message and "Preview failed" in bar.status_label.text()
        qtbot.waitUntil(lambda: bar.state.kind is PreviewState.IDLE, timeout=5_000)
        assert bar.title_label.text() == "Nothing playing"
        qtbot.waitUntil(lambda: all(t.removed for t in transfers_of(sim, result)), timeout=10_000)
        assert not preview_cache_files(bar)
    finally:
        sim.transfer_faults.remove(rule)


def test_a_rejected_preview_says_why(qtbot, bar, sim_world, files):
    sim = sim_world.slskd
    result = track(sim_world, files, "mp3", 0)
    rule = sim.transfer_faults.add("rejected", user=result.username, match=re.escape(result.name) + "$",
                                   message="Queue full")
    try:
        bar.preview(result)
        qtbot.waitUntil(lambda: bar.state.kind is PreviewState.FAILED, timeout=20_000)
        assert bar.state.message == "The peer rejected the download (Queue full)"
    finally:
        sim.transfer_faults.remove(rule)


def test_space_toggles_play_but_text_fields_keep_their_space(qtbot, demo_context, sim_world, files):
    window = QWidget()
    layout = QVBoxLayout(window)
    field = QLineEdit()
    player = PlayerBar(demo_context, window, PreviewOptions())
    layout.addWidget(field)
    layout.addWidget(player)
    qtbot.addWidget(window)
    window.show()
    try:
        player.preview(track(sim_world, files, "mp3", 2))
        qtbot.waitUntil(lambda: player.state.kind is PreviewState.PLAYING, timeout=20_000)
        field.setFocus()
        qtbot.keyClicks(field, "a b")
        assert field.text() == "a b" and player.state.kind is PreviewState.PLAYING
        player.setFocus()
        qtbot.keyClick(player, Qt.Key.Key_Space)
        assert player.state.kind is PreviewState.PAUSED and player.player.playbackState() != PLAYING
        window.setFocus()
        qtbot.keyClick(window, Qt.Key.Key_Space)
        qtbot.waitUntil(lambda: player.state.kind is PreviewState.PLAYING, timeout=5_000)
    finally:
        player.shutdown()


def test_download_buttons_hand_the_track_over_and_keep_its_transfer(qtbot, bar, sim_world, files):
    sim = sim_world.slskd
    result = track(sim_world, files, "flac", 4, speed=10_000)
    bar.preview(result)
    qtbot.waitUntil(lambda: any(t.state == "InProgress" for t in transfers_of(sim, result)), timeout=20_000)
    with qtbot.waitSignal(bar.download_requested, timeout=1000) as plain:
        qtbot.mouseClick(bar.download_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(bar.matched_download_requested, timeout=1000) as matched:
        qtbot.mouseClick(bar.matched_button, Qt.MouseButton.LeftButton)
    assert plain.args == [result] and matched.args == [result]
    bar.stop()
    qtbot.waitUntil(lambda: not preview_cache_files(bar), timeout=10_000)
    (transfer,) = transfers_of(sim, result)
    assert transfer.state == "InProgress" and not transfer.removed, "the download queue takes this transfer over"
    sim.set_peer(result.username, speed=5_000_000)
    qtbot.waitUntil(lambda: transfers_of(sim, result)[0].state == "Completed, Succeeded", timeout=20_000)


def test_a_file_that_is_not_audio_fails_in_words(qtbot, bar, sim_world):
    sim = sim_world.slskd
    peer, shared = next((p, f) for p in sim.peers if p.kind == "fast" for f in p.files
                        if isinstance(f.spec, ExtraSpec) and f.spec.kind == "log")
    folder, name = split_remote(shared.path)
    result = ResultTrack(SearchFile(peer.username, shared.path, size=sim.factory.size(shared.spec), extension="log"),
                         FolderGuess(folder), folder, name, "log", "log", False)
    bar.preview(result)
    qtbot.waitUntil(lambda: bar.state.kind is PreviewState.FAILED, timeout=20_000)
    assert bar.state.message.startswith("the file cannot be played")
    qtbot.waitUntil(lambda: not preview_cache_files(bar), timeout=10_000)
