"""After ``import recorder.compat.agentops``, ``import agentops`` anywhere in the program (and
``from agentops.sdk.decorators import agent``, ``from agentops import ActionEvent``...) gives
sessiontrail. One line at the top of the entry point switches a codebase that imports
agentops in many files.

It replaces the real ``agentops`` package for this process if both are installed.
"""

from __future__ import annotations

import sys

import recorder
import recorder.decorators
import recorder.sdk
import recorder.sdk.decorators

ALIASES = {
    "agentops": recorder,
    "agentops.sdk": recorder.sdk,
    "agentops.sdk.decorators": recorder.sdk.decorators,
    "agentops.decorators": recorder.decorators,
}

for _name, _module in ALIASES.items():
    sys.modules[_name] = _module
