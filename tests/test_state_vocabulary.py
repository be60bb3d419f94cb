"""One state vocabulary: no module compares a state as a string outside the module that defines its enum.

Every module under ``soulsync/`` is parsed with :mod:`ast`. A string literal equal to a value of one of
the state enums below is a finding when it is compared (``==``, ``!=``, ``in``/``not in`` a literal
tuple, list or set, a ``case`` pattern) or when it keys a lookup table (a dict literal with two or more
values of one enum as keys), unless the module is the one that defines an enum holding that value.
Elsewhere the code compares enum members (``item.state == QueueState.FAILED``) and takes display words
from the enum (``state.label``), so renaming a state or its word is done in one place.

Words shared by other vocabularies are told apart by what they are compared with: a service error's
``kind`` (``exc.kind == "not_found"``) is the services' error vocabulary, not a state. The simulations
play slskd, Spotify and Plex and speak those programs' words, and slskd's own state words are read in
one table (:data:`WIRE_TABLES`); neither is SoulSync's vocabulary.
"""
from __future__ import annotations

import ast
import enum
import inspect
from collections.abc import Collection, Iterator
from pathlib import Path

from soulsync.core.analysis import Status
from soulsync.core.discography import ReleaseStatus
from soulsync.core.downloads import QueueState, queue_state_words
from soulsync.core.models import TransferState
from soulsync.core.playlist_state import PlaylistTrackState
from soulsync.core.run_progress import Phase
from soulsync.ui.search_session import SearchState

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "soulsync"

VOCABULARIES: tuple[type[enum.Enum], ...] = (QueueState, Status, Phase, TransferState, PlaylistTrackState, SearchState)
"""The state enums; each one's defining module is found from the class itself. (A release's
:class:`ReleaseStatus` is left out: its ``partial`` is also how :mod:`soulsync.core.pairing` says two
track numbers half agree, a word of its own.)"""

PENDING: frozenset[str] = frozenset()
"""Modules being rewritten that may still compare state words (none now)."""

OUTSIDE = ("soulsync/sim/",)
"""The simulated services: they speak slskd's, Spotify's and Plex's words (and their fault outcomes)."""

WIRE_TABLES = {"soulsync/core/models.py": {"_SLSKD_STATES"}}
"""Tables that read another program's state words (slskd's lower-cased transfer states) into our enums."""

_ERROR_KIND = "kind"
"""A service error's kind (``ServiceError.kind`` and friends): the services' own error vocabulary."""


def _owners() -> dict[str, set[str]]:
    """Each state word -> the modules (paths relative to the repository) whose enums hold it."""
    owners: dict[str, set[str]] = {}
    for vocabulary in VOCABULARIES:
        module = Path(inspect.getfile(vocabulary)).resolve().relative_to(ROOT).as_posix()
        for member in vocabulary:
            owners.setdefault(member.value, set()).add(module)
    return owners


def _literals(node: ast.AST) -> Iterator[ast.Constant]:
    """The string literals a comparison operand holds: itself, or the items of a literal collection."""
    items = node.elts if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else [node]
    for item in items:
        if isinstance(item, ast.Constant) and isinstance(item.value, str):
            yield item


def _is_error_kind(node: ast.AST) -> bool:
    """``kind``, ``exc.kind``, ``_kind(exc)`` or ``getattr(exc, "kind", ...)``."""
    if isinstance(node, ast.Name):
        return node.id == _ERROR_KIND
    if isinstance(node, ast.Attribute):
        return node.attr == _ERROR_KIND
    if isinstance(node, ast.Call):
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if name == "getattr" and len(node.args) >= 2:
            return isinstance(node.args[1], ast.Constant) and node.args[1].value == _ERROR_KIND
        return name.lstrip("_") == _ERROR_KIND
    return False


def _wire_tables(tree: ast.AST, names: Collection[str]) -> set[ast.AST]:
    """The values assigned to ``names`` (module-level tables of :data:`WIRE_TABLES`) in ``tree``."""
    tables: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id in names for t in node.targets):
            tables.add(node.value)
    return tables


