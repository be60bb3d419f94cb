"""The settings file under attack (issue 17, items 3 and 12): only changes written, unknown keys and newer
schemas kept, symlinks kept, damaged files kept aside under new numbers and told, numbers within ranges."""
from __future__ import annotations

import json
import logging
import os

import pytest

from soulsync.config import SCHEMA_VERSION, Settings, read_settings
from soulsync.context import AppContext


def _write(paths, data) -> None:
    paths.config_file.write_text(json.dumps(data))


def _read(paths) -> dict:
    return json.loads(paths.config_file.read_text())


def test_keys_of_a_newer_version_and_its_schema_survive_a_save(app_paths):
    _write(app_paths, {"schema_version": SCHEMA_VERSION + 3, "plex": {"url": "http://p", "future_knob": 7},
                       "brand_new_section": {"x": [1, 2]}})
    context = AppContext.open(app_paths, secret_backend="file")
    context.settings.plex.music_section = "Music"
    context.save()
    data = _read(app_paths)
    assert data["schema_version"] == SCHEMA_VERSION + 3
    assert data["plex"] == {"url": "http://p", "future_knob": 7, "music_section": "Music"}
    assert data["brand_new_section"] == {"x": [1, 2]}


def test_values_edited_by_hand_while_the_app_ran_are_not_reset(app_paths):
    s = Settings()
    s.plex.url = "http://old"
    _write(app_paths, s.to_dict())
    context = AppContext.open(app_paths, secret_backend="file")
    edited = _read(app_paths)
    edited["plex"]["url"] = "http://edited-by-hand"
    _write(app_paths, edited)
    context.settings.ui.last_page = "sync"  # the app changed something else
    context.save()
    data = _read(app_paths)
    assert data["plex"]["url"] == "http://edited-by-hand" and data["ui"]["last_page"] == "sync"


def test_a_save_without_changes_writes_nothing(app_paths):
    _write(app_paths, {"schema_version": SCHEMA_VERSION, "plex": {"url": "http://p"}})
    before = app_paths.config_file.read_bytes()
    context = AppContext.open(app_paths, secret_backend="file")
    context.save()
    assert app_paths.config_file.read_bytes() == before


def test_a_symlinked_settings_file_stays_a_symlink(app_paths, tmp_path):
    real = tmp_path / "dotfiles" / "soulsync.json"
    real.parent.mkdir()
    real.write_text(json.dumps({"schema_version": SCHEMA_VERSION}))
    app_paths.config_file.symlink_to(real)
    context = AppContext.open(app_paths, secret_backend="file")
    context.settings.plex.url = "http://p"
    context.save()
    assert app_paths.config_file.is_symlink()
    assert json.loads(real.read_text())["plex"]["url"] == "http://p"


@pytest.mark.parametrize("damage", ['{"plex": {"url": "http://p"', "", "[1]", "[" * 100_000])
def test_a_damaged_file_is_kept_under_a_new_number_and_the_user_is_told(app_paths, damage):
    app_paths.config_dir.joinpath("settings.broken-1.json").write_text("the first damaged copy")
    app_paths.config_file.write_text(damage)
    loaded = read_settings(app_paths)
    assert loaded.settings == Settings()
    assert "damaged" in loaded.notice and "settings.broken-2.json" in loaded.notice
    assert app_paths.config_dir.joinpath("settings.broken-1.json").read_text() == "the first damaged copy"
    assert app_paths.config_dir.joinpath("settings.broken-2.json").read_text() == damage


def test_a_second_damage_never_overwrites_the_first_copy(app_paths):
    for n, damage in enumerate(['{"a": ', '{"b": '], start=1):
        app_paths.config_file.write_text(damage)
        read_settings(app_paths)
        assert app_paths.config_dir.joinpath(f"settings.broken-{n}.json").read_text() == damage


def test_the_app_window_tells_of_a_damaged_settings_file(qtbot, app_paths):
    from soulsync.ui.main_window import MainWindow

    app_paths.config_file.write_text('{"plex": {"url": "http://p"')  # cut short
    context = AppContext.open(app_paths, secret_backend="file")
    window = MainWindow(context, check_services=False)
    qtbot.addWidget(window)
    assert window.notice_box is not None and "settings.broken-1.json" in window.notice_box.text()
    assert "damaged" in window.statusBar().currentMessage()
    window.notice_box.close()
    context.close()


@pytest.mark.parametrize("key, value", [("concurrent_downloads", 0), ("search_timeout_ms", -5),
                                        ("stall_timeout_s", -1.0), ("max_attempts", 0), ("poll_interval_s", 0),
                                        ("response_limit", -1), ("min_bitrate", -10)])
def test_numbers_outside_their_range_fall_back_to_the_default(app_paths, key, value):
    _write(app_paths, {"schema_version": SCHEMA_VERSION, "downloads": {key: value}})
    s = read_settings(app_paths).settings
    assert getattr(s.downloads, key) == getattr(Settings().downloads, key)


def test_a_nested_settings_file_is_not_an_unexpected_error(app_paths):
    app_paths.config_file.write_text('{"a": ' * 50_000 + "1" + "}" * 50_000)
    assert "damaged" in read_settings(app_paths).notice
    assert not os.path.exists(app_paths.config_file)


def test_the_command_line_tells_of_a_damaged_settings_file(app_paths, capsys):
    from soulsync.cli import open_context

    app_paths.config_file.write_text('{"slskd": {"url": "http://s')
    context = open_context(app_paths.config_dir, verbose=False)
    try:
        err = capsys.readouterr().err
        assert "warning: The settings file was damaged" in err and "settings.broken-1.json" in err
    finally:
        context.close()
        for handler in list(logging.getLogger().handlers):  # open_context logs to the folder's file
            if getattr(handler, "_soulsync", False):
                logging.getLogger().removeHandler(handler)
                handler.close()


def test_a_damaged_symlinked_settings_file_is_kept_beside_its_target_and_the_link_stays(app_paths, tmp_path):
    real = tmp_path / "dotfiles" / "soulsync.json"
    real.parent.mkdir()
    real.write_text('{"plex": ')
    app_paths.config_file.symlink_to(real)
    context = AppContext.open(app_paths, secret_backend="file")
    assert "soulsync.broken-1.json" not in context.notices[0] and "settings.broken-1.json" in context.notices[0]
    assert (real.parent / "settings.broken-1.json").read_text() == '{"plex": '
    context.settings.plex.url = "http://p"
    context.save()
    assert app_paths.config_file.is_symlink() and json.loads(real.read_text())["plex"]["url"] == "http://p"
