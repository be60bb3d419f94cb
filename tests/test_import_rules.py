"""The house's import rules, read from the source with ``ast``; imports inside functions count too.

* ``soulsync.core`` imports nothing of ours outside ``core``, no Qt and no network library;
* ``soulsync.services`` and ``soulsync.sim`` import no Qt;
* ``soulsync.ui`` never imports ``soulsync.sim``.

Arrows point one way (shared design notes): ui -> core, services; services -> core; core -> core only.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "soulsync"

QT = ("PyQt6", "PyQt5", "PySide6", "PySide2", "sip")
NETWORK = ("requests", "spotipy", "plexapi", "urllib3", "httpx", "aiohttp", "websocket", "websockets",
           "socket", "ssl", "http", "urllib.request", "ftplib", "smtplib", "xmlrpc")
"""Modules (and their submodules) that reach the network; ``urllib.parse`` only handles text."""


def imported(source: str, package: str) -> list[tuple[int, str]]:
    """Every module ``source`` imports, as ``(line, absolute dotted name)``, wherever the import stands.

    ``from a import b`` counts as ``a`` and as ``a.b`` (``b`` may be a submodule); a relative import is
    resolved against ``package``, the dotted package the source lives in.
    """
    parts = package.split(".")
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found.append((node.lineno, base))
            found.extend((node.lineno, f"{base}.{alias.name}") for alias in node.names if alias.name != "*")
    return found


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def violations(layer: str, forbidden: tuple[str, ...], ours_only: str | None = None) -> list[str]:
    """``path:line imports name`` for each import in ``soulsync/<layer>`` that breaks its rule.

    ``forbidden``: module prefixes the layer must not import. ``ours_only``: of ``soulsync``, the layer
    may import only this package.
    """
    found = set()
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        package = ".".join(path.relative_to(ROOT).parent.parts)
        for line, name in imported(path.read_text(encoding="utf-8"), package):
            ours_outside = ours_only is not None and _within(name, ("soulsync",)) and name != "soulsync" \
                and not _within(name, (ours_only,))
            if _within(name, forbidden) or ours_outside:
                found.add(f"{path.relative_to(ROOT)}:{line} imports {name}")
    return sorted(found)


def test_the_reader_sees_imports_in_functions_and_resolves_relative_ones() -> None:
    source = "import os\n\ndef f():\n    from PyQt6.QtCore import QObject\n    from ..services import plex\n"
    assert imported(source, "soulsync.core") == [
        (1, "os"), (4, "PyQt6.QtCore"), (4, "PyQt6.QtCore.QObject"), (5, "soulsync.services"),
        (5, "soulsync.services.plex")]


def test_core_imports_only_core_and_no_qt_or_network() -> None:
    assert violations("core", QT + NETWORK, ours_only="soulsync.core") == []


@pytest.mark.parametrize("layer", ["services", "sim"])
def test_services_and_sim_import_no_qt(layer: str) -> None:
    assert violations(layer, QT) == []


def test_ui_never_imports_the_simulations() -> None:
    assert violations("ui", ("soulsync.sim",)) == []
