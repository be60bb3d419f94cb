"""Untrusted text made safe for a terminal or a log line: control characters shown escaped.

Peer user names and file names come from anonymous strangers, Spotify names from anyone who makes a
playlist. Printed raw, an escape sequence in one clears the screen, sets the window title or forges a
line of output (a carriage return, a newline). :func:`printable` shows every C0 and C1 control
character, DEL and the bidirectional overrides as a visible escape (``\\x1b``, ``\\u202e``) instead.
"""
from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_UNSAFE_KEEP_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, keep_newlines: bool = False) -> str:
    """``text`` with control characters escaped (tabs kept; newlines kept only with ``keep_newlines``)."""
    pattern = _UNSAFE_KEEP_LINES if keep_newlines else _UNSAFE
    return pattern.sub(_escape, text.replace("\t", " ") if not keep_newlines else text)


def json_for_terminal(text: str) -> str:
    """JSON text (``json.dumps(..., ensure_ascii=False)``) with the characters JSON leaves raw but terminals
    act on (DEL, C1 controls, bidirectional overrides) written as ``\\uXXXX`` escapes: still the same JSON."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
