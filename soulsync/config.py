"""Typed settings, saved atomically as JSON, with secrets kept out of the file.

Settings are dataclasses with defaults. ``save_settings`` writes a temp file,
fsyncs it and renames it over the old one, so a crash never leaves a truncated
config. Every file carries ``schema_version``; ``_MIGRATIONS`` upgrades old
files step by step. Secrets (tokens, passwords, API keys) never enter this
file: they live in :class:`SecretStore` (OS keyring, or a 0600 file when no
keyring backend exists).
"""
from __future__ import annotations

import copy
import dataclasses
import json
import logging
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import platformdirs

from soulsync.core.quality import DEFAULT_QUALITY_ORDER

log = logging.getLogger(__name__)

APP_NAME = "SoulSync"
SCHEMA_VERSION = 2
DEFAULT_ALBUM_TEMPLATE = "{albumartist}/{album} ({year})/{disc_prefix}{track:02} - {title}.{ext}"
DEFAULT_SINGLE_TEMPLATE = "{artist}/{artist} - {title}.{ext}"
TIMEOUT_RANGE_S = (1.0, 120.0)
"""Allowed network timeouts of a service's requests, in seconds (the Settings page's spin boxes)."""


def _timeout(default_s: float) -> Any:
    """A service's network timeout field: seconds each request may wait for an answer, within
    :data:`TIMEOUT_RANGE_S` (a value outside it in the settings file falls back to ``default_s``)."""
    return field(default=default_s, metadata={"range": TIMEOUT_RANGE_S})


def _ranged(default: float, low: float, high: float) -> Any:
    """A number field that must lie within ``low``-``high`` (the Settings page's range); a value outside
    it in the settings file falls back to ``default`` with a warning."""
    return field(default=default, metadata={"range": (low, high)})


@dataclass
class AppPaths:
    """Where SoulSync keeps its files. ``--config-dir`` puts all of them under one folder."""

    config_dir: Path
    data_dir: Path
    cache_dir: Path
    log_dir: Path

    @classmethod
    def default(cls) -> "AppPaths":
        return cls(
            Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
            Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
            Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
            Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
        )

    @classmethod
    def under(cls, root: Path) -> "AppPaths":
        root = Path(root)
        return cls(root, root / "data", root / "cache", root / "logs")

    @property
    def config_file(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def database(self) -> Path:
        return self.data_dir / "soulsync.sqlite3"

    def ensure(self) -> None:
        """Create the folders (``OSError`` when one cannot be made)."""
        for path in (self.config_dir, self.data_dir, self.cache_dir, self.log_dir):
            path.mkdir(parents=True, exist_ok=True)

    def prepare(self) -> None:
        """Create the config folder, or raise :class:`ConfigError` saying in words why it cannot be used
        (a file in its place or on its way, no permission). Nothing is written anywhere else."""
        folder = self.config_dir
        for existing in (folder, *folder.parents):
            if existing.exists() or existing.is_symlink():
                if not existing.is_dir():
                    raise ConfigError(f"{existing} is a file, not a folder: the config folder {folder} cannot be "
                                      "made there. Choose a folder (for example with --config-dir).")
                break
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"the config folder {folder} cannot be made ({exc.strerror or exc})") from exc


@dataclass
class SpotifySettings:
    client_id: str = ""
    redirect_uri: str = "http://127.0.0.1:8888/callback"
    api_base: str = "https://api.spotify.com/v1/"
    accounts_base: str = "https://accounts.spotify.com"
    user: str = ""
    """Display name of the connected account, shown in the UI."""
    timeout_s: float = _timeout(10.0)


@dataclass
class PlexSettings:
    url: str = ""
    music_section: str = ""
    verify_tls: bool = True
    timeout_s: float = _timeout(15.0)


@dataclass
class SlskdSettings:
    url: str = "http://localhost:5030"
    url_base: str = ""
    auth_mode: str = "api_key"
    """``api_key`` or ``password``."""
    username: str = ""
    verify_tls: bool = True
    timeout_s: float = _timeout(10.0)


@dataclass
class DownloadSettings:
    quality_order: list[str] = field(default_factory=lambda: list(DEFAULT_QUALITY_ORDER))
    min_bitrate: int = _ranged(192, 0, 2000)
    lossless_only: bool = False
    prefer_clean: bool = False
    """Rank clean (censored) files first; by default they come after explicit or unmarked ones."""
    download_dir: str = ""
    """slskd's downloads folder as this machine sees it; empty: ask slskd's options."""
    library_dir: str = ""
    album_template: str = DEFAULT_ALBUM_TEMPLATE
    single_template: str = DEFAULT_SINGLE_TEMPLATE
    clash_policy: str = "keep_better"
    """``keep_better`` or ``number``."""
    fake_policy: str = "refuse"
    """A download that looks fake (transcoded, up-converted, mislabelled): ``refuse`` it and try the next
    source, keep it when no other source is left (``best_available``), or ``keep`` it always."""
    concurrent_downloads: int = _ranged(3, 1, 20)
    poll_interval_s: float = _ranged(1.0, 0.05, 60.0)
    stall_timeout_s: float = _ranged(60.0, 1.0, 3600.0)
    max_attempts: int = _ranged(5, 1, 20)
    search_timeout_ms: int = _ranged(6000, 1000, 120_000)
    response_limit: int = _ranged(500, 1, 5000)


