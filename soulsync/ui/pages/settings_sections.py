"""The four sections of the Settings page, each a group box with its fields: Spotify, Plex, slskd and
Downloads. A section fills its fields from the settings (``load``) and writes them back into a copy
(``store``); the page does what needs more than one section (secrets, validation, saving, the
connection tests and the Spotify sign-in)."""
from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (
    QApplication, QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
    QLineEdit, QListWidget, QListWidgetItem, QPushButton, QSpinBox, QVBoxLayout, QWidget,
)

from soulsync.config import TIMEOUT_RANGE_S, Settings
from soulsync.core.quality import TIER_LABELS
from soulsync.services.spotify_auth import redirect_uri_problem
from soulsync.ui.theme import ACCENT, ERROR, MUTED, WARN

LOADING = "loading…"
"""Placeholder of a secret field while its stored value is being read."""
REGISTER_HINT = ("In the Spotify Developer Dashboard, open your app's settings and add exactly this redirect "
                 "URI: {uri}")
"""What to register for the redirect URI in the form (Spotify matches it exactly: reference 2.2)."""
TLS_WARNING = ("\u26a0 The certificate is not checked: anyone on the network path could pose as this "
               "server and read your {what}.")


def _secret_edit(placeholder: str) -> QLineEdit:
    edit = QLineEdit()
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    edit.setPlaceholderText(placeholder)
    edit.setProperty("ready_placeholder", placeholder)
    return edit


def _timeout_box(service: str) -> QDoubleSpinBox:
    """The spin box of a service's network timeout, in seconds."""
    box = QDoubleSpinBox()
    box.setObjectName(f"{service}_timeout")
    box.setRange(*TIMEOUT_RANGE_S)
    box.setDecimals(1)
    box.setSingleStep(1.0)
    box.setSuffix(" s")
    box.setToolTip(f"How long each request to {service} may wait for an answer before it counts as failed")
    return box


def _tls_warning(service: str, what: str) -> QLabel:
    """The warning shown under a service's certificate checkbox while it is off."""
    label = QLabel(TLS_WARNING.format(what=what))
    label.setObjectName(f"{service}_tls_warning")
    label.setWordWrap(True)
    label.setStyleSheet(f"color: {WARN}; background: transparent;")
    return label


class ResultLabel(QLabel):
    """The outcome of a connection test, coloured by state."""

    def __init__(self) -> None:
        super().__init__("")
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.state = ""

    def show_state(self, state: str, text: str) -> None:
        self.state = state
        color = {"ok": ACCENT, "error": ERROR, "busy": WARN}.get(state, MUTED)
        self.setStyleSheet(f"color: {color}; background: transparent;")
        self.setText(text)


def _test_row(service: str) -> tuple[QHBoxLayout, QPushButton, ResultLabel]:
    row = QHBoxLayout()
    button = QPushButton("Test connection")
    button.setObjectName(f"test_{service.lower()}")
    result = ResultLabel()
    result.setObjectName(f"result_{service.lower()}")
    row.addWidget(button)
    row.addWidget(result, 1)
    return row, button, result


