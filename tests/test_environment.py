"""Guards on the environment: the Qt pin, and the Qt-free parts staying Qt-free."""

from __future__ import annotations

from conftest import run_script


def test_pyside6_survives_20k_qt_calls():
    # PySide6-Essentials 6.12.0 on Python 3.11 aborts with "Fatal Python error: none_dealloc"
    # after ~20k calls like these; pyproject.toml pins a working range. A child process,
    # because the failure is an abort, not an exception.
    proc = run_script(
        """
        import os
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        from PySide6.QtGui import QGuiApplication, QImage, QPainter
        app = QGuiApplication([])
        image = QImage(200, 200, QImage.Format.Format_ARGB32)
        painter = QPainter(image)
        for i in range(20_000):
            painter.drawRect(i % 190, i % 190, 5, 5)
        painter.end()
        print("survived")
        """,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0 and "survived" in proc.stdout, proc.stderr[-2000:]


def test_recorder_and_reader_import_and_run_without_qt(tmp_path):
    run_script(
        f"""
        import sys
        for name in ("PySide6", "pyqtgraph", "shiboken6"):
            sys.modules[name] = None   # any import of Qt now fails
        import recorder, recorder.reader, recorder.catalog, recorder.cli
        from recorder.decorators import session
        recorder.init(directory={str(tmp_path)!r}, auto_start_session=False)
        session(lambda: None)()
        recorder.flush()
        catalog, batch = recorder.catalog.load({str(tmp_path)!r})
        assert len(catalog.sessions) == 1, catalog.sessions
        assert not any(m.startswith(("PySide6", "pyqtgraph")) and sys.modules[m] is not None for m in sys.modules)
        """
    )
