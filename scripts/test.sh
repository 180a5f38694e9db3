#!/usr/bin/env bash
# Install sessiontrail with its test tools into .venv, then run every test (headless).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'
.venv/bin/python -m ruff check recorder viewer tests bench
exec .venv/bin/python -m pytest -q "$@"
