"""Settings: atomic saves, migration, robustness; secrets kept out of the JSON and the logs."""
from __future__ import annotations

import json
import logging
import os
import threading
import time
import stat

import pytest

from soulsync.config import (
    SCHEMA_VERSION, AppPaths, Settings, atomic_write_text, load_settings, migrate, save_settings,
)
from soulsync.logsetup import scrub, setup_logging
from soulsync.secretstore import SecretStore


def test_round_trip(app_paths):
    s = Settings()
    s.plex.url = "http://plex.local:32400"
    s.downloads.quality_order = ["mp3_320", "flac"]
    s.downloads.concurrent_downloads = 7
    save_settings(s, app_paths)
    again = load_settings(app_paths)
    assert again == s
    data = json.loads(app_paths.config_file.read_text())
    assert data["schema_version"] == SCHEMA_VERSION


def test_missing_file_gives_defaults(tmp_path):
    assert load_settings(AppPaths.under(tmp_path)) == Settings()


@pytest.mark.parametrize("content", ["", "{not json", "[1, 2]", "null"])
def test_broken_file_is_kept_aside(app_paths, content):
    app_paths.config_file.write_text(content)
    assert load_settings(app_paths) == Settings()
    assert app_paths.config_dir.joinpath("settings.broken-1.json").exists()


def test_wrong_types_and_unknown_keys_are_ignored(app_paths):
    app_paths.config_file.write_text(json.dumps({
        "schema_version": SCHEMA_VERSION, "plex": {"url": 5, "verify_tls": "yes", "bogus": 1},
        "downloads": {"concurrent_downloads": "many", "min_bitrate": 256, "quality_order": [1, 2]},
        "nonsense": {"a": 1},
    }))
    s = load_settings(app_paths)
    assert s.plex.url == "" and s.plex.verify_tls is True
    assert s.downloads.concurrent_downloads == Settings().downloads.concurrent_downloads
    assert s.downloads.min_bitrate == 256
    assert s.downloads.quality_order == Settings().downloads.quality_order


def test_migration_from_v1(app_paths):
    app_paths.config_file.write_text(json.dumps({"download_folder": "/dl", "library_folder": "/music"}))
    s = load_settings(app_paths)
    assert s.downloads.download_dir == "/dl"
    assert s.downloads.library_dir == "/music"
    assert migrate({"schema_version": 1})["schema_version"] == SCHEMA_VERSION


def test_atomic_write_never_leaves_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "settings.json"
    atomic_write_text(target, "original")

    def exploding_fsync(fd):
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "fsync", exploding_fsync)
    with pytest.raises(OSError):
        atomic_write_text(target, "new content that must not half-land")
    assert target.read_text() == "original"
    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"]


def test_secrets_never_in_config_json_and_file_is_private(app_context):
    app_context.secrets.set("plex_token", "plex-secret-token-123")
    app_context.secrets.set("slskd_api_key", "slskd-key-abcdef")
    app_context.settings.plex.url = "http://x"
    app_context.save()
    text = app_context.paths.config_file.read_text()
    assert "plex-secret-token-123" not in text and "slskd-key-abcdef" not in text
    assert app_context.secrets.backend_name == "file"
    mode = stat.S_IMODE(os.stat(app_context.secrets.file_path).st_mode)
    assert mode == 0o600
    fresh = SecretStore(app_context.paths.config_dir, "file")
    assert fresh.get("plex_token") == "plex-secret-token-123"


def test_unknown_secret_name_is_refused(app_context):
    with pytest.raises(KeyError):
        app_context.secrets.set("favourite_colour", "blue")