class SpotifySection(QGroupBox):
    """The Spotify app's client ID, secret and redirect URI, the account, Connect… and its waiting box."""

    def __init__(self) -> None:
        super().__init__("Spotify")
        form = QFormLayout(self)
        self.client_id = QLineEdit()
        self.client_id.setPlaceholderText("from developer.spotify.com → your app")
        self.client_secret = _secret_edit("optional with PKCE; stored in the keyring")
        self.redirect = QLineEdit()
        self.redirect.setObjectName("spotify_redirect_uri")
        self.redirect.setPlaceholderText("http://127.0.0.1:8888/callback")
        self.redirect_hint = QLabel("")
        self.redirect_hint.setObjectName("spotify_redirect_hint")
        self.redirect_hint.setWordWrap(True)
        self.redirect_hint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.account = QLabel("")
        self.account.setProperty("muted", True)
        form.addRow("Client ID", self.client_id)
        form.addRow("Client secret", self.client_secret)
        form.addRow("Redirect URI", self.redirect)
        form.addRow("", self.redirect_hint)
        self.timeout = _timeout_box("spotify")
        form.addRow("Network timeout", self.timeout)
        form.addRow("Account", self.account)
        row, self.test_button, self.result = _test_row("Spotify")
        self.connect_button = QPushButton("Connect…")
        self.connect_button.setObjectName("spotify_connect")
        self.connect_button.setProperty("primary", True)
        row.insertWidget(0, self.connect_button)
        form.addRow(row)
        form.addRow(self._build_waiting())

    def _build_waiting(self) -> QWidget:
        """What Connect waits for, shown while it waits: the sign-in in the browser, its address (to open by
        hand when no browser opened) and a Cancel button."""
        self.waiting = QWidget()
        self.waiting.setObjectName("spotify_waiting")
        layout = QVBoxLayout(self.waiting)
        layout.setContentsMargins(0, 0, 0, 0)
        self.waiting_text = QLabel("")
        self.waiting_text.setObjectName("spotify_waiting_text")
        self.waiting_text.setWordWrap(True)
        self.signin_url = QLineEdit()
        self.signin_url.setObjectName("spotify_signin_url")
        self.signin_url.setReadOnly(True)
        self.copy_url_button = QPushButton("Copy address")
        self.copy_url_button.setObjectName("spotify_copy_signin_url")
        self.copy_url_button.clicked.connect(self._copy_signin_url)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("spotify_connect_cancel")
        url_row = QHBoxLayout()
        url_row.addWidget(self.signin_url, 1)
        url_row.addWidget(self.copy_url_button)
        url_row.addWidget(self.cancel_button)
        layout.addWidget(self.waiting_text)
        layout.addLayout(url_row)
        self.waiting.setVisible(False)
        return self.waiting

    def _copy_signin_url(self) -> None:
        clipboard = QApplication.clipboard()
        if clipboard is not None:
            clipboard.setText(self.signin_url.text())

    def check_redirect(self, connecting: bool) -> None:
        """Say whether SoulSync can use the redirect URI and what to register for it; Connect… is
        possible with a usable one unless ``connecting`` already."""
        uri = self.redirect.text().strip()
        problem = redirect_uri_problem(uri)
        color = ERROR if problem else MUTED
        self.redirect_hint.setStyleSheet(f"color: {color}; background: transparent;")
        self.redirect_hint.setText(problem or REGISTER_HINT.format(uri=uri))
        self.redirect_hint.setProperty("problem", bool(problem))
        self.connect_button.setEnabled(not problem and not connecting)

    def load(self, s: Settings) -> None:
        """Fill the fields from ``s``; the account says "loading…" until the secrets tell (the redirect
        hint follows from :meth:`check_redirect`)."""
        self.client_id.setText(s.spotify.client_id)
        self.redirect.setText(s.spotify.redirect_uri)
        self.timeout.setValue(s.spotify.timeout_s)
        self.account.setText(s.spotify.user or LOADING)

    def store(self, s: Settings) -> None:
        s.spotify.client_id = self.client_id.text().strip()
        s.spotify.redirect_uri = self.redirect.text().strip() or s.spotify.redirect_uri
        s.spotify.timeout_s = self.timeout.value()


class PlexSection(QGroupBox):
    """The Plex server's URL, token, certificate check, timeout and music library."""

    def __init__(self) -> None:
        super().__init__("Plex")
        form = QFormLayout(self)
        self.url = QLineEdit()
        self.url.setPlaceholderText("http://192.168.1.10:32400")
        self.token = _secret_edit("X-Plex-Token; stored in the keyring")
        self.verify = QCheckBox("Check the server's TLS certificate")
        self.section = QComboBox()
        self.section.setObjectName("plex_section")
        self.section.setEditable(True)
        self.section.setToolTip("Filled from the server by Test connection")
        self.tls_warning = _tls_warning("plex", "Plex token")
        self.timeout = _timeout_box("plex")
        form.addRow("Server URL", self.url)
        form.addRow("Token", self.token)
        form.addRow("", self.verify)
        form.addRow("", self.tls_warning)
        form.addRow("Network timeout", self.timeout)
        form.addRow("Music library", self.section)
        self._form = form
        self.verify.toggled.connect(self._update_tls_warning)
        row, self.test_button, self.result = _test_row("Plex")
        form.addRow(row)

    def _update_tls_warning(self) -> None:
        """A warning under the certificate checkbox while it is off."""
        self._form.setRowVisible(self.tls_warning, not self.verify.isChecked())

    def fill_sections(self, sections: list[str]) -> None:
        """The server's music libraries to choose from (the one typed stays chosen if it is there)."""
        current = self.section.currentText()
        self.section.clear()
        self.section.addItems(sections)
        if current in sections:
            self.section.setCurrentText(current)

    def load(self, s: Settings) -> None:
        self.url.setText(s.plex.url)
        self.verify.setChecked(s.plex.verify_tls)
        self.timeout.setValue(s.plex.timeout_s)
        self.section.clear()
        if s.plex.music_section:
            self.section.addItem(s.plex.music_section)
        self._update_tls_warning()

    def store(self, s: Settings) -> None:
        s.plex.timeout_s = self.timeout.value()
        s.plex.url = self.url.text().strip().rstrip("/")
        s.plex.verify_tls = self.verify.isChecked()
        s.plex.music_section = self.section.currentText().strip()


