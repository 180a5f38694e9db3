"""sessiontrail's desktop viewer (PySide6 + pyqtgraph). ``MainWindow(folder)`` embeds it."""

from __future__ import annotations

from typing import TYPE_CHECKING

__all__ = ["MainWindow"]

if TYPE_CHECKING:
    from .main_window import MainWindow


def __getattr__(name: str):
    # Lazy, so that `import viewer.core` never imports Qt.
    if name == "MainWindow":
        from .main_window import MainWindow

        return MainWindow
    raise AttributeError(name)
