#!/usr/bin/env bash
# Installs mmrrsis and its tested dependencies into the active Python environment.
#   torch: kept when already installed (bring your own CUDA build); otherwise torch==2.13.0.
#   mmcv:  kept when already installed (a full mmcv 2.0-2.1 with compiled ops);
#          otherwise the pure-Python mmcv-lite==2.1.0 is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}

if ! $PY -c "import torch" 2>/dev/null; then
    echo "[install] no torch found: installing torch==2.13.0"
    $PY -m pip install torch==2.13.0
else
    echo "[install] keeping torch $($PY -c 'import torch; print(torch.__version__)')"
fi
if ! $PY -c "import mmcv" 2>/dev/null; then
    echo "[install] no mmcv found: installing mmcv-lite (pure Python; compiled ops stubbed)"
    $PY -m pip install -r requirements/mmcv.txt -c requirements/constraints.txt
else
    echo "[install] keeping mmcv $($PY -c 'import mmcv; print(mmcv.__version__)')"
fi
$PY -m pip install -e ".[tests,geo,demo]" -c requirements/constraints.txt
$PY -c "import mmrrsis, mmseg; print('[install] mmrrsis', mmrrsis.__version__, 'with mmseg', mmseg.__version__)"