class SlskdSection(QGroupBox):
    """slskd's URL, URL base, sign-in (API key, or username and password), certificate check and timeout."""

    def __init__(self) -> None:
        super().__init__("slskd (Soulseek)")
        form = QFormLayout(self)
        self.url = QLineEdit()
        self.url.setPlaceholderText("http://localhost:5030")
        self.url_base = QLineEdit()
        self.url_base.setPlaceholderText("only behind a reverse proxy, e.g. /slskd")
        self.auth = QComboBox()
        self.auth.addItem("API key", "api_key")
        self.auth.addItem("Username and password", "password")
        self.api_key = _secret_edit("web.authentication.api_keys; stored in the keyring")
        self.username = QLineEdit()
        self.password = _secret_edit("stored in the keyring")
        self.verify = QCheckBox("Check the server's TLS certificate")
        self.tls_warning = _tls_warning("slskd", "API key or password")
        self.timeout = _timeout_box("slskd")
        form.addRow("URL", self.url)
        form.addRow("URL base", self.url_base)
        form.addRow("Sign in with", self.auth)
        form.addRow("API key", self.api_key)
        form.addRow("Username", self.username)
        form.addRow("Password", self.password)
        form.addRow("", self.verify)
        form.addRow("", self.tls_warning)
        form.addRow("Network timeout", self.timeout)
        self._form = form
        self.verify.toggled.connect(self._update_tls_warning)
        self.auth.currentIndexChanged.connect(self._update_auth)
        row, self.test_button, self.result = _test_row("slskd")
        form.addRow(row)

    def _update_auth(self) -> None:
        by_key = self.auth.currentData() == "api_key"
        self._form.setRowVisible(self.api_key, by_key)
        self._form.setRowVisible(self.username, not by_key)
        self._form.setRowVisible(self.password, not by_key)

    def _update_tls_warning(self) -> None:
        """A warning under the certificate checkbox while it is off."""
        self._form.setRowVisible(self.tls_warning, not self.verify.isChecked())

    def load(self, s: Settings) -> None:
        self.url.setText(s.slskd.url)
        self.url_base.setText(s.slskd.url_base)
        self.auth.setCurrentIndex(max(0, self.auth.findData(s.slskd.auth_mode)))
        self.username.setText(s.slskd.username)
        self.verify.setChecked(s.slskd.verify_tls)
        self.timeout.setValue(s.slskd.timeout_s)
        self._update_auth()
        self._update_tls_warning()

    def store(self, s: Settings) -> None:
        s.slskd.timeout_s = self.timeout.value()
        s.slskd.url = self.url.text().strip().rstrip("/")
        s.slskd.url_base = self.url_base.text().strip()
        s.slskd.auth_mode = self.auth.currentData()
        s.slskd.username = self.username.text().strip()
        s.slskd.verify_tls = self.verify.isChecked()


