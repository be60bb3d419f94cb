"""The filters and order of the Downloads page's search results: kind, formats, bitrate, lossless,
free slot and sort, in one bar that wraps onto more rows in a narrow window."""
from __future__ import annotations

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QCheckBox, QComboBox, QLabel, QWidget

from soulsync.core.quality import FORMAT_FAMILIES
from soulsync.core.search_filters import FilterSpec, ResultKind, SortBy
from soulsync.ui.widgets.fitting import FlowLayout

FORMAT_CHOICES = sorted(set(FORMAT_FAMILIES.values())) + ["Other"]
SORT_CHOICES = (("Relevance", SortBy.RELEVANCE), ("Quality", SortBy.QUALITY), ("Size", SortBy.SIZE),
                ("Peer speed", SortBy.SPEED), ("Free slot / queue", SortBy.AVAILABILITY), ("Name", SortBy.NAME))
BITRATE_CHOICES = (("Any bitrate", 0), ("128+ kbps", 128), ("192+ kbps", 192), ("256+ kbps", 256),
                   ("320 kbps", 320))


class SearchFilterBar(QWidget):
    """The filter and sort controls. ``filters_changed``: a filter control changed (read
    :meth:`filter_spec`); ``sort_changed``: the order changed (read :meth:`sort`)."""

    filters_changed = pyqtSignal()
    sort_changed = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        filters = FlowLayout(self)
        self.kind_combo = QComboBox()
        self.kind_combo.setObjectName("kind_filter")
        for label, kind in (("Albums and singles", ResultKind.BOTH), ("Albums", ResultKind.ALBUMS),
                            ("Singles", ResultKind.SINGLES)):
            self.kind_combo.addItem(label, kind)
        filters.addWidget(self.kind_combo)
        self.format_boxes: dict[str, QCheckBox] = {}
        for name in FORMAT_CHOICES:
            box = QCheckBox(name)
            box.setObjectName(f"format_{name.replace('/', '_')}")
            self.format_boxes[name] = box
            filters.addWidget(box)
        self.bitrate_combo = QComboBox()
        self.bitrate_combo.setObjectName("bitrate_filter")
        for label, value in BITRATE_CHOICES:
            self.bitrate_combo.addItem(label, value)
        filters.addWidget(self.bitrate_combo)
        self.lossless_box = QCheckBox("Lossless")
        self.lossless_box.setObjectName("lossless_filter")
        self.free_slot_box = QCheckBox("Free slot")
        self.free_slot_box.setObjectName("free_slot_filter")
        filters.addWidget(self.lossless_box)
        filters.addWidget(self.free_slot_box)
        filters.addWidget(QLabel("Sort"))
        self.sort_combo = QComboBox()
        self.sort_combo.setObjectName("sort_combo")
        for label, by in SORT_CHOICES:
            self.sort_combo.addItem(label, by)
        filters.addWidget(self.sort_combo)

        self.kind_combo.currentIndexChanged.connect(self.filters_changed)
        self.bitrate_combo.currentIndexChanged.connect(self.filters_changed)
        self.lossless_box.toggled.connect(self.filters_changed)
        self.free_slot_box.toggled.connect(self.filters_changed)
        for box in self.format_boxes.values():
            box.toggled.connect(self.filters_changed)
        self.sort_combo.currentIndexChanged.connect(self.sort_changed)

    def filter_spec(self, text: str) -> FilterSpec:
        """The filter the controls show, with ``text`` as its text filter."""
        return FilterSpec(
            kind=self.kind_combo.currentData(),
            formats=frozenset(n for n, b in self.format_boxes.items() if b.isChecked()),
            min_bitrate=self.bitrate_combo.currentData() or 0,
            lossless_only=self.lossless_box.isChecked(),
            free_slot_only=self.free_slot_box.isChecked(),
            text=text,
        )

    def sort(self) -> SortBy:
        """The order the sort control shows."""
        return self.sort_combo.currentData()

    def show_spec(self, spec: FilterSpec, sort: SortBy) -> None:
        """Put a filter and an order into the controls (without announcing a change)."""
        widgets = [self.kind_combo, self.bitrate_combo, self.lossless_box, self.free_slot_box, self.sort_combo,
                   *self.format_boxes.values()]
        for w in widgets:
            w.blockSignals(True)
        self.kind_combo.setCurrentIndex(max(0, self.kind_combo.findData(spec.kind)))
        self.bitrate_combo.setCurrentIndex(max(0, self.bitrate_combo.findData(spec.min_bitrate)))
        self.lossless_box.setChecked(spec.lossless_only)
        self.free_slot_box.setChecked(spec.free_slot_only)
        for name, box in self.format_boxes.items():
            box.setChecked(name in spec.formats)
        self.sort_combo.setCurrentIndex(max(0, self.sort_combo.findData(sort)))
        for w in widgets:
            w.blockSignals(False)
