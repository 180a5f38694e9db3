"""Tags drawn as chips: in a row of labels, and as a delegate for the session table."""

from __future__ import annotations

import hashlib

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QHBoxLayout, QLabel, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from ..models.session_table import ROW_ROLE

CHIP_HUES = (210, 150, 30, 280, 0, 180, 90, 330, 60, 250)


def tag_color(tag: str) -> QColor:
    """A stable, light background colour per tag."""
    hue = CHIP_HUES[hashlib.md5(tag.encode("utf-8", "replace")).digest()[0] % len(CHIP_HUES)]
    return QColor.fromHsl(hue, 150, 225)


class TagChips(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)
        self._layout.addStretch(1)

    def set_tags(self, tags) -> None:
        while self._layout.count() > 1:
            widget = self._layout.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        for i, tag in enumerate(tags):
            chip = QLabel(tag)
            chip.setTextFormat(Qt.TextFormat.PlainText)
            chip.setStyleSheet(
                f"background: {tag_color(tag).name()}; border-radius: 8px; padding: 1px 7px; color: #202020;"
            )
            self._layout.insertWidget(i, chip)


class TagChipDelegate(QStyledItemDelegate):
    """Paints a cell's comma-separated tags as rounded chips."""

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(option.rect, option.palette.highlight())
        tags = _tags_of(index)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        metrics = option.fontMetrics
        x = option.rect.left() + 3
        right = option.rect.right() - 3
        height = min(option.rect.height() - 4, metrics.height() + 2)
        y = option.rect.top() + (option.rect.height() - height) / 2
        for i, tag in enumerate(tags):
            width = metrics.horizontalAdvance(tag) + 12
            if x + width > right:
                more = f"+{len(tags) - i}"
                painter.setPen(option.palette.text().color())
                painter.drawText(QRectF(x, y, right - x + 3, height), int(Qt.AlignmentFlag.AlignVCenter), more)
                break
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(tag_color(tag))
            painter.drawRoundedRect(QRectF(x, y, width, height), height / 2, height / 2)
            painter.setPen(QColor("#202020"))
            painter.drawText(QRectF(x, y, width, height), int(Qt.AlignmentFlag.AlignCenter), tag)
            x += width + 4
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        width = sum(option.fontMetrics.horizontalAdvance(t) + 16 for t in _tags_of(index)) + 6
        return QSize(min(width, 400), option.fontMetrics.height() + 8)


def _tags_of(index: QModelIndex | QPersistentModelIndex) -> list[str]:
    row = index.data(ROW_ROLE)
    return list(row.tags) if row is not None else []