class DownloadsSection(QGroupBox):
    """How downloads are chosen (quality order, bitrate, fakes, attempts), run and filed (folders,
    templates, clashes). ``form_error``, the page's error line, stands at its foot."""

    def __init__(self, form_error: QLabel) -> None:
        super().__init__("Downloads")
        form = QFormLayout(self)
        self.quality_list = QListWidget()
        self.quality_list.setObjectName("quality_order")
        self.quality_list.setDragDropMode(QListWidget.DragDropMode.InternalMove)
        self.quality_list.setToolTip("Drag to reorder; untick what you never want")
        self.quality_list.setMaximumHeight(200)
        form.addRow("Quality order", self.quality_list)
        self.min_bitrate = QSpinBox()
        self.min_bitrate.setRange(0, 2000)
        self.min_bitrate.setSuffix(" kbps")
        self.lossless_only = QCheckBox("Lossless only")
        form.addRow("Minimum bitrate", self.min_bitrate)
        form.addRow("", self.lossless_only)
        self.download_dir = QLineEdit()
        self.download_dir.setPlaceholderText("slskd's downloads folder as seen from here (empty: ask slskd)")
        self.library_dir = QLineEdit()
        self.library_dir.setPlaceholderText("where tagged files are filed (your Plex music folder)")
        form.addRow("Download folder", self._folder_row(self.download_dir, "slskd downloads folder"))
        form.addRow("Library folder", self._folder_row(self.library_dir, "Music library folder"))
        self.album_template = QLineEdit()
        self.single_template = QLineEdit()
        self.template_hint = QLabel("Fields: {albumartist} {artist} {album} {year} {disc_prefix} {disc} "
                                    "{track:02} {title} {ext}")
        self.template_hint.setProperty("muted", True)
        self.template_hint.setWordWrap(True)
        form.addRow("Album files", self.album_template)
        form.addRow("Single files", self.single_template)
        form.addRow("", self.template_hint)
        self.clash_policy = QComboBox()
        self.clash_policy.addItem("Keep the better file", "keep_better")
        self.clash_policy.addItem("Keep both (numbered name)", "number")
        form.addRow("Existing file", self.clash_policy)
        self.fake_policy = QComboBox()
        self.fake_policy.addItem("Refuse it and try the next source", "refuse")
        self.fake_policy.addItem("Keep it when no other source is left", "best_available")
        self.fake_policy.addItem("Keep it anyway (marked as fake)", "keep")
        self.fake_policy.setToolTip("Every download is checked for a transcode: a \"FLAC\" made from an MP3, "
                                    "a \"320 kbps\" MP3 made from a 128 kbps one, or a file that is not the "
                                    "bitrate its folder or peer promised")
        form.addRow("Fake file", self.fake_policy)
        self.concurrent = QSpinBox()
        self.concurrent.setRange(1, 20)
        self.stall = QSpinBox()
        self.stall.setRange(10, 3600)
        self.stall.setSuffix(" s")
        self.attempts = QSpinBox()
        self.attempts.setRange(1, 20)
        self.search_listen = QSpinBox()
        self.search_listen.setObjectName("search_listen")
        self.search_listen.setRange(1, 120)
        self.search_listen.setSuffix(" s after the last answer")
        self.search_listen.setToolTip("A Soulseek search ends when no user has answered for this long (slskd's "
                                      "search timeout); its results show then. Shorter is quicker, longer "
                                      "hears slow users too. Show now ends a search at once.")
        form.addRow("A search listens for", self.search_listen)
        form.addRow("Concurrent downloads", self.concurrent)
        form.addRow("Give up on a stalled transfer after", self.stall)
        form.addRow("Candidates to try per track", self.attempts)
        form.addRow(form_error)

    def _folder_row(self, edit: QLineEdit, title: str) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(edit, 1)
        browse = QPushButton("Browse…")
        browse.clicked.connect(lambda: self._browse(edit, title))
        row.addWidget(browse)
        return row

    def _browse(self, edit: QLineEdit, title: str) -> None:
        chosen = QFileDialog.getExistingDirectory(self, title, edit.text() or str(Path.home()))
        if chosen:
            edit.setText(chosen)

    def load(self, s: Settings) -> None:
        d = s.downloads
        self.quality_list.clear()
        ordered = list(d.quality_order) + [t for t in TIER_LABELS if t not in d.quality_order]
        for tier in ordered:
            if tier not in TIER_LABELS:
                continue
            item = QListWidgetItem(TIER_LABELS[tier])
            item.setData(Qt.ItemDataRole.UserRole, tier)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsDragEnabled)
            item.setCheckState(Qt.CheckState.Checked if tier in d.quality_order else Qt.CheckState.Unchecked)
            self.quality_list.addItem(item)
        self.min_bitrate.setValue(d.min_bitrate)
        self.lossless_only.setChecked(d.lossless_only)
        self.download_dir.setText(d.download_dir)
        self.library_dir.setText(d.library_dir)
        self.album_template.setText(d.album_template)
        self.single_template.setText(d.single_template)
        self.clash_policy.setCurrentIndex(max(0, self.clash_policy.findData(d.clash_policy)))
        self.fake_policy.setCurrentIndex(max(0, self.fake_policy.findData(d.fake_policy)))
        self.concurrent.setValue(d.concurrent_downloads)
        self.stall.setValue(int(d.stall_timeout_s))
        self.attempts.setValue(d.max_attempts)
        self.search_listen.setValue(round(d.search_timeout_ms / 1000))

    def store(self, s: Settings) -> None:
        d = s.downloads
        d.quality_order = [
            self.quality_list.item(i).data(Qt.ItemDataRole.UserRole)
            for i in range(self.quality_list.count())
            if self.quality_list.item(i).checkState() == Qt.CheckState.Checked
        ]
        d.min_bitrate = self.min_bitrate.value()
        d.lossless_only = self.lossless_only.isChecked()
        d.download_dir = self.download_dir.text().strip()
        d.library_dir = self.library_dir.text().strip()
        d.album_template = self.album_template.text().strip()
        d.single_template = self.single_template.text().strip()
        d.clash_policy = self.clash_policy.currentData()
        d.fake_policy = self.fake_policy.currentData()
        d.concurrent_downloads = self.concurrent.value()
        d.stall_timeout_s = float(self.stall.value())
        d.max_attempts = self.attempts.value()
        d.search_timeout_ms = self.search_listen.value() * 1000


