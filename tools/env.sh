# Sourced by the quickstart and test scripts: the project venv and offline NLTK data.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "${VIRTUAL_ENV:-}" ]; then
    if [ ! -x "$ROOT/.venv/bin/python" ]; then
        "${PYTHON:-python3}" -m venv "$ROOT/.venv"
        "$ROOT/.venv/bin/python" -m pip install -q --upgrade pip
        PYTHON="$ROOT/.venv/bin/python" bash "$ROOT/tools/install.sh"
    fi
    # shellcheck disable=SC1091
    source "$ROOT/.venv/bin/activate"
fi
if [ -z "${NLTK_DATA:-}" ] && [ -d "$ROOT/../shared/nltk_data" ]; then
    export NLTK_DATA="$(cd "$ROOT/../shared/nltk_data" && pwd)"
fi
