"""The one cancellation exception: long work stopped because the person (or the app closing) asked.

Every cancellable job polls a cancel hook (``cancel() -> bool``) between steps and raises
:class:`Cancelled` when it turns True; the kinds that say more are its subclasses (a search stopped:
``search_run.SearchCancelled``; a service call given up: ``services.spotify_auth.Cancelled``), so one
``except Cancelled`` in a front end (the GUI's worker wrapper, a sync run) catches them all.
"""
from __future__ import annotations


class Cancelled(Exception):
    """The caller's cancel hook asked a long job to stop."""
