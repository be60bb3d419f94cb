"""The Linux launcher entry: installed per user under XDG_DATA_HOME, valid, working, and removed cleanly."""
from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PyQt6.QtGui import QImage

from soulsync import __version__
from soulsync.desktop_entry import APP_ID, ICON_SIZES, exec_line

RUN_TIMEOUT_S = 60


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HOME=str(home), XDG_DATA_HOME=str(home / "data"))
    return subprocess.run([sys.executable, "-m", "soulsync", *args], env=env, cwd=home, capture_output=True,
                          text=True, timeout=RUN_TIMEOUT_S, check=True)


def _unescape_exec(value: str) -> list[str]:
    """An Exec value back to arguments as the desktop entry spec reads it: the string-level escape
    (two backslashes are one) first, then quoted arguments (a backslash before one of ``"`$\\``), then ``%%``."""
    text = re.sub(r"\\\\", lambda _m: "\\", value)
    args, current, quoted, i = [], "", False, 0
    while i < len(text):
        char = text[i]
        if quoted and char == "\\" and i + 1 < len(text) and text[i + 1] in '"`$\\':
            current, i = current + text[i + 1], i + 2
            continue
        if char == '"':
            quoted = not quoted
        elif char == " " and not quoted:
            args.append(current)
            current = ""
        else:
            current += char
        i += 1
    return [arg.replace("%%", "%") for arg in [*args, current]]


def test_install_and_uninstall_in_a_temporary_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    data = home / "data"
    out = _run(home, "--install-desktop-entry").stdout
    assert "Added SoulSync to the application launcher" in out

    written = sorted(p.relative_to(data).as_posix() for p in data.rglob("*") if p.is_file())
    assert written == sorted([
        f"applications/{APP_ID}.desktop", f"metainfo/{APP_ID}.metainfo.xml",
        f"icons/hicolor/scalable/apps/{APP_ID}.svg",
        *(f"icons/hicolor/{n}x{n}/apps/{APP_ID}.png" for n in ICON_SIZES),
    ])
    assert sorted(p.name for p in home.iterdir()) == ["data"], "nothing written outside XDG_DATA_HOME"

    for size in ICON_SIZES:
        image = QImage(str(data / f"icons/hicolor/{size}x{size}/apps/{APP_ID}.png"))
        assert (image.width(), image.height()) == (size, size)
        assert image.pixelColor(0, 0).alpha() == 0 and image.pixelColor(size // 2, size // 2).alpha() == 255

    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]
    entry.read(data / f"applications/{APP_ID}.desktop", encoding="utf-8")
    desktop = entry["Desktop Entry"]
    assert (desktop["Type"], desktop["Name"], desktop["Icon"]) == ("Application", "SoulSync", APP_ID)
    command = _unescape_exec(desktop["Exec"])
    assert Path(command[0]).is_absolute() and Path(desktop["TryExec"]) == Path(command[0])
    started = subprocess.run([*command, "--version"], capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
                             env=dict(os.environ, HOME=str(home)), check=True)
    assert started.stdout.strip() == f"SoulSync {__version__}", "the entry starts this SoulSync"

    metainfo = ET.parse(data / f"metainfo/{APP_ID}.metainfo.xml").getroot()
    assert metainfo.findtext("id") == APP_ID
    assert metainfo.findtext("launchable") == f"{APP_ID}.desktop"
    release = metainfo.find("releases/release")
    assert release is not None and release.get("version") == __version__, "add the release to the metainfo"
    for tool, args in (("desktop-file-validate", []), ("appstreamcli", ["validate", "--no-net"])):
        if shutil.which(tool):
            path = data / (f"applications/{APP_ID}.desktop" if tool.startswith("desktop") else
                           f"metainfo/{APP_ID}.metainfo.xml")
            subprocess.run([tool, *args, str(path)], check=True, capture_output=True, timeout=RUN_TIMEOUT_S)

    out = _run(home, "--uninstall-desktop-entry").stdout
    assert out.startswith("Removed SoulSync from the application launcher")
    assert list(data.rglob("*")) == [], "uninstall leaves nothing behind"
    assert _run(home, "--uninstall-desktop-entry").stdout.startswith("No SoulSync launcher entry found")


@pytest.mark.parametrize("command", [
    ["/opt/SoulSync/soulsync"],
    ["/home/me/My Apps/venv/bin/python", "-m", "soulsync"],
    ['/tmp/we"ird $dir\\100%/soulsync'],
])
def test_exec_line_round_trips(command: list[str]) -> None:
    line = exec_line(command)
    assert "\n" not in line
    assert _unescape_exec(line) == command
