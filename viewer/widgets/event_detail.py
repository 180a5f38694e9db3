"""The selected span or event: attributes as a collapsible JSON tree, an LLM call as a
conversation, an error with its traceback. Everything from files is shown as plain text."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QTabWidget, QTreeView, QVBoxLayout, QWidget

from recorder.rules import as_int, as_number

from ..core.trace import Trace, TraceNode
from ..style import elide, format_cost, format_duration, format_tokens

MAX_CHILDREN = 500  # items shown per list/map level of the JSON tree


def json_model(value: Any, model: QStandardItemModel) -> None:
    """Fill model with value as a two-column (key, value) tree."""
    model.clear()
    model.setHorizontalHeaderLabels(["Key", "Value"])
    _add(model.invisibleRootItem(), value, depth=0)


def _item(text: str) -> QStandardItem:
    item = QStandardItem(text)
    item.setEditable(False)
    return item


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return f"<{len(value):,} bytes> " + value[:64].hex(" ")
    return elide(str(value), 1000) if not isinstance(value, str) else elide(value, 1000)


def _add(parent: QStandardItem, value: Any, depth: int) -> None:
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    else:
        parent.appendRow([_item(""), _item(_scalar(value))])
        return
    for i, (key, child) in enumerate(items):
        if i >= MAX_CHILDREN:
            parent.appendRow([_item("…"), _item(f"{len(items) - MAX_CHILDREN:,} more")])
            break
        key_item = _item(str(key) if not isinstance(key, int) else f"[{key}]")
        if isinstance(child, (dict, list)) and child and depth < 40:
            summary = f"{{{len(child)} keys}}" if isinstance(child, dict) else f"[{len(child)} items]"
            parent.appendRow([key_item, _item(summary)])
            _add(key_item, child, depth + 1)
        else:
            parent.appendRow(
                [
                    key_item,
                    _item(
                        _scalar(child)
                        if not isinstance(child, (dict, list))
                        else ("{}" if isinstance(child, dict) else "[]")
                    ),
                ]
            )


def _ago(ns: int | None) -> str:
    """When an annotation was made, in local time."""
    if ns is None:
        return "time unknown"
    return datetime.fromtimestamp(ns / 1e9).strftime("%Y-%m-%d %H:%M")


def conversation_text(node: TraceNode) -> str:
    """An LLM call as plain text: each message with its role and the tool calls it asked
    for, then the completion (or what went wrong)."""
    a = node.attrs
    parts = []
    prompt = a.get("prompt")
    if isinstance(prompt, list):
        parts += [_message_text(message) for message in prompt]
    elif prompt is not None:
        parts.append(f"PROMPT:\n{_content(prompt)}")
    tokens = format_tokens(as_int(a.get("prompt_tokens")), as_int(a.get("completion_tokens")))
    cost = as_number(a.get("cost"))
    cost_text = format_cost(cost) if cost is not None else "cost unknown"
    header = f"{a.get('model') or 'unknown model'}, {tokens}, {cost_text}, {format_duration(node.duration)}"
    error = a.get("error")
    if node.failed or isinstance(error, dict):
        message = error.get("message") if isinstance(error, dict) else None
        parts.append(f"FAILED ({header}):\n{message or 'the call failed'}")
    completion = a.get("completion")
    runs = node.trace.tool_runs()
    if isinstance(completion, dict):
        parts.append(_message_text(completion, f"ASSISTANT ({header})", runs, node.trace))
    elif isinstance(completion, list):
        parts += [_message_text(m, f"ASSISTANT ({header})", runs, node.trace) for m in completion]
    elif completion is not None:
        parts.append(f"ASSISTANT ({header}):\n{_content(completion)}")
    elif not node.failed:
        parts.append(f"ASSISTANT ({header}):\n(no completion recorded)")
    return elide("\n\n".join(parts), 200_000)


def _message_text(
    message: Any, heading: str | None = None, runs: dict[str, int] | None = None, trace: Trace | None = None
) -> str:
    """A message with its role, its text and the tool calls it asks for (handoffs by name),
    each with the span that ran it when the trace knows it (``runs``: call id -> row)."""
    if not isinstance(message, dict):
        return _content(message)
    lines = [f"{heading or str(message.get('role', 'message')).upper()}:"]
    content = message.get("content")
    if content not in (None, ""):
        lines.append(_content(content))
    calls = message.get("tool_calls")
    for call in calls if isinstance(calls, list) else []:
        if not isinstance(call, dict):
            continue
        name = str(call.get("name") or call.get("function", {}).get("name") or "?")
        arguments = call.get("arguments")
        shown = json.dumps(arguments, ensure_ascii=False) if arguments not in (None, "") else ""
        verb = "→ hands off:" if name.startswith("transfer_to_") else "→ calls tool"
        lines.append(f"{verb} {name}({shown})" + (f"  [{call['id']}]" if call.get("id") else ""))
        ran = runs.get(str(call.get("id"))) if runs else None
        if ran is not None and trace is not None:
            tool = trace.nodes[ran]
            lines.append(f"   ran as {tool.kind} {tool.name}: {tool.status}, {format_duration(tool.duration)}")
    return "\n".join(lines)


def _content(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # content parts: [{"type": "text", "text": ...}, ...]
        return "\n".join(str(p.get("text", p)) if isinstance(p, dict) else str(p) for p in value)
    return str(value)


class EventDetailWidget(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("eventDetail")
        self.title = QLabel("Select a span or event.")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.summary = QLabel()
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.tabs = QTabWidget()
        self.text = QPlainTextEdit()
        self.text.setObjectName("eventText")
        self.text.setReadOnly(True)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.text.setFont(mono)
        self.attrs_model = QStandardItemModel(self)
        self.attrs = QTreeView()
        self.attrs.setObjectName("eventAttributes")
        self.attrs.setModel(self.attrs_model)
        self.attrs.setUniformRowHeights(True)
        self.attrs.setAlternatingRowColors(True)
        self.attrs.header().resizeSection(0, 180)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addWidget(self.summary)
        layout.addWidget(self.tabs, 1)
        self.node: TraceNode | None = None
        self.show_node(None)

    def show_node(self, node: TraceNode | None) -> None:
        self.node = node
        self.tabs.clear()
        if node is None:
            self.title.setText("Select a span or event.")
            self.summary.setText("")
            self.attrs_model.clear()
            return
        self.title.setText(f"{node.kind}: {elide(node.name, 300)}")
        duration = format_duration(node.duration) + (" so far (unfinished)" if node.open else "")
        error = node.attrs.get("error")
        reason = f"\n{elide(str(error.get('message')), 2000)}" if node.failed and isinstance(error, dict) else ""
        judged = "".join(
            f"\n{name}: {value}" + (f" — {elide(note, 300)}" if note else "") + f"  ({author or 'someone'}, {_ago(at)})"
            for name, value, author, note, at in node.trace.annotations.get(node.id, [])
        )
        hint = "" if judged else "\nnot reviewed · on the tree: 1 good, 2 bad, 3 unsure, n note"
        self.summary.setText(f"status {node.status} · duration {duration} · id {node.id:016x}{reason}{judged}{hint}")
        json_model(node.attrs, self.attrs_model)
        self.attrs.expandToDepth(1)
        if node.kind == "llm":
            self.text.setPlainText(conversation_text(node))
            self.tabs.addTab(self.text, "Conversation")
        elif node.kind == "error":
            a = node.attrs
            body = f"{a.get('exception_type') or a.get('error_type') or 'Error'}: {a.get('message') or a.get('details') or ''}"
            if a.get("traceback"):
                body += "\n\n" + str(a["traceback"])
            self.text.setPlainText(elide(body, 200_000))
            self.tabs.addTab(self.text, "Traceback")
        self.tabs.addTab(self.attrs, "Attributes")
        self.tabs.setCurrentIndex(0)
