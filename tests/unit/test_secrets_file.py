"""A damaged secrets file (issue 17, item 4): never written over, kept aside under a number, readable
secrets kept, the user told; nothing of a secret in the notice or the log."""
from __future__ import annotations

import json
import logging
import stat

import pytest

from soulsync.context import AppContext
from soulsync.secretstore import SecretStore

GOOD = {"plex_token": "plex-tok-123", "slskd_api_key": "key\\\"with-escape", "spotify_refresh_token": "refresh-xyz"}


def _damaged(text: str) -> str:
    return text[: text.index('"spotify_refresh_token"') + 30]  # cut inside the last value


def test_the_next_secret_write_keeps_the_others_and_a_copy(app_paths, caplog):
    path = app_paths.config_dir / "secrets.json"
    full = json.dumps(GOOD, indent=1)
    path.write_text(_damaged(full))
    path.chmod(0o600)
    with caplog.at_level(logging.DEBUG):
        store = SecretStore(app_paths.config_dir, "file")
        store.set("spotify_access_token", "new-access")
    data = json.loads(path.read_text())
    assert data == {"plex_token": "plex-tok-123", "slskd_api_key": 'key\\"with-escape', "spotify_access_token": "new-access"}
    aside = app_paths.config_dir / "secrets.broken-1.json"
    assert aside.read_text() == _damaged(full)
    assert stat.S_IMODE(aside.stat().st_mode) == 0o600 and stat.S_IMODE(path.stat().st_mode) == 0o600
    [notice] = store.notices
    assert "secrets.broken-1.json" in notice and "plex_token" in notice
    for secret in ("plex-tok-123", "new-access", "refresh"):
        assert secret not in notice and secret not in caplog.text


@pytest.mark.parametrize("damage", ["", "[1, 2]", "[" * 100_000, "\x00\xff garbage"])
def test_any_damage_is_kept_aside_under_a_new_number(app_paths, damage):
    (app_paths.config_dir / "secrets.broken-1.json").write_text("an older copy")
    (app_paths.config_dir / "secrets.json").write_text(damage, errors="surrogateescape")
    store = SecretStore(app_paths.config_dir, "file")
    store.set("plex_token", "t")
    assert (app_paths.config_dir / "secrets.broken-1.json").read_text() == "an older copy"
    assert (app_paths.config_dir / "secrets.broken-2.json").exists()
    assert store.get("plex_token") == "t"


def test_the_app_is_told(app_paths):
    (app_paths.config_dir / "secrets.json").write_text('{"plex_token": "abc", "slskd_')
    context = AppContext.open(app_paths, secret_backend="file")
    assert any("secrets file was damaged" in n for n in context.notices)
    assert context.secrets.get("plex_token") == "abc"
