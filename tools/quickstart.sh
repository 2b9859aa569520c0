#!/usr/bin/env bash
# One command for a fresh machine: set up .venv, make synthetic RefSegRS-format data,
# train a tiny referring model on the CPU, evaluate it and draw a few overlay pictures.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
CONFIG=${CONFIG:-configs/btdnet/btdnet_tiny_synthetic.py}
WORK_DIR=${WORK_DIR:-work_dirs/quickstart}
DATA=data/synthetic_refsegrs

SECONDS=0
python tools/dataset_converters/make_synthetic.py refsegrs "$DATA" --num-images 2000 --size 128 --seed 0
python tools/train.py "$CONFIG" --work-dir "$WORK_DIR"
CKPT="$WORK_DIR/$(cat "$WORK_DIR/last_checkpoint" | xargs basename)"
python tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK_DIR" --show-dir overlays \
    --cfg-options test_dataloader.dataset.indices=8 test_evaluator.per_category=False
python tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK_DIR"
echo "[quickstart] done in ${SECONDS}s; overlays in $WORK_DIR/overlays/vis_data/vis_image, checkpoint $CKPT"
