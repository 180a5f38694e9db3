#!/usr/bin/env bash
# Install sessiontrail with its test tools into .venv, then run every test (headless).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh
.venv/bin/python -m pip install --quiet -e '.[test]'
.venv/bin/python -m ruff check recorder viewer tests bench conformance
.venv/bin/python -m ruff format --check --quiet recorder viewer tests bench conformance
.venv/bin/python -m mypy  # strict, on recorder and viewer/core (pyproject.toml)
.venv/bin/python -m pytest -q "$@"
# CrewAI cannot share the environment above (it pins openai 2.x): its own, its own run.
bash scripts/test-crewai.sh
