"""The bottom player bar: preview any search result before downloading it.

``PlayerBar.preview(track)`` fetches the result through slskd into the stream
cache (:mod:`soulsync.ui.preview`) and plays it with QMediaPlayer as soon as a
few seconds of audio are on disk, while the rest still downloads
(:mod:`soulsync.ui.progressive_device`). A second preview cancels the first
one's transfer; :meth:`PlayerBar.stop` ends the preview and cleans up.

The bar shows title, artist, format and bitrate, play/pause, stop, a seek
slider that also shows how much has been downloaded (a seek beyond that waits
for the data), elapsed and total time, volume and mute, and "Download this" /
"Matched download" buttons that hand the result to whoever listens to
:attr:`PlayerBar.download_requested` / :attr:`PlayerBar.matched_download_requested`.
Space toggles play while the bar or the window has the focus (text fields,
buttons and lists keep their own Space).

State (:attr:`PlayerBar.state`, signal :attr:`PlayerBar.state_changed`): idle,
queued at the peer (with place), connecting, buffering (percent), playing,
paused, failed (reason in words, then idle again). Having no audio device is
not an error: playback runs silently.
"""
from __future__ import annotations

import logging
import time

from PyQt6.QtCore import QEvent, QObject, QSize, QTimer, QUrl, Qt, pyqtSignal
from PyQt6.QtGui import QKeyEvent
# (QtAudio is PyQt6 6.8's name for QAudio; the stubs do not know it yet)
from PyQt6.QtMultimedia import QAudioOutput, QMediaDevices, QMediaMetaData, QMediaPlayer, QtAudio  # type: ignore[attr-defined]
from PyQt6.QtWidgets import (
    QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QSlider, QToolButton, QVBoxLayout, QWidget,
)

from soulsync.context import AppContext
from soulsync.core.preview_cache import PreviewOptions, StreamCache, byte_for_position, start_threshold
from soulsync.core.preview_fetch import COMPLETE, CONNECTING, QUEUED, TRANSFERRING, FetchProgress
from soulsync.core.quality import quality_label
from soulsync.core.search import ResultTrack
from soulsync.ui.pools import preview_pool
from soulsync.ui.preview import PlayerState, PreviewSession, PreviewState
from soulsync.ui.progressive_device import ProgressiveDevice
from soulsync.ui.widgets.player_controls import SeekBar, media_icon
from soulsync.ui.workers import TaskContext, run_task

log = logging.getLogger(__name__)

_STARVED_LOOKAHEAD = 256 * 1024
"""Bytes past a starved read counted as "needed" for the buffering percentage."""
_STALLED_AFTER_S = 0.4
"""Playback position unchanged this long while a read waits: the bar shows buffering."""
_PLAYING = QMediaPlayer.PlaybackState.PlayingState
_Status = QMediaPlayer.MediaStatus


def _clock(ms: int) -> str:
    seconds = max(0, int(ms) // 1000)
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 60}:{seconds % 60:02d}"


