"""Settings: credentials and addresses of Spotify, Plex and slskd, each with a connection
test and a network timeout, and the download preferences.

Stored secrets (tokens, passwords, API keys) are read and written in a worker: a desktop keyring
may take seconds to answer, and the window must not freeze meanwhile. Until they arrive their
fields are disabled and say "loading…", and saving leaves every stored secret alone.

The sections' fields are :mod:`soulsync.ui.pages.settings_sections`; this page does what spans
them: secrets, validation, saving, the connection tests and the Spotify sign-in."""
from __future__ import annotations

import copy
import logging

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QResizeEvent
from PyQt6.QtWidgets import (
    QCheckBox, QGridLayout, QGroupBox, QLabel, QLineEdit, QPushButton, QScrollArea, QSizePolicy, QWidget,
)

from soulsync.config import Settings
from soulsync.context import AppContext, build_plex, build_slskd, build_spotify, build_spotify_auth
from soulsync.services import checks
from soulsync.services.spotify_auth import CONNECT_TIMEOUT_S, redirect_uri_problem
from soulsync.ui.pages.base import Page
from soulsync.ui.pages.settings_sections import (
    LOADING, AutomationSection, DownloadsSection, PlexSection, ResultLabel, SlskdSection, SpotifySection,
)
from soulsync.ui.service_monitor import ServiceMonitor
from soulsync.ui.theme import ERROR
from soulsync.ui.widgets.wheel_guard import guard_wheel
from soulsync.ui.workers import TaskHandle, run_task

log = logging.getLogger(__name__)

SECTIONS_SIDE_BY_SIDE_WIDTH = 1100
"""Page width (px) from which the download settings stand beside the connections rather than below them."""

SECRET_NAMES = ("spotify_client_secret", "plex_token", "slskd_api_key", "slskd_password")
"""The secrets that have a field on this page."""


