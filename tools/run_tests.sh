#!/usr/bin/env bash
# Runs the test suite (CPU, tiny models, no downloads). Sets up .venv first if needed.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
python -m pytest tests projects -q "$@"
