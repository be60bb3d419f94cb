"""Settings: credentials and addresses of Spotify, Plex and slskd, each with a connection
test and a network timeout, and the download preferences.

Stored secrets (tokens, passwords, API keys) are read and written in a worker: a desktop keyring
may take seconds to answer, and the window must not freeze meanwhile. Until they arrive their
fields are disabled and say "loading…", and saving leaves every stored secret alone."""
from __future__ import annotations

import copy
import logging
from pathlib import Path

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QResizeEvent
from PyQt6.QtWidgets import (
    QApplication, QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGridLayout, QGroupBox,
    QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem, QPushButton, QScrollArea, QSizePolicy, QSpinBox,
    QVBoxLayout, QWidget,
)

from soulsync.config import TIMEOUT_RANGE_S, Settings
from soulsync.context import AppContext, build_plex, build_slskd, build_spotify, build_spotify_auth
from soulsync.core.quality import TIER_LABELS
from soulsync.services import checks
from soulsync.services.spotify_auth import CONNECT_TIMEOUT_S, redirect_uri_problem
from soulsync.ui.pages.base import Page
from soulsync.ui.service_monitor import ServiceMonitor
from soulsync.ui.theme import ACCENT, ERROR, MUTED, WARN
from soulsync.ui.widgets.wheel_guard import guard_wheel
from soulsync.ui.workers import TaskHandle, run_task

log = logging.getLogger(__name__)

SECTIONS_SIDE_BY_SIDE_WIDTH = 1100
"""Page width (px) from which the download settings stand beside the connections rather than below them."""

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


SECRET_NAMES = ("spotify_client_secret", "plex_token", "slskd_api_key", "slskd_password")
"""The secrets that have a field on this page."""


def _read_secrets(_ctx, secrets) -> tuple[dict[str, str], bool]:
    """The stored secrets of :data:`SECRET_NAMES`, and whether a Spotify account is connected (a
    task for a worker: the keyring may be slow). The refresh token's value stays here."""
    return {name: secrets.get(name) for name in SECRET_NAMES}, bool(secrets.get("spotify_refresh_token"))


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