def test_logs_scrub_registered_secrets_and_patterns(app_paths):
    store = SecretStore(app_paths.config_dir, "file")
    store.set("slskd_password", "hunter2-very-secret")
    log_file = setup_logging(app_paths.log_dir)
    logger = logging.getLogger("soulsync.test")
    logger.info("login with hunter2-very-secret")
    logger.info("GET http://plex/library?X-Plex-Token=abcdefgh1234")
    logger.info("headers {'Authorization': 'Bearer eyJhbGciOi.payload.sig'}")
    try:
        raise RuntimeError("failed using hunter2-very-secret")
    except RuntimeError:
        logger.exception("boom")
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = log_file.read_text()
    assert "hunter2-very-secret" not in text
    assert "abcdefgh1234" not in text
    assert "eyJhbGciOi" not in text
    assert text.count("***") >= 4


def test_scrub_keeps_ordinary_text():
    assert scrub("nothing secret here") == "nothing secret here"


# ---- network timeouts -------------------------------------------------------------------------

def test_network_timeouts_default_and_round_trip(app_paths):
    s = Settings()
    assert (s.spotify.timeout_s, s.plex.timeout_s, s.slskd.timeout_s) == (10.0, 15.0, 10.0)
    s.spotify.timeout_s, s.plex.timeout_s, s.slskd.timeout_s = 1.0, 42.5, 120.0
    save_settings(s, app_paths)
    again = load_settings(app_paths)
    assert (again.spotify.timeout_s, again.plex.timeout_s, again.slskd.timeout_s) == (1.0, 42.5, 120.0)
    assert json.loads(app_paths.config_file.read_text())["plex"]["timeout_s"] == 42.5


def test_a_file_without_timeouts_gets_the_defaults(app_paths):
    """Files written before the setting existed load as they are: no migration, default timeouts."""
    app_paths.config_file.write_text(json.dumps({"schema_version": 2, "plex": {"url": "http://plex:32400"}}))
    s = load_settings(app_paths)
    assert s.plex.url == "http://plex:32400"
    assert (s.spotify.timeout_s, s.plex.timeout_s, s.slskd.timeout_s) == (10.0, 15.0, 10.0)


@pytest.mark.parametrize("raw", ["0", "0.5", "-3", "120.5", "1e999", "-1e999", "NaN", "Infinity",
                                 "1" + "0" * 400, '"fast"', '"20"', "true", "null", "[5]", '{"s": 5}'])
def test_bad_timeout_falls_back_to_the_default_with_a_warning(app_paths, caplog, raw):
    app_paths.config_file.write_text(
        '{"schema_version": 2, "plex": {"url": "http://plex:32400", "timeout_s": %s}, '
        '"slskd": {"timeout_s": 30}}' % raw)
    with caplog.at_level(logging.WARNING, logger="soulsync.config"):
        s = load_settings(app_paths)
    assert s.plex.timeout_s == 15.0
    assert s.plex.url == "http://plex:32400" and s.slskd.timeout_s == 30.0  # the rest of the file is kept
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "plex.timeout_s" in warnings[0] and "from 1 to 120" in warnings[0] and "15.0" in warnings[0]
    assert len(warnings[0]) < 250


@pytest.mark.parametrize("value", [1, 1.0, 7, 60.5, 120])
def test_timeouts_within_bounds_are_kept(app_paths, caplog, value):
    app_paths.config_file.write_text(json.dumps({"schema_version": 2, "spotify": {"timeout_s": value}}))
    with caplog.at_level(logging.WARNING, logger="soulsync.config"):
        s = load_settings(app_paths)
    assert s.spotify.timeout_s == float(value) and isinstance(s.spotify.timeout_s, float)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_other_bad_values_are_warned_about_too(app_paths, caplog):
    app_paths.config_file.write_text(json.dumps({
        "schema_version": 2, "plex": {"verify_tls": "no"}, "downloads": {"concurrent_downloads": "many"}}))
    with caplog.at_level(logging.WARNING, logger="soulsync.config"):
        s = load_settings(app_paths)
    assert s.plex.verify_tls is True and s.downloads.concurrent_downloads == 3
    text = " | ".join(r.getMessage() for r in caplog.records)
    assert "plex.verify_tls" in text and "true or false" in text
    assert "downloads.concurrent_downloads" in text