class PlayerBar(QFrame):
    """The preview player. Construct with the app context; see the module notes for the API."""

    download_requested = pyqtSignal(object)
    """The user wants the previewed :class:`ResultTrack` downloaded as it is."""
    matched_download_requested = pyqtSignal(object)
    """The user wants the previewed :class:`ResultTrack` downloaded for its matched track."""
    state_changed = pyqtSignal(object)
    """The new :class:`PlayerState`."""

    def __init__(self, context: AppContext, parent: QWidget | None = None,
                 options: PreviewOptions | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.options = options or PreviewOptions()
        self.setObjectName("PlayerBar")
        self.setFixedHeight(84)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.cache = StreamCache(context.paths.cache_dir / "preview", self.options.cache_limit_bytes)
        self.pool = preview_pool(self)
        self.state = PlayerState()
        self.player: QMediaPlayer | None = None
        self.audio: QAudioOutput | None = None
        self.no_audio_device = False
        self.track: ResultTrack | None = None
        self._session: PreviewSession | None = None
        self._device: ProgressiveDevice | None = None
        self._want_play = False
        self._started = False
        self._starving_at: int | None = None
        self._pending_seek: int | None = None
        self._await_complete = False
        self._bitrate_kbps: int | None = None
        self._idle_timer = QTimer(self)
        self._idle_timer.setSingleShot(True)
        self._idle_timer.timeout.connect(self._back_to_idle)
        self._key_window: QWidget | None = None
        self._position_moved_at = 0.0
        self._ticker = QTimer(self)
        self._ticker.setInterval(250)
        self._ticker.timeout.connect(self._refresh_state)
        self._build()
        self._show_idle()
        run_task(self._clean_cache, self.cache, pool=self.pool)

    # ---- layout ---------------------------------------------------------------
    def _build(self) -> None:
        row = QHBoxLayout(self)
        row.setContentsMargins(16, 6, 16, 6)
        row.setSpacing(10)

        info = QVBoxLayout()
        info.setSpacing(0)
        self.title_label = QLabel()
        self.title_label.setObjectName("player_title")
        self.detail_label = QLabel()
        self.detail_label.setObjectName("player_detail")
        self.detail_label.setProperty("muted", True)
        self.status_label = QLabel()
        self.status_label.setObjectName("player_status")
        for label in (self.title_label, self.detail_label, self.status_label):
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            info.addWidget(label)
        row.addLayout(info, 3)

        self.stop_button = self._tool_button("player_stop", media_icon("stop"),
                                             "Stop the preview")
        self.stop_button.clicked.connect(self.stop)
        row.addWidget(self.stop_button)
        self.play_button = self._tool_button("player_play", media_icon("play", "#ffffff"),
                                             "Play / pause (Space)")
        self.play_button.setFixedSize(40, 40)
        self.play_button.clicked.connect(self.toggle_play)
        row.addWidget(self.play_button)

        self.elapsed_label = QLabel("0:00")
        self.elapsed_label.setObjectName("player_elapsed")
        self.elapsed_label.setProperty("muted", True)
        self.seek = SeekBar()
        self.seek.seek_requested.connect(self._seek_to)
        self.seek.sliderMoved.connect(lambda value: self.elapsed_label.setText(_clock(value)))
        self.total_label = QLabel("0:00")
        self.total_label.setObjectName("player_total")
        self.total_label.setProperty("muted", True)
        row.addWidget(self.elapsed_label)
        row.addWidget(self.seek, 4)
        row.addWidget(self.total_label)

        self.mute_button = self._tool_button("player_mute", media_icon("speaker"),
                                             "Mute")
        self.mute_button.setCheckable(True)
        self.mute_button.toggled.connect(self._apply_volume)
        row.addWidget(self.mute_button)
        self.volume = QSlider(Qt.Orientation.Horizontal)
        self.volume.setObjectName("player_volume")
        self.volume.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.volume.setRange(0, 100)
        self.volume.setValue(80)
        self.volume.setFixedWidth(90)
        self.volume.setToolTip("Volume")
        self.volume.valueChanged.connect(self._apply_volume)
        row.addWidget(self.volume)

        self.download_button = QPushButton("Download this")
        self.download_button.setObjectName("player_download")
        self.download_button.setToolTip("Queue this exact file for download")
        self.download_button.clicked.connect(lambda: self._request_download(matched=False))
        self.matched_button = QPushButton("Matched download")
        self.matched_button.setObjectName("player_matched")
        self.matched_button.setToolTip("Download this file for the track it was matched to")
        self.matched_button.clicked.connect(lambda: self._request_download(matched=True))
        for button in (self.download_button, self.matched_button):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            row.addWidget(button)

    @staticmethod
    def _tool_button(name: str, icon, tip: str) -> QToolButton:
        button = QToolButton()
        button.setObjectName(name)
        button.setIcon(icon)
        button.setToolTip(tip)
        button.setAutoRaise(True)
        button.setIconSize(QSize(22, 22))
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        return button

    # ---- public API ---------------------------------------------------------------
    def preview(self, track: ResultTrack) -> None:
        """Fetch and play ``track``; a preview already running is stopped and its transfer cancelled.

        Asking again for the track that is already previewing toggles play/pause.
        """
        if self._session is not None and self.track is not None and self.track.key == track.key:
            self.toggle_play()
            return
        self._teardown()
        self.track = track
        self._idle_timer.stop()
        self._want_play = True
        self._bitrate_kbps = None
        self._show_track(track)
        session = PreviewSession(self.context, track, self.cache, self.options, self.pool, self)
        session.progress.connect(self._on_progress)
        session.completed.connect(self._on_completed)
        session.failed.connect(self._fail)
        self._session = session
        session.start()
        self._ticker.start()
        self._refresh_state()

    def stop(self) -> None:
        """Stop playback, cancel the transfer at slskd and delete the cached file."""
        self._teardown()
        self.track = None
        self._show_idle()

    def toggle_play(self) -> None:
        """Play or pause the current preview (before playback starts: whether it starts by itself)."""
        if self._session is None:
            return
        player = self.player
        if self._started and player is not None:
            if player.playbackState() == _PLAYING:
                self._want_play = False
                player.pause()
            else:
                self._want_play = True
                player.play()
        else:
            self._want_play = not self._want_play
        self._refresh_state()

    def shutdown(self) -> None:
        """At exit: stop, let the cleanup at slskd finish (briefly), and empty the stream cache."""
        self._teardown()
        self.pool.waitForDone(int((self.options.cleanup_wait_s + 2) * 1000))
        self.cache.clean()

    # ---- fetch events --------------------------------------------------------------------
    def _on_progress(self, progress: FetchProgress) -> None:
        if self.sender() is not self._session:
            return
        total = progress.total or 1
        self.seek.set_downloaded(progress.available / total)
        if not self._started and self._ready_to_start(progress):
            self._start_player()
        self._try_pending_seek()
        self._refresh_state()

    def _ready_to_start(self, progress: FetchProgress) -> bool:
        if progress.phase == COMPLETE:
            return True
        if progress.phase != TRANSFERRING or self._await_complete:
            return False
        return progress.available >= self._threshold(progress)

    def _threshold(self, progress: FetchProgress) -> int:
        assert self.track is not None
        file = self.track.file
        return start_threshold(progress.total, file.length, file.bitrate, progress.speed, self.options.prebuffer_s)

    def _on_completed(self) -> None:
        if self.sender() is not self._session:
            return
        self.seek.set_downloaded(1.0)
        if not self._started:
            self._start_player()
        self._try_pending_seek()
        self._refresh_state()

    def _fail(self, reason: str) -> None:
        self._teardown()
        self._set_state(PlayerState(PreviewState.FAILED, message=reason))
        self._idle_timer.start(int(self.options.message_s * 1000))

    def _back_to_idle(self) -> None:
        if self.state.kind is PreviewState.FAILED and self._session is None:
            self.track = None
            self._show_idle()

    # ---- the player ------------------------------------------------------------------------
    def _ensure_player(self) -> QMediaPlayer:
        if self.player is None:
            self.no_audio_device = not QMediaDevices.audioOutputs()
            self.audio = QAudioOutput(self)
            self.player = QMediaPlayer(self)
            self.player.setAudioOutput(self.audio)
            self.player.playbackStateChanged.connect(self._on_playback_state)
            self.player.mediaStatusChanged.connect(self._on_media_status)
            self.player.errorOccurred.connect(self._on_player_error)
            self.player.positionChanged.connect(self._on_position)
            self.player.durationChanged.connect(self._on_duration)
            self.player.metaDataChanged.connect(self._on_metadata)
            self._apply_volume()
            if self.track is not None:
                self._show_track(self.track)
        return self.player

    def _start_player(self) -> None:
        session = self._session
        assert session is not None
        player = self._ensure_player()
        self._drop_device()
        device = session.open_device(self)
        device.starved.connect(self._on_starved)
        device.fed.connect(self._on_fed)
        self._device = device
        self._started = True
        self._await_complete = False
        player.setSourceDevice(device, QUrl.fromLocalFile(str(session.path)))
        if self._want_play:
            player.play()
        self._refresh_state()

    def _drop_device(self) -> None:
        """Detach the player from its reader (aborting any read it waits in) and close the reader."""
        device, self._device = self._device, None
        self._starving_at = None
        if device is not None:
            device.abort()
        if self.player is not None:
            self.player.setSource(QUrl())
        if device is not None:
            device.close()
            device.deleteLater()

    def _on_starved(self, position: int) -> None:
        if self.sender() is self._device:
            self._starving_at = position
            self._refresh_state()

    def _on_fed(self) -> None:
        if self.sender() is self._device:
            self._starving_at = None
            self._refresh_state()

    def _on_playback_state(self, state: QMediaPlayer.PlaybackState) -> None:
        self.play_button.setIcon(media_icon("pause" if state == _PLAYING else "play", "#ffffff"))
        self._refresh_state()

    def _on_media_status(self, status: QMediaPlayer.MediaStatus) -> None:
        if self._device is not None and status not in (_Status.NoMedia, _Status.LoadingMedia):
            self._device.set_probing(False)
        if status == _Status.EndOfMedia:
            self._want_play = False
        self._try_pending_seek()
        self._refresh_state()

    def _on_player_error(self, error: QMediaPlayer.Error, text: str) -> None:
        session = self._session
        if session is None or error == QMediaPlayer.Error.NoError or self._device is None or self._device.aborted:
            return
        if not session.complete:
            log.info("preview: the player cannot start on a partial file (%s); waiting for the whole file", text)
            self._drop_device()
            self._started = False
            self._await_complete = True
            self._refresh_state()
            return
        self._fail(f"the file cannot be played ({text or 'unknown format'})")

    def _on_position(self, position: int) -> None:
        self._position_moved_at = time.monotonic()
        if not self.seek.isSliderDown() and self._pending_seek is None:
            self.seek.setValue(position)
            self.elapsed_label.setText(_clock(position))

    def _on_duration(self, duration: int) -> None:
        if duration > 0:
            self._set_duration(duration)
            self._on_metadata()

    def _set_duration(self, duration_ms: int) -> None:
        self.seek.setRange(0, max(0, duration_ms))
        self.total_label.setText(_clock(duration_ms))

    def _duration_ms(self) -> int:
        if self.player is not None and self.player.duration() > 0:
            return self.player.duration()
        length = self.track.file.length if self.track is not None else None
        return int(length * 1000) if length else 0

    def _on_metadata(self) -> None:
        """The bitrate FFmpeg reports; lossless streams report none, so use the file's average."""
        if self.player is None or self.track is None:
            return
        value = self.player.metaData().value(QMediaMetaData.Key.AudioBitRate)
        duration = self.player.duration()
        if isinstance(value, int) and value > 0:
            self._bitrate_kbps = round(value / 1000)
        elif duration > 0:
            self._bitrate_kbps = round(self.track.size * 8 / duration)
        self._show_track(self.track)

    # ---- seeking -------------------------------------------------------------------------------
    def _seek_to(self, position_ms: int) -> None:
        if self._session is None:
            return
        self._pending_seek = position_ms
        self.elapsed_label.setText(_clock(position_ms))
        self._try_pending_seek()
        self._refresh_state()

    def _seek_ready(self, position_ms: int) -> bool:
        session = self._session
        if session is None:
            return False
        if session.complete:
            return True
        needed = byte_for_position(session.buffer.total, self._duration_ms(), position_ms)
        return session.buffer.available >= needed

    def _try_pending_seek(self) -> None:
        target, player = self._pending_seek, self.player
        if target is None or player is None or not self._started:
            return
        if player.mediaStatus() in (_Status.NoMedia, _Status.LoadingMedia) or not self._seek_ready(target):
            return
        self._pending_seek = None
        player.setPosition(target)

    # ---- state -----------------------------------------------------------------------------------
    def _refresh_state(self) -> None:
        session = self._session
        if session is None:
            return
        progress = session.last
        player = self.player
        if not self._started:
            if progress is None or progress.phase == CONNECTING:
                state = PlayerState(PreviewState.CONNECTING)
            elif progress.phase == QUEUED:
                state = PlayerState(PreviewState.QUEUED, place=progress.place)
            else:
                message = "waiting for the whole file" if self._await_complete else ""
                state = PlayerState(PreviewState.BUFFERING, percent=self._start_percent(progress), message=message)
        elif self._pending_seek is not None:
            needed = byte_for_position(session.buffer.total, self._duration_ms(), self._pending_seek)
            state = PlayerState(PreviewState.BUFFERING, percent=_percent(session.buffer.available, needed),
                                message=f"to {_clock(self._pending_seek)}")
        elif self._starving_at is not None and not session.complete and self._position_stalled():
            needed = min(session.buffer.total, self._starving_at + _STARVED_LOOKAHEAD)
            state = PlayerState(PreviewState.BUFFERING, percent=_percent(session.buffer.available, needed))
        elif player is not None and player.playbackState() == _PLAYING:
            state = (PlayerState(PreviewState.BUFFERING) if player.mediaStatus() == _Status.LoadingMedia
                     else PlayerState(PreviewState.PLAYING))
        elif self._want_play and player is not None and player.mediaStatus() not in (_Status.EndOfMedia,
                                                                                   _Status.InvalidMedia):
            state = PlayerState(PreviewState.BUFFERING)
        else:
            state = PlayerState(PreviewState.PAUSED)
        self._set_state(state)

    def _position_stalled(self) -> bool:
        """Playback has not moved for a moment (a waiting read alone may just be FFmpeg reading ahead)."""
        return time.monotonic() - self._position_moved_at >= _STALLED_AFTER_S

    def _start_percent(self, progress: FetchProgress) -> int:
        if self._await_complete or not progress.progressive:
            return _percent(progress.transferred, progress.total)
        return _percent(progress.available, self._threshold(progress))

    def _set_state(self, state: PlayerState) -> None:
        text = state.text if state.kind is not PreviewState.IDLE else ""
        if self.no_audio_device and state.kind in (PreviewState.PLAYING, PreviewState.PAUSED):
            text += " · no audio device, playing silently"
        self.status_label.setText(text)
        failed = state.kind is PreviewState.FAILED
        if self.status_label.property("failed") != failed:
            self.status_label.setProperty("failed", failed)
            self.status_label.style().unpolish(self.status_label)
            self.status_label.style().polish(self.status_label)
        active = self._session is not None
        for widget in (self.play_button, self.stop_button, self.seek):
            widget.setEnabled(active)
        for button in (self.download_button, self.matched_button):
            button.setEnabled(self.track is not None)
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)

    def _show_track(self, track: ResultTrack) -> None:
        guess = track.guess
        self.title_label.setText(guess.title or track.name)
        self.title_label.setToolTip(f"{track.name}\nfrom {track.username}")
        quality = quality_label(track.ext, track.bitrate, track.bit_depth, track.sample_rate, track.is_vbr)
        parts = [guess.artist or "Unknown artist", quality]
        if self._bitrate_kbps:
            parts.append(f"{self._bitrate_kbps} kbps")
        self.detail_label.setText(" · ".join(parts))
        if self.seek.maximum() == 0 or self._session is None:
            self._set_duration(self._duration_ms())
            self.seek.setValue(0)
            self.elapsed_label.setText("0:00")

    def _show_idle(self) -> None:
        self.title_label.setText("Nothing playing")
        self.title_label.setToolTip("")
        self.detail_label.setText("Press ▶ on a search result to preview it")
        self.seek.setRange(0, 0)
        self.seek.set_downloaded(0.0)
        self.elapsed_label.setText("0:00")
        self.total_label.setText("0:00")
        self._set_state(PlayerState())

    def _teardown(self) -> None:
        """Stop the player and end the current session (its worker cancels the transfer and cleans up)."""
        session, self._session = self._session, None
        self._ticker.stop()
        self._drop_device()
        self._started = False
        self._pending_seek = None
        self._await_complete = False
        if session is not None:
            session.stop()
        self.play_button.setIcon(media_icon("play", "#ffffff"))

    def _request_download(self, matched: bool) -> None:
        track = self.track
        if track is None:
            return
        if self._session is not None:
            self._session.hand_over()
        (self.matched_download_requested if matched else self.download_requested).emit(track)

    def _apply_volume(self, *_args: object) -> None:
        muted = self.mute_button.isChecked()
        self.mute_button.setIcon(media_icon("muted" if muted else "speaker"))
        self.mute_button.setToolTip("Unmute" if muted else "Mute")
        if self.audio is not None:
            self.audio.setMuted(muted)
            self.audio.setVolume(QtAudio.convertVolume(self.volume.value() / 100,
                                                       QtAudio.VolumeScale.LogarithmicVolumeScale,
                                                       QtAudio.VolumeScale.LinearVolumeScale))

    # ---- keyboard --------------------------------------------------------------------------------
    def showEvent(self, event) -> None:
        super().showEvent(event)
        window = self.window()
        if window is not self._key_window:
            if self._key_window is not None:
                self._key_window.removeEventFilter(self)
            window.installEventFilter(self)
            self._key_window = window

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._key_window and event.type() == QEvent.Type.KeyPress and self._is_space(event):
            if self._session is not None:
                self.toggle_play()
                return True
        return False

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self._is_space(event) and self._session is not None:
            self.toggle_play()
            event.accept()
            return
        super().keyPressEvent(event)

    @staticmethod
    def _is_space(event: QEvent) -> bool:
        return (isinstance(event, QKeyEvent) and event.key() == Qt.Key.Key_Space and not event.isAutoRepeat()
                and event.modifiers() == Qt.KeyboardModifier.NoModifier)

    # ---- housekeeping -------------------------------------------------------------------------------
    @staticmethod
    def _clean_cache(ctx: TaskContext, cache: StreamCache) -> None:
        removed = cache.clean()
        if removed:
            log.info("preview cache: removed %d leftover file(s)", removed)


def _percent(done: int, needed: int) -> int:
    if needed <= 0:
        return 100
    return max(0, min(100, int(done * 100 / needed)))