class SettingsPage(Page):
    page_id = "settings"
    title = "Settings"
    subtitle = "Connections to Spotify, Plex and slskd, and how downloads are chosen and filed"

    connect_timeout_s = CONNECT_TIMEOUT_S
    """How long Connect waits for the browser to come back."""

    settings_saved = pyqtSignal()
    secrets_loaded = pyqtSignal()
    """The stored secrets arrived from the worker and fill their fields."""

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.monitor: ServiceMonitor | None = None
        """The service monitor, checked again after a save (the main window passes it)."""
        self._tasks: dict[str, TaskHandle] = {}
        self._loaded_secrets: dict[str, str] | None = None
        """The stored secrets as last read or written; None while they are being read."""
        self._load_generation = 0

        self.save_button = QPushButton("Save changes")
        self.save_button.setObjectName("settings_save")
        self.save_button.setProperty("primary", True)
        self.save_button.clicked.connect(self.save)
        self.revert_button = QPushButton("Revert")
        self.revert_button.clicked.connect(self.load_from_context)
        self.saved_label = QLabel("")
        self.saved_label.setProperty("muted", True)
        self.header_actions.addWidget(self.saved_label)
        self.header_actions.addWidget(self.revert_button)
        self.header_actions.addWidget(self.save_button)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        inner = QWidget()
        self.section_grid = QGridLayout(inner)
        self.section_grid.setContentsMargins(0, 0, 8, 0)
        self.section_grid.setHorizontalSpacing(16)
        self.sections = [self._build_spotify(), self._build_plex(), self._build_slskd(), self._build_downloads()]
        for section in self.sections:  # a check box is as wide as its text: a click beside it does nothing
            for box in section.findChildren(QCheckBox):
                box.setSizePolicy(QSizePolicy.Policy.Maximum, box.sizePolicy().verticalPolicy())
        self._section_columns = 0
        self._place_sections(2)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(inner)
        guard_wheel(inner)  # the wheel scrolls the form; it changes a combo or spin box only once focused
        self.body.addWidget(scroll, 1)
        self.load_from_context()

    def _place_sections(self, columns: int) -> None:
        """The connections beside the download settings when there is room, else all in one column."""
        if columns == self._section_columns:
            return
        self._section_columns = columns
        grid = self.section_grid
        for section in self.sections:
            grid.removeWidget(section)
        for row in range(5):
            grid.setRowStretch(row, 0)
        for n, section in enumerate(self.sections[:3]):
            grid.addWidget(section, n, 0)
        if columns == 2:
            grid.addWidget(self.sections[3], 0, 1, 3, 1)
            grid.setColumnStretch(1, 1)
            grid.setRowStretch(3, 1)
        else:
            grid.addWidget(self.sections[3], 3, 0)
            grid.setColumnStretch(1, 0)
            grid.setRowStretch(4, 1)
        grid.setColumnStretch(0, 1)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_sections(2 if event.size().width() >= SECTIONS_SIDE_BY_SIDE_WIDTH else 1)

    # ---- sections ---------------------------------------------------------
    def _test_row(self, service: str) -> tuple[QHBoxLayout, QPushButton, ResultLabel]:
        row = QHBoxLayout()
        button = QPushButton("Test connection")
        button.setObjectName(f"test_{service.lower()}")
        result = ResultLabel()
        result.setObjectName(f"result_{service.lower()}")
        row.addWidget(button)
        row.addWidget(result, 1)
        return row, button, result

    def _build_spotify(self) -> QGroupBox:
        box = QGroupBox("Spotify")
        form = QFormLayout(box)
        self.sp_client_id = QLineEdit()
        self.sp_client_id.setPlaceholderText("from developer.spotify.com → your app")
        self.sp_client_secret = _secret_edit("optional with PKCE; stored in the keyring")
        self.sp_redirect = QLineEdit()
        self.sp_redirect.setObjectName("spotify_redirect_uri")
        self.sp_redirect.setPlaceholderText("http://127.0.0.1:8888/callback")
        self.sp_redirect_hint = QLabel("")
        self.sp_redirect_hint.setObjectName("spotify_redirect_hint")
        self.sp_redirect_hint.setWordWrap(True)
        self.sp_redirect_hint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.sp_account = QLabel("")
        self.sp_account.setProperty("muted", True)
        form.addRow("Client ID", self.sp_client_id)
        form.addRow("Client secret", self.sp_client_secret)
        form.addRow("Redirect URI", self.sp_redirect)
        form.addRow("", self.sp_redirect_hint)
        self.sp_timeout = _timeout_box("spotify")
        form.addRow("Network timeout", self.sp_timeout)
        form.addRow("Account", self.sp_account)
        row, self.sp_test, self.sp_result = self._test_row("Spotify")
        self.sp_connect = QPushButton("Connect…")
        self.sp_connect.setObjectName("spotify_connect")
        self.sp_connect.setProperty("primary", True)
        row.insertWidget(0, self.sp_connect)
        form.addRow(row)
        form.addRow(self._build_spotify_waiting())
        self.sp_connect.clicked.connect(self.connect_spotify)
        self.sp_test.clicked.connect(self.test_spotify)
        self.sp_redirect.textChanged.connect(self._check_redirect)
        return box

    def _build_spotify_waiting(self) -> QWidget:
        """What Connect waits for, shown while it waits: the sign-in in the browser, its address (to open by
        hand when no browser opened) and a Cancel button."""
        self.sp_waiting = QWidget()
        self.sp_waiting.setObjectName("spotify_waiting")
        layout = QVBoxLayout(self.sp_waiting)
        layout.setContentsMargins(0, 0, 0, 0)
        self.sp_waiting_text = QLabel("")
        self.sp_waiting_text.setObjectName("spotify_waiting_text")
        self.sp_waiting_text.setWordWrap(True)
        self.sp_signin_url = QLineEdit()
        self.sp_signin_url.setObjectName("spotify_signin_url")
        self.sp_signin_url.setReadOnly(True)
        self.sp_copy_url = QPushButton("Copy address")
        self.sp_copy_url.setObjectName("spotify_copy_signin_url")
        self.sp_copy_url.clicked.connect(self._copy_signin_url)
        self.sp_cancel = QPushButton("Cancel")
        self.sp_cancel.setObjectName("spotify_connect_cancel")
        self.sp_cancel.clicked.connect(self.cancel_spotify_connect)
        url_row = QHBoxLayout()
        url_row.addWidget(self.sp_signin_url, 1)
        url_row.addWidget(self.sp_copy_url)
        url_row.addWidget(self.sp_cancel)
        layout.addWidget(self.sp_waiting_text)
        layout.addLayout(url_row)
        self.sp_waiting.setVisible(False)
        return self.sp_waiting

    def _copy_signin_url(self) -> None:
        clipboard = QApplication.clipboard()
        if clipboard is not None:
            clipboard.setText(self.sp_signin_url.text())

    def _check_redirect(self) -> None:
        """Say, as the user types, whether SoulSync can use the redirect URI and what to register for it."""
        uri = self.sp_redirect.text().strip()
        problem = redirect_uri_problem(uri)
        color = ERROR if problem else MUTED
        self.sp_redirect_hint.setStyleSheet(f"color: {color}; background: transparent;")
        self.sp_redirect_hint.setText(problem or REGISTER_HINT.format(uri=uri))
        self.sp_redirect_hint.setProperty("problem", bool(problem))
        self.sp_connect.setEnabled(not problem and "spotify_connect" not in self._tasks)

    def _build_plex(self) -> QGroupBox:
        box = QGroupBox("Plex")
        form = QFormLayout(box)
        self.plex_url = QLineEdit()
        self.plex_url.setPlaceholderText("http://192.168.1.10:32400")
        self.plex_token = _secret_edit("X-Plex-Token; stored in the keyring")
        self.plex_verify = QCheckBox("Check the server's TLS certificate")
        self.plex_section = QComboBox()
        self.plex_section.setObjectName("plex_section")
        self.plex_section.setEditable(True)
        self.plex_section.setToolTip("Filled from the server by Test connection")
        self.plex_tls_warning = _tls_warning("plex", "Plex token")
        self.plex_timeout = _timeout_box("plex")
        form.addRow("Server URL", self.plex_url)
        form.addRow("Token", self.plex_token)
        form.addRow("", self.plex_verify)
        form.addRow("", self.plex_tls_warning)
        form.addRow("Network timeout", self.plex_timeout)
        form.addRow("Music library", self.plex_section)
        self._plex_form = form
        self.plex_verify.toggled.connect(self._update_tls_warnings)
        row, self.plex_test, self.plex_result = self._test_row("Plex")
        form.addRow(row)
        self.plex_test.clicked.connect(self.test_plex)
        return box

    def _build_slskd(self) -> QGroupBox:
        box = QGroupBox("slskd (Soulseek)")
        form = QFormLayout(box)
        self.sl_url = QLineEdit()
        self.sl_url.setPlaceholderText("http://localhost:5030")
        self.sl_url_base = QLineEdit()
        self.sl_url_base.setPlaceholderText("only behind a reverse proxy, e.g. /slskd")
        self.sl_auth = QComboBox()
        self.sl_auth.addItem("API key", "api_key")
        self.sl_auth.addItem("Username and password", "password")
        self.sl_api_key = _secret_edit("web.authentication.api_keys; stored in the keyring")
        self.sl_username = QLineEdit()
        self.sl_password = _secret_edit("stored in the keyring")
        self.sl_verify = QCheckBox("Check the server's TLS certificate")
        self.sl_tls_warning = _tls_warning("slskd", "API key or password")
        self.sl_timeout = _timeout_box("slskd")
        form.addRow("URL", self.sl_url)
        form.addRow("URL base", self.sl_url_base)
        form.addRow("Sign in with", self.sl_auth)
        form.addRow("API key", self.sl_api_key)
        form.addRow("Username", self.sl_username)
        form.addRow("Password", self.sl_password)
        form.addRow("", self.sl_verify)
        form.addRow("", self.sl_tls_warning)
        form.addRow("Network timeout", self.sl_timeout)
        self._sl_form = form
        self.sl_verify.toggled.connect(self._update_tls_warnings)
        self.sl_auth.currentIndexChanged.connect(self._update_slskd_auth)
        row, self.sl_test, self.sl_result = self._test_row("slskd")
        form.addRow(row)
        self.sl_test.clicked.connect(self.test_slskd)
        return box

    def _update_slskd_auth(self) -> None:
        by_key = self.sl_auth.currentData() == "api_key"
        self._sl_form.setRowVisible(self.sl_api_key, by_key)
        self._sl_form.setRowVisible(self.sl_username, not by_key)
        self._sl_form.setRowVisible(self.sl_password, not by_key)

    def _update_tls_warnings(self) -> None:
        """A warning under each certificate checkbox that is off."""
        self._plex_form.setRowVisible(self.plex_tls_warning, not self.plex_verify.isChecked())
        self._sl_form.setRowVisible(self.sl_tls_warning, not self.sl_verify.isChecked())

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

    def _build_downloads(self) -> QGroupBox:
        box = QGroupBox("Downloads")
        form = QFormLayout(box)
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
        self.form_error = QLabel("")
        self.form_error.setObjectName("settings_error")
        self.form_error.setStyleSheet(f"color: {ERROR}; background: transparent;")
        self.form_error.setWordWrap(True)
        form.addRow(self.form_error)
        return box

    # ---- form <-> settings ------------------------------------------------
    def load_from_context(self) -> None:
        """Fill the form from the saved settings; the stored secrets follow from a worker."""
        s = self.context.settings
        self.sp_client_id.setText(s.spotify.client_id)
        self.sp_redirect.setText(s.spotify.redirect_uri)
        self._check_redirect()
        self.sp_timeout.setValue(s.spotify.timeout_s)
        self.sp_account.setText(s.spotify.user or LOADING)
        self.plex_url.setText(s.plex.url)
        self.plex_verify.setChecked(s.plex.verify_tls)
        self.plex_timeout.setValue(s.plex.timeout_s)
        self.plex_section.clear()
        if s.plex.music_section:
            self.plex_section.addItem(s.plex.music_section)
        self.sl_url.setText(s.slskd.url)
        self.sl_url_base.setText(s.slskd.url_base)
        self.sl_auth.setCurrentIndex(max(0, self.sl_auth.findData(s.slskd.auth_mode)))
        self.sl_username.setText(s.slskd.username)
        self.sl_verify.setChecked(s.slskd.verify_tls)
        self.sl_timeout.setValue(s.slskd.timeout_s)
        self._update_slskd_auth()
        self._update_tls_warnings()
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
        self.form_error.setText("")
        self.saved_label.setText("")
        self._load_secrets()

    # ---- secrets, read and written in a worker ------------------------------
    def _secret_fields(self) -> dict[str, QLineEdit]:
        return {"spotify_client_secret": self.sp_client_secret, "plex_token": self.plex_token,
                "slskd_api_key": self.sl_api_key, "slskd_password": self.sl_password}

    @property
    def secrets_ready(self) -> bool:
        """True once the stored secrets fill their fields."""
        return self._loaded_secrets is not None

    def _load_secrets(self) -> None:
        self._load_generation += 1
        generation = self._load_generation
        self._loaded_secrets = None
        for edit in self._secret_fields().values():
            edit.clear()
            edit.setEnabled(False)
            edit.setPlaceholderText(LOADING)
        previous = self._tasks.pop("load_secrets", None)
        if previous is not None:
            previous.cancel()
        self._tasks["load_secrets"] = run_task(
            _read_secrets, self.context.secrets, owner=self,
            on_result=lambda values: self._secrets_arrived(generation, values),
            on_error=lambda exc: self._secrets_failed(generation, exc))

    def _secrets_arrived(self, generation: int, read: tuple[dict[str, str], bool]) -> None:
        values, connected = read
        if generation != self._load_generation:
            return  # a later Revert asked again
        self._tasks.pop("load_secrets", None)
        for name, edit in self._secret_fields().items():
            edit.setText(values.get(name, ""))
            edit.setPlaceholderText(edit.property("ready_placeholder"))
            edit.setEnabled(True)
        self._loaded_secrets = {name: values.get(name, "") for name in SECRET_NAMES}
        user = self.context.settings.spotify.user
        self.sp_account.setText(user or ("connected" if connected else "not connected"))
        self.secrets_loaded.emit()

    def _secrets_failed(self, generation: int, exc: Exception) -> None:
        if generation != self._load_generation:
            return
        self._tasks.pop("load_secrets", None)
        self.form_error.setText(f"Could not read the stored passwords and tokens ({type(exc).__name__}); "
                                "saving leaves them as they are. Press Revert to try again.")

    def _form_secret(self, name: str) -> str | None:
        """The secret as the form has it, or None before the stored one was read (then the worker
        that needs it reads it)."""
        if self._loaded_secrets is None:
            return None
        edit = self._secret_fields()[name]
        return edit.text() if name == "slskd_password" else edit.text().strip()

    def _changed_secrets(self) -> dict[str, str]:
        """The secrets the form changes: nothing before the stored ones were read."""
        if self._loaded_secrets is None:
            return {}
        changed = {name: self._form_secret(name) or "" for name in SECRET_NAMES}
        return {name: value for name, value in changed.items() if value != self._loaded_secrets[name]}

    def form_settings(self) -> Settings:
        """A copy of the saved settings with the form's values applied (secrets excluded)."""
        s = copy.deepcopy(self.context.settings)
        s.spotify.client_id = self.sp_client_id.text().strip()
        s.spotify.redirect_uri = self.sp_redirect.text().strip() or s.spotify.redirect_uri
        s.spotify.timeout_s = self.sp_timeout.value()
        s.plex.timeout_s = self.plex_timeout.value()
        s.slskd.timeout_s = self.sl_timeout.value()
        s.plex.url = self.plex_url.text().strip().rstrip("/")
        s.plex.verify_tls = self.plex_verify.isChecked()
        s.plex.music_section = self.plex_section.currentText().strip()
        s.slskd.url = self.sl_url.text().strip().rstrip("/")
        s.slskd.url_base = self.sl_url_base.text().strip()
        s.slskd.auth_mode = self.sl_auth.currentData()
        s.slskd.username = self.sl_username.text().strip()
        s.slskd.verify_tls = self.sl_verify.isChecked()
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
        return s

    def validate(self, s: Settings) -> str:
        """An error sentence for an invalid form, or ''."""
        from soulsync.core.organize import validate_template

        if not s.downloads.quality_order:
            return "Tick at least one quality in the quality order."
        for label, template in (("Album files", s.downloads.album_template),
                                ("Single files", s.downloads.single_template)):
            try:
                validate_template(template)
            except ValueError as exc:
                return f"{label} template: {exc}"
        problem = redirect_uri_problem(s.spotify.redirect_uri)
        if problem:
            return f"Spotify redirect URI: {problem}"
        for label, url in (("Plex server URL", s.plex.url), ("slskd URL", s.slskd.url)):
            if url and not url.lower().startswith(("http://", "https://")):
                return f"{label} must start with http:// or https://"
        return ""

    def save(self) -> bool:
        """Save the form. Changed secrets are written in a worker first, then the settings file;
        ``settings_saved`` follows. False when the form is invalid or a save is still running."""
        if "save_secrets" in self._tasks:
            return False
        s = self.form_settings()
        problem = self.validate(s)
        self.form_error.setText(problem)
        if problem:
            self.saved_label.setText("")
            return False
        changed = self._changed_secrets()
        if not changed:
            return self._apply(s)
        self.save_button.setEnabled(False)
        self.revert_button.setEnabled(False)
        self.saved_label.setText("Saving…")
        secrets = self.context.secrets
        stored: list[str] = []

        def write(ctx) -> None:
            for name, value in changed.items():
                secrets.set(name, value)
                stored.append(name)

        def written(_value) -> None:
            if self._loaded_secrets is not None:
                self._loaded_secrets.update(changed)
            self._apply(s)

        def failed(exc: Exception) -> None:
            if self._loaded_secrets is not None:  # those stored before the failure are saved: not "changed" now
                self._loaded_secrets.update({name: changed[name] for name in stored})
            self.saved_label.setText("")
            kept = (f"{len(stored)} of the {len(changed)} changed ones were stored; the other settings were "
                    "not saved." if stored else "nothing was saved.")
            self.form_error.setText(f"Could not store the passwords and tokens ({type(exc).__name__}); {kept}")

        def finished() -> None:
            self._tasks.pop("save_secrets", None)
            self.save_button.setEnabled(True)
            self.revert_button.setEnabled(True)

        self._tasks["save_secrets"] = run_task(write, owner=self, on_result=written, on_error=failed,
                                               on_finished=finished)
        return True

    def _apply(self, s: Settings) -> bool:
        """Make ``s`` the app's settings and write the settings file."""
        self.context.settings = s
        try:
            self.context.save()
        except OSError as exc:
            self.form_error.setText(f"Could not save the settings file: {exc}")
            self.saved_label.setText("")
            return False
        self.saved_label.setText("Saved")
        self.settings_saved.emit()
        self.announce("Settings saved")
        if self.monitor is not None:
            self.monitor.check_all()
        return True

    # ---- connection tests -------------------------------------------------
    def _run_check(self, key: str, button: QPushButton, label: ResultLabel, probe) -> None:
        if key in self._tasks:
            return
        button.setEnabled(False)
        label.show_state("busy", "Testing…")

        def done(result: checks.CheckResult) -> None:
            label.show_state("ok" if result.ok else "error", result.summary)
            if key == "plex" and result.ok:
                self._fill_sections(result.details.get("music_sections", []))

        def failed(exc: Exception) -> None:
            label.show_state("error", checks.describe_error(exc, label.objectName().split("_")[1])[1])

        def finished() -> None:
            self._tasks.pop(key, None)
            button.setEnabled(True)

        self._tasks[key] = run_task(lambda ctx: probe(), owner=self, on_result=done, on_error=failed,
                                    on_finished=finished)

    def _fill_sections(self, sections: list[str]) -> None:
        current = self.plex_section.currentText()
        self.plex_section.clear()
        self.plex_section.addItems(sections)
        if current in sections:
            self.plex_section.setCurrentText(current)

    def test_spotify(self) -> None:
        s = self.form_settings().spotify
        secret = self._form_secret("spotify_client_secret")
        if not s.client_id:
            self.sp_result.show_state("error", "Enter the client ID of your Spotify app first.")
            return
        secrets = self.context.secrets
        store = self.context._store_spotify_tokens

        def probe() -> checks.CheckResult:
            refresh = secrets.get("spotify_refresh_token")
            if not refresh:
                return checks.CheckResult("Spotify", False, "Not connected yet: press Connect… to sign in to Spotify.",
                                          kind="auth")
            stored = secrets.get("spotify_client_secret") if secret is None else secret
            return checks.check_spotify(build_spotify(s, build_spotify_auth(s, stored, refresh, store)))

        self._run_check("spotify", self.sp_test, self.sp_result, probe)

    def connect_spotify(self) -> None:
        """Authorization code with PKCE: opens the browser, waits (in a worker) for the redirect on the loopback
        address, showing the sign-in address and a Cancel button meanwhile. The tokens (and the client secret
        used) are stored by the worker once the account answered."""
        if "spotify_connect" in self._tasks:
            return
        s = self.form_settings().spotify
        if not s.client_id:
            self.sp_result.show_state("error", "Enter the client ID of your Spotify app first.")
            return
        problem = redirect_uri_problem(self.sp_redirect.text())
        if problem:
            self.sp_result.show_state("error", f"Fix the redirect URI first: {problem}")
            return
        secret = self._form_secret("spotify_client_secret")
        context = self.context
        opener = context.open_browser
        timeout = self.connect_timeout_s
        self.sp_connect.setEnabled(False)
        self.sp_result.show_state("busy", "Opening the Spotify sign-in…")

        def work(ctx):
            captured: dict = {}
            used = context.secrets.get("spotify_client_secret") if secret is None else secret
            auth = build_spotify_auth(s, used, "", captured.update)
            auth.authorize(open_browser=opener, cancelled=lambda: ctx.cancelled, timeout=timeout,
                           on_waiting=ctx.progress)
            user = build_spotify(s, auth).current_user()
            ctx.check()  # cancelled meanwhile: store nothing
            context._store_spotify_tokens(captured)
            if secret is not None:
                context.secrets.set("spotify_client_secret", secret)
            return user

        def done(user) -> None:
            if secret is not None and self._loaded_secrets is not None:
                self._loaded_secrets["spotify_client_secret"] = secret
            name = user.get("display_name") or user.get("id") or ""
            self.context.settings.spotify.client_id = s.client_id
            self.context.settings.spotify.redirect_uri = s.redirect_uri
            self.context.settings.spotify.user = name
            self.context.save()
            self.sp_account.setText(name)
            self.sp_result.show_state("ok", f"Connected as {name}")
            if self.monitor is not None:
                self.monitor.check("Spotify")

        def waiting(url: str) -> None:
            self.sp_result.show_state("busy", "Waiting for the Spotify sign-in in your browser…")
            self.sp_waiting_text.setText(
                f"Sign in to Spotify in your browser and approve SoulSync. Spotify then sends the browser back "
                f"to {s.redirect_uri}, where SoulSync is listening (for up to {checks.seconds(timeout)}). "
                "If no browser opened, open this address yourself:")
            self.sp_signin_url.setText(url)
            self.sp_signin_url.setCursorPosition(0)
            self.sp_waiting.setVisible(True)

        def failed(exc: Exception) -> None:
            self.sp_result.show_state("error", checks.describe_error(exc, "Spotify")[1])

        def finished() -> None:
            self._tasks.pop("spotify_connect", None)
            self.sp_waiting.setVisible(False)
            self.sp_signin_url.clear()
            self._check_redirect()
            if self.sp_result.state == "busy":
                self.sp_result.show_state("", "Sign-in cancelled.")

        self._tasks["spotify_connect"] = run_task(work, owner=self, on_result=done, on_error=failed,
                                                  on_progress=waiting, on_finished=finished)

    def cancel_spotify_connect(self) -> None:
        """Stop waiting for the Spotify sign-in (the listener closes; nothing is stored)."""
        task = self._tasks.get("spotify_connect")
        if task is not None:
            task.cancel()

    def test_plex(self) -> None:
        s = self.form_settings().plex
        token = self._form_secret("plex_token")
        if not s.url:
            self.plex_result.show_state("error", "Enter the Plex server URL first.")
            return
        secrets = self.context.secrets

        def probe() -> checks.CheckResult:
            return checks.check_plex(build_plex(s, secrets.get("plex_token") if token is None else token))

        self._run_check("plex", self.plex_test, self.plex_result, probe)

    def test_slskd(self) -> None:
        s = self.form_settings().slskd
        key, password = self._form_secret("slskd_api_key"), self._form_secret("slskd_password")
        if not s.url:
            self.sl_result.show_state("error", "Enter the slskd URL first.")
            return
        secrets = self.context.secrets

        def probe() -> checks.CheckResult:
            return checks.check_slskd(build_slskd(
                s, secrets.get("slskd_api_key") if key is None else key,
                secrets.get("slskd_password") if password is None else password))

        self._run_check("slskd", self.sl_test, self.sl_result, probe)

    def shutdown(self) -> None:
        for handle in list(self._tasks.values()):
            handle.cancel()
