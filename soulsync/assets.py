"""The run-time resources shipped inside the package (``soulsync.resources``).

Everything SoulSync loads at run time (stylesheet, icons, desktop entry, AppStream
metainfo) is read through :mod:`importlib.resources`, so an installed wheel, an
editable install and the PyInstaller bundle all find the same files. Only a source
checkout run without installing (``python main.py`` with nothing installed) falls
back to the top-level ``resources/`` folder, which is what the package is built from.
"""
from __future__ import annotations

import atexit
import functools
from contextlib import ExitStack
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

PACKAGE = "soulsync.resources"

_extracted = ExitStack()
atexit.register(_extracted.close)


@functools.cache
def root() -> Traversable:
    """The resources folder: the ``soulsync.resources`` package (or, in an uninstalled checkout, ``resources/``)."""
    try:
        return resources.files(PACKAGE)
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / "resources"


def read_text(name: str) -> str:
    """The text of a resource, e.g. ``read_text("theme.qss")``."""
    return root().joinpath(name).read_text(encoding="utf-8")


def read_bytes(name: str) -> bytes:
    """The bytes of a resource."""
    return root().joinpath(name).read_bytes()


@functools.cache
def path(name: str) -> Path:
    """A file-system path to a resource, for APIs that want a file name (Qt's QIcon, QSS ``url()``).

    Where the package lives on disk this is the file itself; from a zip it is a temporary
    copy that lasts until the process exits.
    """
    return _extracted.enter_context(resources.as_file(root().joinpath(name)))
