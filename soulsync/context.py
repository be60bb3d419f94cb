"""The application context: paths, settings, secrets, and service clients built from them.

No Qt here, so the headless CLI uses it too. Clients are built on demand from
the current settings and secrets (settings can change while the app runs).
"""
from __future__ import annotations

import logging
import threading
import webbrowser
from collections.abc import Container
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, cast

from soulsync.config import (
    AppPaths, LoadedSettings, PlexSettings, Settings, SlskdSettings, SpotifySettings, read_settings, save_settings,
)
from soulsync.core.quality import QualityPrefs
from soulsync.secretstore import SecretStore

if TYPE_CHECKING:
    from soulsync.core.serial_worker import SerialWorker
    from soulsync.core.store import Store
    from soulsync.core.store_records import QueueItem
    from soulsync.instance import FolderLock

log = logging.getLogger(__name__)

POST_PROCESSING_EXIT_WAIT_S = 5.0
"""At close, how long post-processing may finish the file in hand (files not started, or not finished in
time, are processed at the next start, as after a crash)."""


@dataclass
class AppContext:
    paths: AppPaths
    settings: Settings
    secrets: SecretStore
    demo_world: object | None = None
    """The running simulations in demo mode (soulsync.sim.world.SimWorld)."""
    open_browser: Callable[[str], object] = webbrowser.open
    """Opens an authorization URL; demo mode and tests replace it with an auto-consenting fetch."""
    _save_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _open_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    settings_baseline: dict | None = None
    """The settings as last read or written: saving writes only what differs from it."""
    notices: list[str] = field(default_factory=list)
    """Problems found while opening (a damaged settings or secrets file) for the app to tell the user."""
    folder_lock: FolderLock | None = None
    """This process's ownership of the config folder (:class:`soulsync.instance.FolderLock`), dropped on close."""
    _store: Store | None = field(default=None, repr=False)
    _limiter: object | None = field(default=None, repr=False)
    _post_worker: SerialWorker | None = field(default=None, repr=False)

    @property
    def search_limiter(self):
        """The one Soulseek search rate limiter of this app: the limit is per account, so every search
        (Downloads page, sync runs, corrections, album mode) takes its slot here."""
        if self._limiter is None:
            from soulsync.core.ratelimit import SearchRateLimiter

            self._limiter = SearchRateLimiter()
        return self._limiter

    @property
    def post_worker(self) -> SerialWorker:
        """The one thread that post-processes finished downloads (tagging, covers, moves into the library), one
        file at a time, for every download queue of this app (why one: :mod:`soulsync.core.serial_worker`)."""
        with self._open_lock:
            if self._post_worker is None:
                from soulsync.core.serial_worker import SerialWorker

                self._post_worker = SerialWorker("post-processing")
            return self._post_worker

    @property
    def store(self):
        """The SQLite store (opened on first use, by whichever thread asks first; shared, thread-safe). Raises
        :class:`soulsync.core.store_health.StoreProblem` when the database cannot be used."""
        if self._store is None:
            from soulsync.core.store_health import open_store

            with self._open_lock:
                if self._store is None:
                    self._store = open_store(self.paths.database)
        return self._store

    def close(self) -> None:
        """Let post-processing finish the file in hand (briefly), close the store and give up the config folder."""
        if self._post_worker is not None:
            if not self._post_worker.close(timeout=POST_PROCESSING_EXIT_WAIT_S):
                log.warning("Post-processing did not finish in time; the file is processed again at the next start")
            self._post_worker = None
        if self._store is not None:
            self._store.close()
            self._store = None
        if self.folder_lock is not None:
            self.folder_lock.release()
            self.folder_lock = None

    @classmethod
    def open(cls, paths: AppPaths, secret_backend: str = "auto",
             loaded: LoadedSettings | None = None) -> "AppContext":
        """The context of ``paths``: settings (``loaded``, or read now), secrets, and what was found damaged."""
        paths.ensure()
        loaded = loaded or read_settings(paths)
        context = cls(paths, loaded.settings, SecretStore(paths.config_dir, secret_backend),
                      settings_baseline=loaded.baseline)
        context.notices.extend([n for n in (loaded.notice,) if n] + context.secrets.notices)
        return context

    def save(self) -> None:
        """Write the settings that changed since they were read (see :func:`save_settings`)."""
        with self._save_lock:
            self.settings_baseline = save_settings(self.settings, self.paths, self.settings_baseline)

    # ---- derived preferences ------------------------------------------
    def quality_prefs(self) -> QualityPrefs:
        d = self.settings.downloads
        return QualityPrefs(order=list(d.quality_order), min_bitrate=d.min_bitrate, lossless_only=d.lossless_only,
                            prefer_clean=d.prefer_clean)

    @property
    def library_dir(self) -> Path | None:
        value = self.settings.downloads.library_dir
        return Path(value).expanduser() if value else None

    @property
    def needs_attention_dir(self) -> Path:
        """Where post-processing keeps files it could not file (with the reason beside each)."""
        return self.paths.data_dir / "needs-attention"

    # ---- the download pipeline ------------------------------------------
    def post_processor(self, library_dir: Path | None = None):
        """The post-processor filing downloads into ``library_dir`` (default: the configured library
        folder); None when there is none."""
        from soulsync.core.organize import ClashPolicy
        from soulsync.core.postprocess import FAKE_POLICIES, FakePolicy, PostProcessOptions, PostProcessor
        from soulsync.services.images import fetch_image

        library = library_dir or self.library_dir
        if library is None:
            return None
        d = self.settings.downloads
        options = PostProcessOptions(
            library_dir=Path(library), quarantine_dir=self.needs_attention_dir,
            album_template=d.album_template, single_template=d.single_template, clash_policy=cast(ClashPolicy, d.clash_policy),
            cover_cache_dir=self.paths.cache_dir / "covers", library_has_files=self.store.filed_under(library),
            fake_policy=cast(FakePolicy, d.fake_policy) if d.fake_policy in FAKE_POLICIES else "refuse")
        return PostProcessor(options, fetch_cover=fetch_image)

    def download_queue(self, client, on_completed=None, cancelled: Callable[[], bool] | None = None):
        """The download queue over ``client`` (slskd) with this app's settings. ``on_completed`` files a
        finished download (see :func:`process_download`) on the app's :attr:`post_worker`, off the queue's
        tick; when a wanted track's candidates run out the queue searches again, within the app's search
        rate limit."""
        from soulsync.core.downloads import DownloadQueue
        from soulsync.core.search_run import SearchSettings
        from soulsync.core.track_finder import TrackFinder

        d = self.settings.downloads
        finder = TrackFinder(client, self.quality_prefs(), self.search_limiter,
                             SearchSettings(search_timeout_ms=d.search_timeout_ms, response_limit=d.response_limit),
                             is_cancelled=cancelled)
        return DownloadQueue(self.store, client, downloads_dir=d.download_dir or None, on_completed=on_completed,
                             find_candidates=finder, max_concurrent=d.concurrent_downloads,
                             stall_timeout_s=d.stall_timeout_s, max_attempts=d.max_attempts,
                             post_worker=self.post_worker)

    def download_tools(self, queue, drive_queue: bool, poll_interval_s: float | None = None,
                       service_patience_s: float = 120.0):
        """What a sync run's download stages use (:class:`~soulsync.core.sync_run.DownloadTools`): slskd,
        ``queue``, and this app's quality order, search rate limit and search settings."""
        from soulsync.core.search_run import SearchSettings
        from soulsync.core.sync_run import DownloadTools
        from soulsync.services.checks import describe_error

        d = self.settings.downloads
        return DownloadTools(
            client=self.slskd(), queue=queue, prefs=self.quality_prefs(), limiter=self.search_limiter,
            settings=SearchSettings(search_timeout_ms=d.search_timeout_ms, response_limit=d.response_limit),
            drive_queue=drive_queue, poll_interval_s=poll_interval_s if poll_interval_s is not None else d.poll_interval_s,
            service_patience_s=service_patience_s, describe=lambda exc: describe_error(exc, "slskd")[1])

    # ---- service clients ----------------------------------------------
    def spotify_configured(self) -> bool:
        return bool(self.settings.spotify.client_id)

    def plex_configured(self) -> bool:
        return bool(self.settings.plex.url and self.secrets.get("plex_token"))

    def slskd_configured(self) -> bool:
        s = self.settings.slskd
        if not s.url:
            return False
        if s.auth_mode == "password":
            return bool(s.username and self.secrets.get("slskd_password"))
        return bool(self.secrets.get("slskd_api_key"))

    def spotify_auth(self):
        return build_spotify_auth(self.settings.spotify, self.secrets.get("spotify_client_secret"),
                                  self.secrets.get("spotify_refresh_token"), self._store_spotify_tokens)

    def _store_spotify_tokens(self, tokens: dict) -> None:
        if tokens.get("refresh_token"):
            self.secrets.set("spotify_refresh_token", tokens["refresh_token"])
        if tokens.get("access_token"):
            self.secrets.set("spotify_access_token", tokens["access_token"])

    def spotify(self):
        return build_spotify(self.settings.spotify, self.spotify_auth())

    def plex(self):
        return build_plex(self.settings.plex, self.secrets.get("plex_token"))

    def slskd(self):
        return build_slskd(self.settings.slskd, self.secrets.get("slskd_api_key"),
                           self.secrets.get("slskd_password"))


