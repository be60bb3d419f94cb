"""Logging: a rotating file in the log folder, console with ``--verbose``, secrets scrubbed.

Every handler carries :class:`SecretScrubber`, which replaces registered
secret values and well-known credential patterns (tokens in URLs and
headers) with ``***`` and shows control characters escaped
(:func:`soulsync.safetext.printable`) before anything is written.
"""
from __future__ import annotations

import logging
import logging.handlers
import re
import threading
from pathlib import Path

from soulsync.safetext import printable

_secrets: set[str] = set()
_secrets_lock = threading.Lock()

_PATTERNS = [
    re.compile(r"(?i)(X-Plex-Token[=:]\s*)[^\s&'\"]+"),
    re.compile(r"(?i)(X-API-Key[=:'\"\s]+)[^\s&'\",}]+"),
    re.compile(r"(?i)(Bearer\s+)[A-Za-z0-9._\-~+/=]+"),
    re.compile(r"(?i)((?:access|refresh)_token['\"]?\s*[=:]\s*['\"]?)[^\s&'\",}]+"),
    re.compile(r"(?i)((?:client_secret|password|code_verifier)['\"]?\s*[=:]\s*['\"]?)[^\s&'\",}]+"),
]


_PUBLIC_WORDS = frozenset({"slskd", "soulseek", "plex", "spotify", "soulsync"})
"""Values never treated as secrets: the services' names, which every message uses (slskd's
documented default web login is slskd/slskd, so that "secret" is public anyway, and scrubbing it
would turn every mention of slskd into ``***``)."""


def register_secret(value: str) -> None:
    """Remember a secret value so that it is scrubbed from every log line and every text shown
    (values shorter than 4 characters and the services' names excepted)."""
    if value and len(value) >= 4 and value.strip().lower() not in _PUBLIC_WORDS:
        with _secrets_lock:
            _secrets.add(value)


def scrub(text: str) -> str:
    """``text`` with every known secret and credential pattern replaced by ``***``."""
    with _secrets_lock:
        values = sorted(_secrets, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, "***")
    for pattern in _PATTERNS:
        text = pattern.sub(r"\1***", text)
    return text


_OSERROR_TEXT = ("strerror", "filename", "filename2")


def scrub_exception(exc: BaseException) -> BaseException:
    """``exc`` fit to show a person: registered secrets and credential patterns removed from its text.

    String arguments and text attributes (a service error's ``message`` and ``detail``, an
    ``OSError``'s file names, notes) are scrubbed in place, so the type stays what callers test for.
    An exception whose text still holds a secret after that (its ``__str__`` builds the text from
    elsewhere) is replaced by a ``RuntimeError`` carrying the scrubbed text, not chained to it.
    """
    try:
        exc.args = tuple(scrub(a) if isinstance(a, str) else a for a in exc.args)
    except (AttributeError, TypeError):
        pass
    names = set(getattr(exc, "__dict__", {})) | (set(_OSERROR_TEXT) if isinstance(exc, OSError) else set())
    for name in names:
        value = getattr(exc, name, None)
        try:
            if isinstance(value, str):
                setattr(exc, name, scrub(value))
            elif name == "__notes__" and isinstance(value, list):
                setattr(exc, name, [scrub(n) if isinstance(n, str) else n for n in value])
        except (AttributeError, TypeError):
            pass
    try:
        text = str(exc)
    except Exception:  # a broken __str__: show the type only
        return RuntimeError(type(exc).__name__)
    clean = scrub(text)
    return exc if clean == text else RuntimeError(f"{type(exc).__name__}: {clean}")


def current_log_dir() -> Path | None:
    """The folder of the log file :func:`setup_logging` opened, or None before logging is set up."""
    for handler in logging.getLogger().handlers:
        if getattr(handler, "_soulsync", False) and isinstance(handler, logging.FileHandler):
            return Path(handler.baseFilename).parent
    return None


class SecretScrubber(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg = printable(scrub(message))  # a peer's name never forges a log line or drives a terminal
        record.args = None
        if record.exc_text:
            record.exc_text = printable(scrub(record.exc_text), keep_newlines=True)
        return True


FORMAT = "%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"


def setup_logging(log_dir: Path, verbose: bool = False) -> Path:
    """Log to ``log_dir/soulsync.log`` (rotating, 5 x 2 MB); to stderr too with ``verbose``."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_file = log_dir / "soulsync.log"
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_soulsync", False):
            root.removeHandler(handler)
            handler.close()
    file_handler = logging.handlers.RotatingFileHandler(log_file, maxBytes=2_000_000, backupCount=5,
                                                        encoding="utf-8")
    handlers: list[logging.Handler] = [file_handler]
    if verbose:
        handlers.append(logging.StreamHandler())
    for handler in handlers:
        handler._soulsync = True  # type: ignore[attr-defined]
        handler.setFormatter(logging.Formatter(FORMAT))
        handler.addFilter(SecretScrubber())
        root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("urllib3", "plexapi", "spotipy", "PIL"):
        logging.getLogger(noisy).setLevel(logging.INFO if verbose else logging.WARNING)
    return log_file
