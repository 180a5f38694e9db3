"""Where recordings go when no folder is given: one answer for the recorder, the command and
the viewer. Imports nothing of the recorder, so the command starts fast."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ENV_DIR = "SESSIONTRAIL_DIR"


def default_directory() -> Path:
    """$SESSIONTRAIL_DIR, else the per-user data folder (the viewer opens the same one)."""
    env = os.environ.get(ENV_DIR)
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "sessiontrail" / "sessions"