def process_download(processor, item, path: Path, bad_sources: Container[tuple[str, str]] = ()):
    """Post-process one finished queue item's file with its wanted metadata, cover and expected size,
    checked for a transcode against what its source claimed (its name, announced or labelled bitrate).
    ``bad_sources`` (the queue's) are not counted as other sources the item could still try."""
    from soulsync.core.transcode import claim_from_source

    tried = {(t[0], t[1]) for t in item.tried if len(t) >= 2} | {(item.username, item.filename)}
    others = any(isinstance(c, dict) and (source := (c.get("username"), c.get("filename"))) not in tried
                 and source not in bad_sources for c in item.candidates)
    return processor.process(path, item.wanted, cover_url=item.meta.cover_url,
                             release_date=item.meta.release_date, expected_size=item.size or None,
                             path_hint=item.filename,
                             claim=claim_from_source(item.filename, announced_kbps(item)), other_sources=others)


_LOSSY_LABELS = frozenset({"mp3", "ogg", "oga", "opus", "m4a", "aac", "mp4"})
"""First words of the quality labels (``quality.quality_label``) whose last word is an announced bitrate."""


def announced_kbps(item: QueueItem) -> int | None:
    """The lossy bitrate the peer announced for the item's current file (from its candidate's quality
    label, e.g. ``MP3 320``), or None."""
    for c in item.candidates:
        if isinstance(c, dict) and c.get("username") == item.username and c.get("filename") == item.filename:
            words = str(c.get("quality", "")).split()
            if len(words) >= 2 and words[-1].isdigit() and words[0].lower() in _LOSSY_LABELS:
                return int(words[-1])
    return None


