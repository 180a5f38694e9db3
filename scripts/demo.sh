#!/usr/bin/env bash
# Install sessiontrail into .venv, record a demo folder and open the viewer on it.
# Usage: bash scripts/demo.sh [FOLDER]   (default: ./demo-sessions)
set -euo pipefail
cd "$(dirname "$0")/.."
folder="${1:-demo-sessions}"

. scripts/venv.sh
.venv/bin/python -m pip install --quiet -e .

# Qt's xcb platform needs these X libraries for a real window; minimal Debian/Ubuntu lacks some.
qt_libs="libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-render-util0 libxcb-image0"
if [ -n "${DISPLAY:-}" ] && command -v apt-get >/dev/null && command -v dpkg >/dev/null; then
    missing=$(for p in $qt_libs; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
    if [ -n "$missing" ]; then
        sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
        echo "Installing the X libraries Qt needs: $missing"
        $sudo apt-get update -qq && $sudo apt-get install -y -qq $missing
    fi
fi

.venv/bin/sessiontrail demo "$folder"
.venv/bin/sessiontrail ls "$folder"

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
    exec .venv/bin/sessiontrail view "$folder"
fi
# No screen: render the views to pictures instead, and say how to get a window.
for view in details timeline analytics; do
    .venv/bin/sessiontrail view "$folder" --view "$view" --screenshot "$folder/screenshots/$view.png"
done
echo "No display found: the viewer's views were rendered to $folder/screenshots/."
echo "On a desktop, run: .venv/bin/sessiontrail view $folder"