@dataclass
class LibrarySettings:
    source: str = "auto"
    """``plex``, ``folder`` or ``auto`` (Plex when configured, else the library folder)."""
    create_plex_playlists: bool = True
    write_artist_metadata: bool = False
    """"Update metadata" on the Artists page also writes genres and a summary onto the Plex artist."""


@dataclass
class AutomationSettings:
    """Set and forget: what runs by itself, how often, and what the window does when it is closed."""

    enabled: bool = False
    """Run the schedule (kept playlists, the wishlist, watched artists) while SoulSync runs."""
    playlist_interval_h: float = _ranged(6.0, 0.25, 24.0 * 30)
    """Default interval for a playlist marked "keep in sync"."""
    wishlist_enabled: bool = True
    """Retry wishlist tracks by themselves (each on its own back-off)."""
    keeps_failing_after: int = _ranged(8, 2, 100)
    """Failed tries after which a wishlist track is marked "keeps failing" and no longer retried by itself."""
    artists_interval_h: float = _ranged(24.0, 1.0, 24.0 * 30)
    """How often watched artists are checked for new releases."""
    new_release_action: str = "wishlist"
    """What a watched artist's new release does: ``wishlist`` its tracks, or ``download`` them at once."""
    close_to_tray: str = "ask"
    """With automation on, closing the window: ``ask`` (once), ``tray`` (keep running there) or ``quit``."""
    notifications: bool = True
    """Tray messages saying what a run brought in or what needs attention (grouped, rate-limited)."""


@dataclass
class UiSettings:
    last_page: str = "dashboard"
    geometry: str = ""
    """Base64 of QWidget.saveGeometry()."""


@dataclass
class Settings:
    spotify: SpotifySettings = field(default_factory=SpotifySettings)
    plex: PlexSettings = field(default_factory=PlexSettings)
    slskd: SlskdSettings = field(default_factory=SlskdSettings)
    downloads: DownloadSettings = field(default_factory=DownloadSettings)
    library: LibrarySettings = field(default_factory=LibrarySettings)
    automation: AutomationSettings = field(default_factory=AutomationSettings)
    ui: UiSettings = field(default_factory=UiSettings)
    demo: bool = False
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Settings":
        return _build(cls, data)


def _build(cls: type, data: Any, where: str = "") -> Any:
    """Build a dataclass from a dict, ignoring unknown keys and keeping defaults for bad values.

    A value of the wrong type, or a number outside its field's ``range`` metadata, is replaced by
    the default with a logged warning (``where`` is the dotted path of ``data`` in the file)."""
    obj = cls()
    if not isinstance(data, dict):
        return obj
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        current = getattr(obj, f.name)
        value = data[f.name]
        name = f"{where}{f.name}"
        if dataclasses.is_dataclass(current):
            setattr(obj, f.name, _build(type(current), value, f"{name}."))
            continue
        accepted = _accept(current, value, f.metadata.get("range"))
        if accepted is None:
            log.warning("Settings file: %s = %.60r is not valid (%s); using the default %r",
                        name, value, _expected(current, f.metadata.get("range")), current)
        else:
            setattr(obj, f.name, accepted)
    return obj


def _accept(current: Any, value: Any, bounds: tuple[float, float] | None) -> Any:
    """``value`` converted to the type of the default ``current``, or None when it does not fit."""
    if isinstance(current, bool):
        return value if isinstance(value, bool) else None
    if isinstance(current, (int, float)):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return None
        try:
            if not math.isfinite(value) or (bounds is not None and not bounds[0] <= value <= bounds[1]):
                return None
            return type(current)(value)
        except OverflowError:  # an integer too large for a float
            return None
    if isinstance(current, list):
        return list(value) if isinstance(value, list) and all(isinstance(v, str) for v in value) else None
    if isinstance(current, str):
        return value if isinstance(value, str) else None
    return None


def _expected(current: Any, bounds: tuple[float, float] | None) -> str:
    """What a field accepts, in words, for the warning about a bad value."""
    if isinstance(current, bool):
        return "expected true or false"
    if isinstance(current, (int, float)):
        return f"expected a number from {bounds[0]:g} to {bounds[1]:g}" if bounds else "expected a number"
    if isinstance(current, list):
        return "expected a list of strings"
    return "expected a string"


def _migrate_1_to_2(data: dict) -> dict:
    """v1 kept a flat ``download_folder``; v2 groups download preferences."""
    downloads = data.setdefault("downloads", {})
    for old, new in (("download_folder", "download_dir"), ("library_folder", "library_dir")):
        if old in data:
            downloads.setdefault(new, data.pop(old))
    return data


_MIGRATIONS: dict[int, Callable[[dict], dict]] = {1: _migrate_1_to_2}