def build_spotify_auth(s: SpotifySettings, client_secret: str, refresh_token: str, on_tokens=None):
    """A Spotify authorization manager from settings values (saved or still in a form); its token
    requests wait ``s.timeout_s`` for an answer."""
    from soulsync.services.spotify_auth import SpotifyAuth

    return SpotifyAuth(client_id=s.client_id, client_secret=client_secret or None, redirect_uri=s.redirect_uri,
                       accounts_base=s.accounts_base, refresh_token=refresh_token or None, on_tokens=on_tokens,
                       timeout=s.timeout_s)


def build_spotify(s: SpotifySettings, auth):
    """A Spotify Web API client over ``auth`` whose requests wait ``s.timeout_s`` for an answer."""
    from soulsync.services.spotify import SpotifyClient

    return SpotifyClient(auth=auth, api_base=s.api_base, timeout=s.timeout_s)


def build_plex(p: PlexSettings, token: str):
    """A Plex client from settings values; its requests wait ``p.timeout_s`` for an answer."""
    from soulsync.services.plex import PlexClient

    return PlexClient(p.url, token, timeout=p.timeout_s, verify_tls=p.verify_tls)


def build_slskd(s: SlskdSettings, api_key: str, password: str):
    """An slskd client from settings values; its requests wait ``s.timeout_s`` for an answer."""
    from soulsync.services.slskd import SlskdClient

    if s.auth_mode == "password":
        return SlskdClient(s.url, username=s.username, password=password, url_base=s.url_base,
                           verify_tls=s.verify_tls, timeout=s.timeout_s)
    return SlskdClient(s.url, api_key=api_key, url_base=s.url_base, verify_tls=s.verify_tls, timeout=s.timeout_s)
