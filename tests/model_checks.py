"""Checks for item models: Qt's model tester kept on a model while a test drives it, and every
``data()``, ``flags()`` and ``headerData()`` call a view, a tooltip or an accessibility query may make.

Qt's tester (``QAbstractItemModelTester``, what pytest-qt's ``qtmodeltester`` runs) is used directly
because one test watches several models, each needing its own tester alive for the test's length.
"""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterator

import pytest
from PyQt6 import sip
from PyQt6.QtCore import (
    QAbstractItemModel,
    QAbstractListModel,
    QMessageLogContext,
    QModelIndex,
    Qt,
    QtMsgType,
    qInstallMessageHandler,
)
from PyQt6.QtTest import QAbstractItemModelTester

ROLES = range(Qt.ItemDataRole.UserRole.value + 21)
"""Every role from 0 (display) to ``UserRole + 20``."""


class ModelChecks:
    """Attaches Qt's model tester to models, keeps the testers alive for the test's length and collects
    what they report (Qt messages of category ``qt.modeltest``; caught here rather than through
    pytest-qt's log capture, which ``-s`` turns off)."""

    def __init__(self) -> None:
        self._testers: list[QAbstractItemModelTester] = []
        self.failures: list[str] = []
        self._previous: Callable | None = None

    def install(self) -> None:
        self._previous = qInstallMessageHandler(self._message)

    def uninstall(self) -> None:
        """Stop the testers (a model may outlive the test) and restore the message handler."""
        for tester in self._testers:
            sip.delete(tester)
        self._testers.clear()
        qInstallMessageHandler(self._previous)

    def _message(self, kind: QtMsgType, context: QMessageLogContext, text: str) -> None:
        if context.category == "qt.modeltest":
            self.failures.append(text)
        if self._previous is not None:
            self._previous(kind, context, text)
        elif context.category == "qt.modeltest":
            print(f"{context.category}: {text}", file=sys.stderr)

    def watch(self, *models: QAbstractItemModel) -> None:
        """Check these models now and after every change from here on."""
        for model in models:
            self._testers.append(QAbstractItemModelTester(
                model, QAbstractItemModelTester.FailureReportingMode.Warning))
        self.assert_clean()

    def assert_clean(self) -> None:
        """Fail on anything the testers reported so far."""
        assert not self.failures, "Qt's model tester failed:\n" + "\n".join(dict.fromkeys(self.failures))


@pytest.fixture
def model_checks() -> Iterator[ModelChecks]:
    """Qt's model tester for the models a test passes to ``watch``; fails the test on any finding."""
    checks = ModelChecks()
    checks.install()
    try:
        yield checks
    finally:
        checks.uninstall()
    checks.assert_clean()


def columns(model: QAbstractItemModel, parent: QModelIndex | None = None) -> int:
    """``columnCount`` (which PyQt keeps private on list models: they have one column)."""
    if isinstance(model, QAbstractListModel):
        return 1
    return model.columnCount(parent if parent is not None else QModelIndex())


def every_index(model: QAbstractItemModel, parent: QModelIndex | None = None) -> Iterator[QModelIndex]:
    """Every index of the model, depth first, children of any column included."""
    parent = parent if parent is not None else QModelIndex()
    for row in range(model.rowCount(parent)):
        for column in range(columns(model, parent)):
            index = model.index(row, column, parent)
            assert index.isValid(), (row, column, parent.row(), parent.column())
            yield index
            if model.rowCount(index) > 0:
                yield from every_index(model, index)


def ask_everything(model: QAbstractItemModel) -> int:
    """``data()`` of every index in every role, ``flags()``, and every header in every role;
    returns how many indexes were asked. Raises whatever the model raises."""
    count = 0
    for index in every_index(model):
        count += 1
        model.flags(index)
        for role in ROLES:
            model.data(index, role)
    for orientation, sections in ((Qt.Orientation.Horizontal, columns(model)),
                                  (Qt.Orientation.Vertical, model.rowCount())):
        for section in range(sections):
            for role in ROLES:
                model.headerData(section, orientation, role)
    return count
