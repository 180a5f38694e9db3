#!/usr/bin/env bash
# Install sessiontrail into .venv, record a demo folder and open the viewer on it.
# Usage: bash scripts/demo.sh [FOLDER]   (default: ./demo-sessions)
set -euo pipefail
cd "$(dirname "$0")/.."
folder="${1:-demo-sessions}"
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .
.venv/bin/sessiontrail demo "$folder"
.venv/bin/sessiontrail ls "$folder"