class AutomationSection(QGroupBox):
    """Set and forget: whether the schedule runs, how often, what new releases do, and closing to the tray."""

    def __init__(self) -> None:
        super().__init__("Automation")
        form = QFormLayout(self)
        self.enabled = QCheckBox("Run the schedule while SoulSync runs")
        self.enabled.setObjectName("automation_enabled")
        self.enabled.setToolTip("Kept playlists, wishlist retries and watched artists' new releases, by themselves")
        form.addRow("", self.enabled)
        self.playlist_hours = QDoubleSpinBox()
        self.playlist_hours.setObjectName("automation_playlist_hours")
        self.playlist_hours.setRange(0.25, 24.0 * 30)
        self.playlist_hours.setSuffix(" h")
        self.playlist_hours.setToolTip("How often a playlist you keep in sync is synced (you can change it per "
                                       "playlist)")
        form.addRow("Kept playlists every", self.playlist_hours)
        self.wishlist = QCheckBox("Retry the wishlist by itself (1 h, 6 h, 1 day, then weekly)")
        self.wishlist.setObjectName("automation_wishlist")
        form.addRow("", self.wishlist)
        self.keeps_failing = QSpinBox()
        self.keeps_failing.setRange(2, 100)
        self.keeps_failing.setSuffix(" tries")
        self.keeps_failing.setToolTip("After this many failed tries a track is marked “keeps failing” and no longer "
                                      "retried by itself")
        form.addRow("Give up after", self.keeps_failing)
        self.artist_hours = QDoubleSpinBox()
        self.artist_hours.setRange(1.0, 24.0 * 30)
        self.artist_hours.setSuffix(" h")
        form.addRow("Watched artists every", self.artist_hours)
        self.release_action = QComboBox()
        self.release_action.setObjectName("automation_release_action")
        self.release_action.addItem("Put their tracks on the wishlist", "wishlist")
        self.release_action.addItem("Download them at once", "download")
        form.addRow("New releases", self.release_action)
        self.close_to_tray = QComboBox()
        self.close_to_tray.setObjectName("automation_close_to_tray")
        self.close_to_tray.addItem("Ask me", "ask")
        self.close_to_tray.addItem("Keep running in the tray", "tray")
        self.close_to_tray.addItem("Quit", "quit")
        form.addRow("Closing the window", self.close_to_tray)
        self.notifications = QCheckBox("Tell me what runs brought in (tray messages)")
        form.addRow("", self.notifications)

    def load(self, s: Settings) -> None:
        a = s.automation
        self.enabled.setChecked(a.enabled)
        self.playlist_hours.setValue(a.playlist_interval_h)
        self.wishlist.setChecked(a.wishlist_enabled)
        self.keeps_failing.setValue(a.keeps_failing_after)
        self.artist_hours.setValue(a.artists_interval_h)
        self.release_action.setCurrentIndex(max(0, self.release_action.findData(a.new_release_action)))
        self.close_to_tray.setCurrentIndex(max(0, self.close_to_tray.findData(a.close_to_tray)))
        self.notifications.setChecked(a.notifications)

    def store(self, s: Settings) -> None:
        a = s.automation
        a.enabled = self.enabled.isChecked()
        a.playlist_interval_h = float(self.playlist_hours.value())
        a.wishlist_enabled = self.wishlist.isChecked()
        a.keeps_failing_after = self.keeps_failing.value()
        a.artists_interval_h = float(self.artist_hours.value())
        a.new_release_action = self.release_action.currentData()
        a.close_to_tray = self.close_to_tray.currentData()
        a.notifications = self.notifications.isChecked()
