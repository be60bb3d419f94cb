"""Connection tests for the Settings page, the status bar and the dashboard.

Each check builds nothing itself: it takes a ready client, makes one or two
cheap calls, and says in words what it found or what went wrong.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from soulsync.logsetup import scrub
from soulsync.services.errors import (
    AuthError, NotReady, RateLimited, ServerError, ServiceError, ServiceTimeout, TLSFailure,
    Unreachable, WrongServer,
)


@dataclass
class CheckResult:
    service: str
    ok: bool
    summary: str
    kind: str = "ok"
    """``ok`` or the failure kind: unreachable, timeout, tls, auth, wrong_server, not_ready..."""
    details: dict = field(default_factory=dict)


def describe_error(exc: BaseException, service: str) -> tuple[str, str]:
    """(kind, sentence) for a failure, fit to show a person (registered secrets and credential
    patterns scrubbed: a server's error text or an unexpected exception may quote them)."""
    kind, text = _describe(exc, service)
    return kind, scrub(text)


def _describe(exc: BaseException, service: str) -> tuple[str, str]:
    if isinstance(exc, ServiceTimeout):
        return "timeout", f"{service} did not answer in time. Is the server overloaded or the address wrong?"
    if isinstance(exc, TLSFailure):
        return "tls", (f"Secure connection to {service} failed (certificate or TLS problem). "
                       "For a self-signed certificate, turn off certificate checks for this service.")
    if isinstance(exc, Unreachable):
        return "unreachable", f"Cannot reach {service}: {exc.message}. Check the address and that it is running."
    if isinstance(exc, AuthError):
        return "auth", f"{service} refused the request: {exc.message}"
    if isinstance(exc, WrongServer):
        return "wrong_server", f"That address answered, but it is not {service}: {exc.message}"
    if isinstance(exc, NotReady):
        return "not_ready", f"{service} is up but not ready: {exc.message}"
    if isinstance(exc, RateLimited):
        wait = f" Try again in {seconds(exc.retry_after)}." if exc.retry_after else ""
        return "rate_limited", f"{service} asks to slow down.{wait}"
    if isinstance(exc, ServerError):
        return "server", f"{service} reported an error: {exc.message}"
    if isinstance(exc, ServiceError):
        return exc.kind, f"{service}: {exc.message}"
    return "error", f"{service}: unexpected error ({type(exc).__name__}: {exc})"


def seconds(value: float) -> str:
    """A wait in words: ``0.3 s``, ``2 s``."""
    return f"{value:.1f} s" if value < 1 else f"{value:.0f} s"


def describe_retry(exc: BaseException, service: str, delay: float, attempt: int, attempts: int) -> str:
    """What failed and that it is tried again: try ``attempt + 2`` of ``attempts`` follows in ``delay`` seconds."""
    text = f"{service} asks to slow down." if isinstance(exc, RateLimited) else describe_error(exc, service)[1]
    if not text.endswith("."):
        text += "."
    return f"{text} Trying again in {seconds(delay)} (attempt {attempt + 2} of {attempts})…"


def _failed(service: str, exc: BaseException) -> CheckResult:
    kind, text = describe_error(exc, service)
    return CheckResult(service, False, text, kind)


def check_spotify(client: Any) -> CheckResult:
    """Who is connected: ``current_user()``."""
    try:
        user = client.current_user()
    except Exception as exc:
        return _failed("Spotify", exc)
    name = user.get("display_name") or user.get("id") or "unknown user"
    return CheckResult("Spotify", True, f"Connected as {name}", details={"user": name, "id": user.get("id")})


def check_plex(client: Any) -> CheckResult:
    """Server name, version and music libraries."""
    try:
        info = client.server_info()
    except Exception as exc:
        return _failed("Plex", exc)
    sections = [s.title if hasattr(s, "title") else str(s) for s in info.music_sections]
    libs = ", ".join(sections) if sections else "no music library"
    return CheckResult("Plex", True, f"{info.name} (Plex {info.version}): {libs}",
                       details={"name": info.name, "version": info.version, "music_sections": sections})


def check_slskd(client: Any) -> CheckResult:
    """slskd version and whether it is logged in to the Soulseek network."""
    try:
        state = client.application_state()
    except Exception as exc:
        return _failed("slskd", exc)
    details = {"version": state.version, "logged_in": state.logged_in, "username": state.username}
    if not state.logged_in:
        return CheckResult("slskd", False,
                           f"slskd {state.version} is running but not logged in to Soulseek "
                           f"({state.server_state or 'disconnected'})", "not_ready", details)
    who = f" as {state.username}" if state.username else ""
    return CheckResult("slskd", True, f"slskd {state.version}, logged in to Soulseek{who}", details=details)