def _read_secrets(_ctx, secrets) -> tuple[dict[str, str], bool]:
    """The stored secrets of :data:`SECRET_NAMES`, and whether a Spotify account is connected (a
    task for a worker: the keyring may be slow). The refresh token's value stays here."""
    return {name: secrets.get(name) for name in SECRET_NAMES}, bool(secrets.get("spotify_refresh_token"))


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
        self.form_error = QLabel("")
        self.form_error.setObjectName("settings_error")
        self.form_error.setStyleSheet(f"color: {ERROR}; background: transparent;")
        self.form_error.setWordWrap(True)
        self.spotify = SpotifySection()
        self.plex = PlexSection()
        self.slskd = SlskdSection()
        self.downloads = DownloadsSection(self.form_error)
        self.automation = AutomationSection()
        self.sections: list[QGroupBox] = [self.spotify, self.plex, self.slskd, self.downloads, self.automation]
        self.spotify.connect_button.clicked.connect(self.connect_spotify)
        self.spotify.cancel_button.clicked.connect(self.cancel_spotify_connect)
        self.spotify.test_button.clicked.connect(self.test_spotify)
        self.spotify.redirect.textChanged.connect(self._check_redirect)
        self.plex.test_button.clicked.connect(self.test_plex)
        self.slskd.test_button.clicked.connect(self.test_slskd)
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
        for row in range(6):
            grid.setRowStretch(row, 0)
        for n, section in enumerate(self.sections[:3]):
            grid.addWidget(section, n, 0)
        if columns == 2:
            grid.addWidget(self.sections[3], 0, 1, 3, 1)
            grid.addWidget(self.sections[4], 3, 0)
            grid.setColumnStretch(1, 1)
            grid.setRowStretch(4, 1)
        else:
            grid.addWidget(self.sections[3], 3, 0)
            grid.addWidget(self.sections[4], 4, 0)
            grid.setColumnStretch(1, 0)
            grid.setRowStretch(5, 1)
        grid.setColumnStretch(0, 1)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_sections(2 if event.size().width() >= SECTIONS_SIDE_BY_SIDE_WIDTH else 1)

    def _check_redirect(self) -> None:
        """Say, as the user types, whether SoulSync can use the redirect URI and what to register for it."""
        self.spotify.check_redirect(connecting="spotify_connect" in self._tasks)

    # ---- form <-> settings ------------------------------------------------
    def load_from_context(self) -> None:
        """Fill the form from the saved settings; the stored secrets follow from a worker."""
        s = self.context.settings
        self.spotify.load(s)
        self._check_redirect()
        self.plex.load(s)
        self.slskd.load(s)
        self.downloads.load(s)
        self.automation.load(s)
        self.form_error.setText("")
        self.saved_label.setText("")
        self._load_secrets()

    # ---- secrets, read and written in a worker ------------------------------
    def _secret_fields(self) -> dict[str, QLineEdit]:
        return {"spotify_client_secret": self.spotify.client_secret, "plex_token": self.plex.token,
                "slskd_api_key": self.slskd.api_key, "slskd_password": self.slskd.password}

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
        self.spotify.account.setText(user or ("connected" if connected else "not connected"))
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
        for section in (self.spotify, self.plex, self.slskd, self.downloads, self.automation):
            section.store(s)
        return s

    def validate(self, s: Settings) -> str:
        """An error sentence for an invalid form, or ''."""
        from soulsync.core.path_templates import validate_template

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
                self.plex.fill_sections(result.details.get("music_sections", []))

        def failed(exc: Exception) -> None:
            label.show_state("error", checks.describe_error(exc, label.objectName().split("_")[1])[1])

        def finished() -> None:
            self._tasks.pop(key, None)
            button.setEnabled(True)

        self._tasks[key] = run_task(lambda ctx: probe(), owner=self, on_result=done, on_error=failed,
                                    on_finished=finished)

    def test_spotify(self) -> None:
        s = self.form_settings().spotify
        secret = self._form_secret("spotify_client_secret")
        if not s.client_id:
            self.spotify.result.show_state("error", "Enter the client ID of your Spotify app first.")
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

        self._run_check("spotify", self.spotify.test_button, self.spotify.result, probe)

    def connect_spotify(self) -> None:
        """Authorization code with PKCE: opens the browser, waits (in a worker) for the redirect on the loopback
        address, showing the sign-in address and a Cancel button meanwhile. The tokens (and the client secret
        used) are stored by the worker once the account answered."""
        if "spotify_connect" in self._tasks:
            return
        s = self.form_settings().spotify
        if not s.client_id:
            self.spotify.result.show_state("error", "Enter the client ID of your Spotify app first.")
            return
        problem = redirect_uri_problem(self.spotify.redirect.text())
        if problem:
            self.spotify.result.show_state("error", f"Fix the redirect URI first: {problem}")
            return
        secret = self._form_secret("spotify_client_secret")
        context = self.context
        opener = context.open_browser
        timeout = self.connect_timeout_s
        self.spotify.connect_button.setEnabled(False)
        self.spotify.result.show_state("busy", "Opening the Spotify sign-in…")

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
            self.spotify.account.setText(name)
            self.spotify.result.show_state("ok", f"Connected as {name}")
            if self.monitor is not None:
                self.monitor.check("Spotify")

        def waiting(url: str) -> None:
            self.spotify.result.show_state("busy", "Waiting for the Spotify sign-in in your browser…")
            self.spotify.waiting_text.setText(
                f"Sign in to Spotify in your browser and approve SoulSync. Spotify then sends the browser back "
                f"to {s.redirect_uri}, where SoulSync is listening (for up to {checks.seconds(timeout)}). "
                "If no browser opened, open this address yourself:")
            self.spotify.signin_url.setText(url)
            self.spotify.signin_url.setCursorPosition(0)
            self.spotify.waiting.setVisible(True)

        def failed(exc: Exception) -> None:
            self.spotify.result.show_state("error", checks.describe_error(exc, "Spotify")[1])

        def finished() -> None:
            self._tasks.pop("spotify_connect", None)
            self.spotify.waiting.setVisible(False)
            self.spotify.signin_url.clear()
            self._check_redirect()
            if self.spotify.result.state == "busy":
                self.spotify.result.show_state("", "Sign-in cancelled.")

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
            self.plex.result.show_state("error", "Enter the Plex server URL first.")
            return
        secrets = self.context.secrets

        def probe() -> checks.CheckResult:
            return checks.check_plex(build_plex(s, secrets.get("plex_token") if token is None else token))

        self._run_check("plex", self.plex.test_button, self.plex.result, probe)

    def test_slskd(self) -> None:
        s = self.form_settings().slskd
        key, password = self._form_secret("slskd_api_key"), self._form_secret("slskd_password")
        if not s.url:
            self.slskd.result.show_state("error", "Enter the slskd URL first.")
            return
        secrets = self.context.secrets

        def probe() -> checks.CheckResult:
            return checks.check_slskd(build_slskd(
                s, secrets.get("slskd_api_key") if key is None else key,
                secrets.get("slskd_password") if password is None else password))

        self._run_check("slskd", self.slskd.test_button, self.slskd.result, probe)

    def shutdown(self) -> None:
        for handle in list(self._tasks.values()):
            handle.cancel()
