"""Linux desktop integration, per user: the launcher entry, the icon and the AppStream metainfo.

``soulsync --install-desktop-entry`` writes, under ``$XDG_DATA_HOME`` (``~/.local/share``
by default; no root needed):

* ``applications/org.soulsync.SoulSync.desktop``, whose ``Exec`` starts this very
  installation (the bundle's executable, the ``soulsync`` launcher that was run, or
  this Python with ``-m soulsync``);
* ``icons/hicolor/scalable/apps/org.soulsync.SoulSync.svg`` and the PNG sizes desktops
  look for (``icons/hicolor/NxN/apps/…png``), rendered from the same SVG;
* ``metainfo/org.soulsync.SoulSync.metainfo.xml`` for software centres.

``--uninstall-desktop-entry`` removes exactly those files (and folders left empty).
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from soulsync import assets

APP_ID = "org.soulsync.SoulSync"
ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
"""The hicolor sizes written as PNG (beside the scalable SVG)."""

_EXEC_RESERVED = re.compile(r"""[\s"'\\><~|&;$*?#()`]""")


def data_home() -> Path:
    """``$XDG_DATA_HOME``, or ``~/.local/share`` when it is unset or not absolute (as the spec says)."""
    value = os.environ.get("XDG_DATA_HOME", "")
    return Path(value) if os.path.isabs(value) else Path.home() / ".local" / "share"


def launch_command() -> list[str]:
    """The command that starts this installation of SoulSync."""
    if getattr(sys, "frozen", False):  # the PyInstaller bundle
        return [sys.executable]
    launcher = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if launcher is not None and launcher.name == "soulsync" and launcher.is_file():
        return [str(launcher.absolute())]
    return [sys.executable, "-m", "soulsync"]


def exec_line(command: list[str]) -> str:
    """``command`` as a desktop entry's ``Exec`` value (quoted and escaped as the spec requires)."""
    def quote(arg: str) -> str:
        if not _EXEC_RESERVED.search(arg):
            return arg.replace("%", "%%")
        inner = re.sub(r'(["`$\\])', r"\\\1", arg).replace("%", "%%")
        return f'"{inner}"'.replace("\\", "\\\\")  # the string-value level escapes backslashes again
    return " ".join(quote(arg) for arg in command)


def entry_files(home: Path) -> list[Path]:
    """Every file ``install`` writes under the data folder ``home``."""
    icons = home / "icons" / "hicolor"
    return [
        home / "applications" / f"{APP_ID}.desktop",
        home / "metainfo" / f"{APP_ID}.metainfo.xml",
        icons / "scalable" / "apps" / f"{APP_ID}.svg",
        *(icons / f"{size}x{size}" / "apps" / f"{APP_ID}.png" for size in ICON_SIZES),
    ]


def _desktop_entry(command: list[str]) -> str:
    line = exec_line(command)
    text = assets.read_text(f"{APP_ID}.desktop")
    text = re.sub(r"^Exec=.*$", lambda _m: f"Exec={line}", text, flags=re.MULTILINE)
    return re.sub(r"^TryExec=.*$", lambda _m: f"TryExec={command[0]}", text, flags=re.MULTILINE)


def _png(svg: bytes, size: int) -> bytes:
    from PyQt6.QtCore import QBuffer, QByteArray, QIODevice
    from PyQt6.QtGui import QImage, QPainter
    from PyQt6.QtSvg import QSvgRenderer

    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(0)
    painter = QPainter(image)
    QSvgRenderer(QByteArray(svg)).render(painter)
    painter.end()
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return buffer.data().data()


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(data)
    partial.replace(path)


def install(home: Path | None = None, command: list[str] | None = None) -> list[Path]:
    """Write the launcher entry, icons and metainfo under ``home`` (default :func:`data_home`)."""
    home = home or data_home()
    svg = assets.read_bytes("icon.svg")
    desktop, metainfo, scalable, *pngs = entry_files(home)
    _write(desktop, _desktop_entry(command or launch_command()).encode("utf-8"))
    _write(metainfo, assets.read_bytes(f"{APP_ID}.metainfo.xml"))
    _write(scalable, svg)
    for size, png in zip(ICON_SIZES, pngs):
        _write(png, _png(svg, size))
    return [desktop, metainfo, scalable, *pngs]


def uninstall(home: Path | None = None) -> list[Path]:
    """Remove what :func:`install` wrote under ``home``, and the folders that leaves empty."""
    home = home or data_home()
    removed = []
    for path in entry_files(home):
        if path.exists():
            path.unlink()
            removed.append(path)
        folder = path.parent
        while folder != home and folder.is_relative_to(home) and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent
    return removed
