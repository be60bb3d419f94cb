"""Is the place a download goes to really there? The library folder and slskd's downloads folder.

An unmounted network share or an unplugged disk leaves its mount point behind: missing, or an empty
folder on the system disk. Filing into it would create the library silently on the wrong disk and
report the tracks as downloaded. Post-processing therefore never creates the library folder itself,
and refuses an empty one that held files before (:func:`library_root_problem`); the download queue
keeps such files waiting until the folder is back (:class:`DestinationUnavailable`).
"""
from __future__ import annotations

import os
from pathlib import Path


class DestinationUnavailable(Exception):
    """Files cannot be filed now (the library folder is not there); nothing is wrong with the file.

    The download queue keeps the item waiting and hands it over again on a later round."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _is_empty(folder: Path) -> bool:
    with os.scandir(folder) as entries:
        return next(entries, None) is None


def library_root_problem(root: Path, expect_files: bool) -> str | None:
    """Why files cannot be filed into the library folder ``root`` now, in words; None when they can.

    ``expect_files``: files were filed there before, so an empty folder means the disk or share
    behind it is missing (a new, empty library folder is fine while nothing was filed into it)."""
    hint = "is the disk plugged in, or the network share mounted?"
    try:
        if not root.exists():
            return f"The library folder {root} is not there ({hint}). Downloads wait until it is back."
        if not root.is_dir():
            return f"The library folder {root} is not a folder. Choose the library folder again in Settings."
        if expect_files and _is_empty(root):
            return (f"The library folder {root} is empty although files were filed there before ({hint}). "
                    "Downloads wait until it is back.")
    except OSError as exc:
        return f"The library folder {root} cannot be read ({exc.strerror or exc}). Downloads wait until it can."
    return None


def downloads_folder_problem(downloads_dir: Path, expected: Path) -> str | None:
    """Why a download slskd reports finished is not where it should be, when the cause is the folder itself.

    ``expected`` is where slskd puts the file (``<downloads>/<remote folder>/<name>``). When neither the
    file nor its folder is there, the configured downloads folder is not the one slskd writes into:
    every further download would be lost the same way, so the queue stops using up sources."""
    setting = "Settings > Downloads > Downloads folder (slskd's downloads folder as this computer sees it)"
    if not downloads_dir.is_dir():
        return f"slskd's downloads folder {downloads_dir} is not there: check {setting}."
    if expected.parent != downloads_dir and not expected.parent.exists():
        return (f"slskd reports {expected.name!r} finished, but neither it nor its folder is in {downloads_dir}: "
                f"that is not the folder slskd downloads into. Check {setting}. Finished downloads wait.")
    return None
