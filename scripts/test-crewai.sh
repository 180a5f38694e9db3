#!/usr/bin/env bash
# CrewAI in an environment of its own (.venv-crewai): crewai 1.15 pins openai 2.x and mcp 1.30,
# which break openai-agents in the main one. Installs it and runs tests/crewai.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv-crewai
.venv-crewai/bin/python -m pip install --quiet --upgrade pip
# The recorder without the viewer's Qt packages: what a CrewAI program needs of it.
.venv-crewai/bin/python -m pip install --quiet "crewai>=1.0" "openinference-instrumentation-crewai>=1.0" \
    "openinference-instrumentation-openai>=0.1.30" "opentelemetry-sdk>=1.20" "msgpack>=1.0.5" "numpy>=1.24" \
    "pytest>=8" "pytest-timeout>=2.2"
.venv-crewai/bin/python -m pip install --quiet --no-deps -e .
exec .venv-crewai/bin/python -m pytest -q -c tests/crewai/pytest.ini --rootdir tests/crewai --confcutdir tests/crewai tests/crewai "$@"
