"""The tree of search results (albums with their tracks) on the Downloads page.

It keeps the user's place across model updates: :meth:`SearchResultsView.capture_state`
before a new filter, order or merge, :meth:`SearchResultsView.restore_state` after it
(selection, expanded albums and the row at the top)."""
from __future__ import annotations

from PyQt6.QtCore import QModelIndex, Qt
from PyQt6.QtWidgets import QAbstractItemView, QHeaderView, QTreeView, QWidget

from soulsync.ui.models.search_results import KeyRole, SearchResultsModel


class SearchResultsView(QTreeView):
    """The results tree over a :class:`~soulsync.ui.models.search_results.SearchResultsModel`."""

    def __init__(self, model: SearchResultsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._results = model
        self.setObjectName("results_view")
        self.setModel(model)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header = self.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col, width in enumerate((0, 110, 60, 80, 130, 90, 90, 90)):
            if col:
                header.resizeSection(col, width)

    def capture_state(self) -> dict:
        """The selected and expanded rows and the row at the top, by key."""
        model = self._results
        selected = [model.data(i, KeyRole) for i in self.selectionModel().selectedRows()]
        expanded = [model.data(model.index(r, 0), KeyRole) for r in range(model.rowCount())
                    if self.isExpanded(model.index(r, 0))]
        top = self.indexAt(self.viewport().rect().topLeft())
        return {"selected": selected, "expanded": expanded, "top": model.data(top, KeyRole) if top.isValid()
                else None}

    def restore_state(self, state: dict) -> None:
        """Expand, select and scroll to what :meth:`capture_state` saw, where those rows still are."""
        model = self._results
        wanted = set(state["expanded"])
        if wanted:
            for r in range(model.rowCount()):
                index = model.index(r, 0)
                if model.data(index, KeyRole) in wanted:
                    self.setExpanded(index, True)
        selection = self.selectionModel()
        for key in state["selected"]:
            index = self._find_key(key)
            if index.isValid():
                selection.select(index, selection.SelectionFlag.Select | selection.SelectionFlag.Rows)
        if state["top"] is not None:
            index = self._find_key(state["top"])
            if index.isValid():
                self.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtTop)

    def _find_key(self, key) -> QModelIndex:
        model = self._results
        index = model.index_of_key(key)
        if index.isValid():
            return index
        for r in range(model.rowCount()):
            parent = model.index(r, 0)
            if self.isExpanded(parent):
                for c in range(model.rowCount(parent)):
                    child = model.index(c, 0, parent)
                    if model.data(child, KeyRole) == key:
                        return child
        return QModelIndex()