def _compared(tree: ast.AST, words: set[str], wire_names: Collection[str] = ()) -> Iterator[ast.Constant]:
    """State words compared in ``tree`` (``==``/``!=``, ``in`` a literal collection, ``case`` patterns)
    and keying lookup tables."""
    by_enum = [{m.value for m in vocabulary} for vocabulary in VOCABULARIES]
    skipped = _wire_tables(tree, wire_names)
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(_is_error_kind(o) for o in operands):
                continue
            for op, left, right in zip(node.ops, operands[:-1], operands[1:], strict=True):
                if isinstance(op, (ast.Eq, ast.NotEq)):
                    sides = [left, right]
                elif isinstance(op, (ast.In, ast.NotIn)) and isinstance(right, (ast.Tuple, ast.List, ast.Set)):
                    sides = [right]
                else:
                    continue
                for side in sides:
                    yield from (c for c in _literals(side) if c.value in words)
        elif isinstance(node, ast.MatchValue):
            yield from (c for c in _literals(node.value) if c.value in words)
        elif isinstance(node, ast.Dict) and node not in skipped:
            keys = [k for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)]
            if any(len({k.value for k in keys} & values) >= 2 for values in by_enum):
                yield from (k for k in keys if k.value in words)


def findings() -> list[str]:
    """``path:line: 'word'`` for every state word compared outside the modules that define it."""
    owners = _owners()
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(ROOT).as_posix()
        if module in PENDING or module.startswith(OUTSIDE):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=module)
        for literal in _compared(tree, set(owners), WIRE_TABLES.get(module, set())):
            if module not in owners[literal.value]:
                found.append(f"{module}:{literal.lineno}: {literal.value!r}")
    return found


def test_no_state_string_is_compared_outside_its_module():
    found = findings()
    assert not found, ("state words compared as strings (compare the enum's members, take words from its "
                       "label):\n" + "\n".join(found))


def test_the_check_sees_comparisons_and_tables():
    """The checker itself: it finds each form it is meant to find, and leaves error kinds alone."""
    source = '''
if item.state == "failed": pass
if phase in ("downloading", "processing"): pass
WORDS = {"owned": "Owned", "missing": "Missing"}
match state:
    case "cancelled": pass
if exc.kind == "not_found" or _kind(exc) != "not_found": pass
BODY = {"failed": [], "enqueued": []}
if "aborted" in text or x in ("a", "b"): pass
WIRE = {"requested": 1, "initializing": 2}
'''
    owners = _owners()
    found = sorted((c.lineno, c.value) for c in _compared(ast.parse(source), set(owners), {"WIRE"}))
    assert found == [(2, "failed"), (3, "downloading"), (3, "processing"), (4, "missing"), (4, "owned"),
                     (6, "cancelled")]


def test_exceptions_name_real_files():
    """A pending or wire-table entry names a real file (a renamed one must leave the list, not hide in it)."""
    assert all((ROOT / module).is_file() for module in (*PENDING, *WIRE_TABLES))


def test_every_state_has_its_words():
    """One word table per enum, beside it: every member has a label (a missing one fails here, not on screen)."""
    for vocabulary in (QueueState, Status, Phase, TransferState, PlaylistTrackState, ReleaseStatus):
        assert all(isinstance(m.label, str) and m.label for m in vocabulary), vocabulary  # type: ignore[attr-defined]
    assert queue_state_words("queued_remotely") == "Queued at peer"
    assert queue_state_words("rejected") == "Rejected by peer"  # slskd's word, as an older row may hold it
    assert queue_state_words("needs_attention") == "Needs attention"


def test_the_track_table_state_follows_analysis_and_download():
    row = PlaylistTrackState
    assert [row.of_status(s) for s in Status] == [row.OWNED, row.MISSING, row.IGNORED]
    assert {p: row.of_phase(p) for p in Phase}[Phase.NOT_FOUND] is row.WISHLIST
    assert all(row.of_phase(p).wanted for p in Phase if p.finished and p is not Phase.DOWNLOADED)
    assert row.of_phase(Phase.DOWNLOADED).in_library and not row.MISSING.in_library