def migrate(data: dict) -> dict:
    """Upgrade a settings dict from any older schema version to the current one."""
    version = data.get("schema_version", 1)
    if not isinstance(version, int) or version < 1:
        version = 1
    while version < SCHEMA_VERSION:
        data = _MIGRATIONS[version](data)
        version += 1
    data["schema_version"] = SCHEMA_VERSION
    return data


class ConfigError(Exception):
    """The settings file could not be read; the message says why in words."""


@dataclass
class LoadedSettings:
    """What :func:`read_settings` found: the settings, the file's content they came from (the baseline
    :func:`save_settings` compares with) and, when the file was damaged, a notice for the user."""

    settings: Settings
    baseline: dict
    notice: str = ""


def _parse(text: str) -> dict:
    """The settings file's object; ``ValueError`` when it is not one (deep nesting included)."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise ValueError("it is nested too deeply") from None
    if not isinstance(data, dict):
        raise ValueError("its top level is not an object")
    return data


def keep_aside(path: Path, stem: str) -> Path | None:
    """Move a damaged ``path`` to the next free ``<stem>.broken-N.json`` beside it (earlier copies are never
    overwritten); None when it could not be moved."""
    for n in range(1, 10_000):
        aside = path.with_name(f"{stem}.broken-{n}.json")
        try:
            os.link(path, aside)  # fails when the name is taken: never overwrites a copy kept before
        except FileExistsError:
            continue
        except OSError:
            try:
                if aside.exists():
                    continue
                os.replace(path, aside)
                return aside
            except OSError:
                return None
        os.unlink(path)
        return aside
    return None


def read_settings(paths: AppPaths) -> LoadedSettings:
    """Read the settings file. A missing file gives defaults; a damaged one (cut short, not JSON) is kept aside
    under a new number, defaults are used and ``notice`` says so in words for the app to show."""
    path = paths.config_file
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return LoadedSettings(Settings(), {})
    except OSError as exc:
        settings = Settings()
        return LoadedSettings(settings, settings.to_dict(),
                              f"The settings file {path} cannot be read ({exc.strerror or exc}); default settings "
                              "are used for now and nothing is written over it.")
    try:
        data = _parse(text)
    except ValueError as exc:
        aside = keep_aside(Path(os.path.realpath(path)), "settings")  # a symlink's target: the link stays
        log.error("Settings file %s is damaged (%s); kept aside as %s, using defaults", path, exc, aside)
        kept = f"kept as {aside.name} in {aside.parent}" if aside else f"left where it is ({path})"
        return LoadedSettings(Settings(), {},
                              f"The settings file was damaged ({exc}): SoulSync started with default settings. "
                              f"The damaged file is {kept}: its values can be copied back by hand.")
    settings = Settings.from_dict(migrate(dict(data)))
    return LoadedSettings(settings, settings.to_dict())


def load_settings(paths: AppPaths) -> Settings:
    """Read settings; a missing file gives defaults, a damaged one is kept aside and defaults are used."""
    return read_settings(paths).settings


def _changes(baseline: dict, current: dict) -> dict:
    """The keys of ``current`` whose values differ from ``baseline`` (nested objects compared key by key)."""
    out: dict = {}
    for key, value in current.items():
        before = baseline.get(key)
        if isinstance(value, dict) and isinstance(before, dict):
            inner = _changes(before, value)
            if inner:
                out[key] = inner
        elif key not in baseline or before != value:
            out[key] = value
    return out


def _apply(target: dict, changes: dict) -> None:
    """Write ``changes`` (from :func:`_changes`) into ``target``, leaving every other key as it is."""
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _apply(target[key], value)
        else:
            target[key] = value


def atomic_write_text(path: Path, text: str, mode: int | None = None) -> None:
    """Write ``text`` to ``path`` atomically: temp file in the same folder, fsync, rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def save_settings(settings: Settings, paths: AppPaths, baseline: dict | None = None) -> dict:
    """Write what changed since ``baseline`` (the settings as read) into the settings file; returns the new
    baseline.

    Only changed values are written, into the file as it is now: keys of a newer version and values edited
    by hand meanwhile are kept, the schema version never goes back, and a symlinked file stays a symlink
    (its target is written). A file that became unreadable meanwhile is kept aside first. Without a
    baseline every value is written (still keeping unknown keys)."""
    path = Path(os.path.realpath(paths.config_file))
    current = settings.to_dict()
    on_disk: dict | None = None
    try:
        on_disk = _parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        pass
    except ValueError as exc:
        aside = keep_aside(path, "settings")
        log.error("Settings file %s was damaged (%s); kept aside as %s before saving", path, exc, aside)
    if on_disk is None:
        data = current
    else:
        version = on_disk.get("schema_version")
        newer = isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION
        data = copy.deepcopy(on_disk) if newer else migrate(copy.deepcopy(on_disk))
        _apply(data, _changes(baseline, current) if baseline is not None else current)
        if newer:
            data["schema_version"] = version
    if not isinstance(data.get("schema_version"), int) or data["schema_version"] < SCHEMA_VERSION:
        data["schema_version"] = SCHEMA_VERSION
    if on_disk is None or data != on_disk:
        atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return current
