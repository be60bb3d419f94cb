"""The download queue's words for failures: why a transfer failed, and what slskd's error kinds mean.

Peers and slskd supply the raw text (transfer exceptions, enqueue refusals);
everything here turns it into one short printable line a person can read.
The error-kind sets say how the queue treats a failed slskd request: certainly
not taken, refused for this file, or slskd itself unavailable for the round.
"""
from __future__ import annotations

import re

from soulsync.core.models import Transfer, TransferState
from soulsync.core.slskd_files import DownloadRules

_MAX_TEXT = 300
"""Peer-supplied text (exception messages) is cut to this many characters."""

TRANSIENT_KINDS = frozenset({"rate_limited", "not_ready", "auth"})
"""Service error kinds after which a request certainly did not take effect."""
REFUSED_KINDS = frozenset({"server", "not_found"})
"""Service error kinds that mean slskd refused this request (e.g. the peer is offline)."""
HALT_KINDS = frozenset({"unreachable", "tls", "auth", "not_ready", "wrong_server", "foreign_address"})
"""Service error kinds that mean slskd itself cannot take requests now: the rest of a round waits. A
timeout, a 429 or a refusal concerns one request (one peer may be slow to reach), so the others go on."""


def clean_text(text: object) -> str:
    """Untrusted text (peer exception messages) as one short printable line."""
    line = "".join(ch if ch.isprintable() else " " for ch in str(text or "")).strip()
    return line if len(line) <= _MAX_TEXT else line[:_MAX_TEXT - 1] + "…"


_TRANSFER_PREFIX = re.compile(r"^Transfer (?:rejected|failed|aborted):\s*", re.IGNORECASE)
"""slskd's own prefix on transfer exceptions, dropped where our words already say it."""


def failure_reason(transfer: Transfer) -> str:
    """Why a failed transfer failed, in words."""
    detail = _TRANSFER_PREFIX.sub("", clean_text(transfer.exception))
    state = transfer.state
    if state is TransferState.REJECTED:
        return "The peer rejected the download" + (f" ({detail})" if detail else "")
    if state is TransferState.TIMED_OUT:
        return "Timed out" + (f" ({detail})" if detail else "")
    if state is TransferState.ABORTED:
        return "The transfer was aborted" + (f" ({detail})" if detail else "")
    if state is TransferState.CANCELLED:
        return "Cancelled in slskd"
    return f"Transfer failed: {detail or clean_text(transfer.raw_state) or 'no reason given'}"


def retry_reason(t: Transfer, rules: DownloadRules) -> str:
    """``retrying (attempt 2 of 3) after: <why the last attempt failed>``, for a transfer slskd tries again."""
    attempt = (t.attempts or 1) + (1 if t.state.is_failure else 0)
    why = _TRANSFER_PREFIX.sub("", clean_text(t.exception))
    return f"retrying (attempt {attempt} of {rules.retry_attempts})" + (f" after: {why}" if why else "")


def attempt_count(n: int) -> str:
    """``1 attempt`` / ``3 attempts``."""
    return "1 attempt" if n == 1 else f"{n} attempts"


def describe_error(exc: BaseException) -> str:
    """An exception in words: its cleaned text, else its type's name."""
    return clean_text(exc) or type(exc).__name__


def failed_entries(result: object) -> list[tuple[str, str]]:
    """``(filename, message)`` of each file slskd's enqueue answer lists as failed."""
    out = []
    for entry in getattr(result, "failed", None) or ():
        if isinstance(entry, str):
            out.append((entry, ""))
        elif isinstance(entry, dict) and isinstance(entry.get("filename"), str):
            out.append((entry["filename"], clean_text(entry.get("message", ""))))
        elif isinstance(entry, (tuple, list)) and entry and isinstance(entry[0], str):
            out.append((entry[0], clean_text(entry[1]) if len(entry) > 1 else ""))
    return out

