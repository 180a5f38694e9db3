# Sourced by demo.sh and test.sh: create ./.venv with an up-to-date pip.
# Stock Debian/Ubuntu Pythons lack ensurepip until python3-venv is installed; add it then.
if ! python3 -c "import ensurepip, venv" >/dev/null 2>&1; then
    if command -v apt-get >/dev/null; then
        sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
        echo "Installing python3-venv (needed to create .venv)"
        $sudo apt-get update -qq && $sudo apt-get install -y -qq python3-venv
    else
        echo "python3 cannot create virtual environments here (no ensurepip); install your distribution's venv package" >&2
        exit 1
    fi
fi
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