class SlowKeyring:
    """A keyring whose every call takes a while and is counted (a desktop keyring over D-Bus)."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], str] = {}
        self.calls = 0

    def get_password(self, service, name):
        self.calls += 1
        time.sleep(0.05)
        return self.values.get((service, name))

    def set_password(self, service, name, value):
        self.calls += 1
        self.values[(service, name)] = value

    def delete_password(self, service, name):
        self.calls += 1
        self.values.pop((service, name), None)


def test_keyring_secrets_are_read_once_and_then_served_from_memory(app_paths, monkeypatch):
    fake = SlowKeyring()
    monkeypatch.setattr("soulsync.secretstore._usable_keyring", lambda: fake)
    store = SecretStore(app_paths.config_dir, "keyring")
    store.set("plex_token", "plex-token-from-keyring")
    opened = fake.calls
    started = time.perf_counter()
    for _ in range(100):
        assert store.get("plex_token") == "plex-token-from-keyring"
        assert store.get("slskd_password") == ""
    assert fake.calls == opened and time.perf_counter() - started < 0.05
    store.delete("plex_token")
    assert store.get("plex_token") == "" and fake.values == {}
    again = SecretStore(app_paths.config_dir, "keyring")
    assert again.get("plex_token") == ""


def test_file_secrets_written_by_another_process_are_seen(app_paths):
    app = SecretStore(app_paths.config_dir, "file")
    app.set("spotify_refresh_token", "refresh-one")
    cli = SecretStore(app_paths.config_dir, "file")  # the headless sync renews the token
    cli.set("spotify_refresh_token", "refresh-two-longer")
    assert app.get("spotify_refresh_token") == "refresh-two-longer"
    app_paths.config_dir.joinpath("secrets.json").unlink()
    assert app.get("spotify_refresh_token") == ""


def test_a_slow_keyring_write_never_keeps_a_reader_waiting(app_paths, monkeypatch):
    fake = SlowKeyring()
    release = threading.Event()
    real_set = fake.set_password

    def stuck_set(service, name, value):  # an unlock prompt nobody has answered yet
        release.wait(5)
        real_set(service, name, value)

    fake.set_password = stuck_set
    monkeypatch.setattr("soulsync.secretstore._usable_keyring", lambda: fake)
    store = SecretStore(app_paths.config_dir, "keyring")
    writer = threading.Thread(target=store.set, args=("spotify_refresh_token", "renewed-refresh-token"))
    writer.start()
    try:
        started = time.perf_counter()
        assert store.get("spotify_refresh_token") == ""  # the GUI thread's read while the write hangs
        assert time.perf_counter() - started < 0.05
    finally:
        release.set()
        writer.join()
    assert store.get("spotify_refresh_token") == "renewed-refresh-token"


def test_reload_sees_another_process_and_retries_failed_keyring_reads(app_paths, monkeypatch):
    fake = SlowKeyring()
    monkeypatch.setattr("soulsync.secretstore._usable_keyring", lambda: fake)
    broken = {"on": True}
    real_get = fake.get_password

    def get(service, name):
        if broken["on"]:
            raise RuntimeError("keyring locked")
        return real_get(service, name)

    fake.get_password = get
    app = SecretStore(app_paths.config_dir, "keyring")  # opened while the keyring was locked
    assert app.get("plex_token") == ""
    broken["on"] = False
    cli = SecretStore(app_paths.config_dir, "keyring")
    cli.set("plex_token", "token-written-elsewhere")
    assert app.get("plex_token") == ""  # memory only until reloaded
    app.reload()
    assert app.get("plex_token") == "token-written-elsewhere"
    broken["on"] = True
    app.reload()  # a failed read keeps what was known
    assert app.get("plex_token") == "token-written-elsewhere"
