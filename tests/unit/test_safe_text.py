"""Terminal escape injection (issue 17, item 5): untrusted names printed by the CLI or logged are shown escaped."""
from __future__ import annotations

import io
import json
import logging
from types import SimpleNamespace

import pytest
from hypothesis import given, strategies as st

from soulsync.cli import Display, _print_result
from soulsync.logsetup import setup_logging
from soulsync.safetext import json_for_terminal, printable

HOSTILE = [
    "\x1b[2J\x1b[H",                     # clear the screen
    "\x1b]0;pwned\x07",                  # set the window title
    "ok\r[downloaded] forged line",      # overwrite the line
    "name\nsoulsync: forged error",      # a second line
    "\x9b31m",                           # C1 CSI
    "evil\u202egnp.exe",                 # right-to-left override
    "\x1bP+q\x1b\\",                     # device control string
]


@pytest.mark.parametrize("text", HOSTILE)
def test_control_characters_are_shown_escaped(text):
    shown = printable(text)
    assert not any(ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f or c == "\u202e" for c in shown)
    assert "\\x1b" in shown or "\\x0d" in shown or "\\x0a" in shown or "\\x9b" in shown or "\\u202e" in shown


def test_ordinary_names_are_unchanged():
    for text in ("Björk — Jóga", "東京事変", "Beyoncé 🎤", "AC/DC", "a\\x1b literally"):
        assert printable(text) == text


@given(st.text())
def test_printable_never_lets_a_control_character_through(text):
    assert not any(ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f for c in printable(text))


@pytest.mark.parametrize("tty", [False, True])
def test_the_cli_progress_lines_escape_peer_names(tty):
    stream = io.StringIO()
    stream.isatty = lambda: tty  # type: ignore[method-assign]
    display = Display(stream)
    for text in HOSTILE:
        display.status(f"downloading from {text}")
        display.line(f"[failed] Song: peer {text} refused")
    display.done()
    out = stream.getvalue()
    own = out.replace("\r\x1b[2K", "")  # the display's own line clearing on a terminal
    assert "\x1b" not in own and "\r" not in own and "\x07" not in own and "\x9b" not in own
    assert own.count("\n") == len(HOSTILE)


def test_the_cli_result_escapes_spotify_names(capsys):
    track = SimpleNamespace(display=lambda: "\x1b]0;title\x07Artist - Song", title="Song\x9b", artists=["A\x1b[2J"])
    status = SimpleNamespace(status=SimpleNamespace(value="missing"), track=track, ambiguous=False, score=0.0,
                             library_path=None, as_json=lambda: {"title": "Song\x9b\x1b[2J"})
    entry = SimpleNamespace(playlist=SimpleNamespace(name="List\r\x1b[2Jforged"), statuses=[status])
    _print_result([entry], False, None)
    _print_result([entry], True, None)
    out = capsys.readouterr().out
    assert not any(c in out for c in "\x1b\x07\x9b\r")
    assert json.loads(out.splitlines()[-1])["playlists"][0]["tracks"][0]["title"] == "Song\x9b\x1b[2J"


def test_json_for_terminal_is_the_same_json():
    data = {"name": "a\x7f\x85\x9b\u202eb", "n": 1}
    text = json_for_terminal(json.dumps(data, ensure_ascii=False))
    assert json.loads(text) == data and not any(0x7f <= ord(c) <= 0x9f for c in text)


def test_log_lines_cannot_be_forged_or_carry_escapes(tmp_path):
    log_file = setup_logging(tmp_path)
    try:
        logging.getLogger("soulsync.test").warning("peer %s refused the file %s", "bob\nERROR forged", "\x1b[2J.mp3")
        for handler in logging.getLogger().handlers:
            handler.flush()
        text = log_file.read_text()
    finally:
        for handler in list(logging.getLogger().handlers):
            if getattr(handler, "_soulsync", False):
                logging.getLogger().removeHandler(handler)
                handler.close()
    [line] = [l for l in text.splitlines() if "refused the file" in l]
    assert "\x1b" not in text and "ERROR forged" in line and "\\x0a" in line


def test_the_cli_status_line_fits_one_terminal_row(monkeypatch):
    """A status wider than the terminal wraps, and the next one's "\\r" erase reaches one row only: what
    was left of the first row stayed on screen as fragments ("rogres:")."""
    import os

    monkeypatch.setattr("shutil.get_terminal_size", lambda fallback=(80, 24): os.terminal_size((40, 24)))
    stream = io.StringIO()
    stream.isatty = lambda: True  # type: ignore[method-assign]
    display = Display(stream)
    display.status("Comparing Road Trip '19 — the long way round, with friends 12/150")
    display.status("short 1/2")
    rows = [r for r in stream.getvalue().split("\r\x1b[2K") if r]
    assert rows[0].startswith("Comparing Road Trip") and rows[0].endswith("…") and len(rows[0]) == 39
    assert rows[1] == "short 1/2"
