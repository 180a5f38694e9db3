"""Session details: identity, tags, times, end state, totals, host environment, files."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from PySide6.QtCore import QStringListModel, Qt
from PySide6.QtGui import QGuiApplication, QStandardItemModel
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QPushButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from ..core.store import SessionRow
from ..style import STATUS_COLORS, elide, format_cost, format_count, format_duration
from .event_detail import json_model
from .tags import TagChips


def _when(ns: int | None) -> str:
    if ns is None:
        return "-"
    local = datetime.fromtimestamp(ns / 1e9).astimezone()
    utc = datetime.fromtimestamp(ns / 1e9, tz=timezone.utc)
    return f"{local:%Y-%m-%d %H:%M:%S %Z}  ({utc:%H:%M:%S} UTC)"


def _label() -> QLabel:
    label = QLabel()
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setWordWrap(True)
    return label


class SessionDetailsWidget(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sessionDetails")
        self.row: SessionRow | None = None
        self.fields: dict[str, QLabel] = {}
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        for key in (
            "Name",
            "Status",
            "Reason",
            "Started",
            "Ended",
            "Duration",
            "Totals",
            "Review",
            "Tokens",
            "Cost",
            "Host",
            "Dropped",
        ):
            self.fields[key] = _label()
            if key == "Name":
                font = self.fields[key].font()
                font.setPointSizeF(font.pointSizeF() * 1.3)
                font.setBold(True)
                self.fields[key].setFont(font)
            form.addRow(key, self.fields[key])
        self.id_label = _label()
        self.id_label.setObjectName("sessionId")
        self.copy_button = QPushButton("Copy")
        self.copy_button.setObjectName("copySessionId")
        self.copy_button.setToolTip("Copy the session id")
        self.copy_button.clicked.connect(self.copy_id)
        id_row = QHBoxLayout()
        id_row.addWidget(self.id_label, 1)
        id_row.addWidget(self.copy_button)
        form.insertRow(1, "Id", id_row)
        self.tags = TagChips()
        form.insertRow(2, "Tags", self.tags)

        self.host_model = QStandardItemModel(self)
        host_view = QTreeView()
        host_view.setObjectName("hostEnvironment")
        host_view.setModel(self.host_model)
        host_view.setUniformRowHeights(True)
        host_view.header().resizeSection(0, 210)
        self.host_view = host_view
        host_box = QGroupBox("Host environment")
        QVBoxLayout(host_box).addWidget(host_view)

        self.files_model = QStringListModel(self)
        files_view = QListView()
        files_view.setObjectName("sessionFiles")
        files_view.setModel(self.files_model)
        files_box = QGroupBox("Files")
        QVBoxLayout(files_box).addWidget(files_view)

        top = QWidget()
        top.setLayout(form)
        lower = QHBoxLayout()
        lower.addWidget(host_box, 3)
        lower.addWidget(files_box, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(top)
        layout.addLayout(lower, 1)
        self.show_row(None)

    def show_row(self, row: SessionRow | None) -> None:
        self.row = row
        f = self.fields
        self.copy_button.setEnabled(row is not None)
        if row is None:
            for label in f.values():
                label.setText("")
            f["Name"].setText("Select a session in the list.")
            self.id_label.setText("")
            self.tags.set_tags([])
            self.files_model.setStringList([])
            return
        f["Name"].setText(elide(row.name, 300))
        self.id_label.setText(row.id)
        self.tags.set_tags(row.tags)
        f["Status"].setText(row.status_text + (" (still recording)" if row.status == "running" else ""))
        f["Status"].setStyleSheet(f"color: {STATUS_COLORS.get(row.status_text, '#444')}; font-weight: 600;")
        f["Reason"].setText(elide(row.reason or "-", 3000))
        f["Started"].setText(_when(row.start))
        f["Ended"].setText(
            _when(row.end) if row.end else ("still running" if row.status == "running" else "never (abandoned)")
        )
        f["Duration"].setText(format_duration(row.duration()))
        f["Totals"].setText(
            " · ".join(
                (
                    format_count(row.event_count, "span or event", "spans and events"),
                    format_count(row.llm_calls, "LLM call", "LLM calls"),
                    format_count(row.tool_calls, "tool call", "tool calls"),
                    format_count(row.error_count, "error", "errors"),
                )
            )
        )
        f["Review"].setText(
            "\n".join(
                f"{name}: {value}"
                + (f" — {elide(note, 500)}" if note else "")
                + f"   ({author or 'someone'}, {_when(at)})"
                for name, value, author, note, at in row.annotations
            )
            or "not reviewed yet · on the list: 1 good, 2 bad, 3 unsure, n note"
        )
        f["Tokens"].setText(f"{row.tokens:,} ({row.prompt_tokens:,} prompt + {row.completion_tokens:,} completion)")
        f["Cost"].setText(format_cost(row.cost) if row.cost is not None else "unknown")
        if not row.counted:
            for name in ("Totals", "Tokens", "Cost"):
                f[name].setText("counting… (shown once every file of the folder is read)")
        f["Host"].setText(f"{row.hostname or '-'} · pid {row.pid or '-'}")
        f["Dropped"].setText(f"{row.dropped:,} records dropped by the recorder" if row.dropped else "none")
        self.files_model.setStringList([str(p) for p in row.files])

    def show_host(self, info: dict[str, Any] | None) -> None:
        if info is None:
            self.host_model.clear()
            self.host_model.setHorizontalHeaderLabels(["Key", "Value"])
            return
        json_model(info, self.host_model)

    def copy_id(self) -> None:
        if self.row is not None:
            QGuiApplication.clipboard().setText(self.row.id)
