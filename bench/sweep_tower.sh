#!/usr/bin/env bash
# bench/sweep_tower.sh - one-pass PhaseTower variants on one data set, one at a
# time (so the train seconds are comparable), as a markdown table with the exact
# flags of each row. docs/design-notes.md quotes its output.
#
# Usage: bench/sweep_tower.sh [--data DIR] [--train-limit N] [--val N]
#   --val N  hold out the last N training images and add a validation column
#            (choose settings on it, not on the test column)
#   PT_BIN   PhaseTower CLI (default build/phasetower)
# Every row is `phasetower train --data DIR --seed 1 --json` plus the flags shown.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
DATA=/usr/share/datasets/fashion-mnist
EXTRA=()
VAL=0
while [ $# -gt 0 ]; do
    case "$1" in
        --data) DATA=${2:?--data needs a directory}; shift 2 ;;
        --train-limit) EXTRA+=(--train-limit "${2:?--train-limit needs N}"); shift 2 ;;
        --val) EXTRA+=(--val "${2:?--val needs N}"); VAL=1; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
        *) echo "sweep_tower.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
done
PT_BIN=${PT_BIN:-build/phasetower}
[ -x "$PT_BIN" ] || { echo "sweep_tower.sh: $PT_BIN not found (run make build)" >&2; exit 2; }

VARIANTS=(
  ""
  "--select hard"
  "--layers 2048:0.0078125" "--layers 2048:0.03125" "--layers 2048:0.0625"
  "--layers 1024:0.03125" "--layers 4096:0.0078125"
  "--eta 0" "--eta 0.002" "--eta 0.01" "--eta 0.02"
  "--eta-phase 0.01" "--eta-phase 0.05" "--eta-phase 0.2"
  "--target-mag 0.15" "--target-mag 0.5" "--target-mag 1"
  "--ridge 1e-4" "--ridge 1e-2"
  "--rule paper" "--rule paper --eta-phase 0.05" "--init random" "--readout delta" "--readout code" "--readout code --eta-phase 0.05" "--readout code --eta 0" "--batch 32"
  "--layers 2048:0.015625,1024:0.03125"
  "--layers 512:0.08,256:0.05,128:0.03"
)
echo "Data: $DATA ${EXTRA[*]}; commit $(git rev-parse --short HEAD 2>/dev/null || echo none); $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
if [ "$VAL" = 1 ]; then
    echo "| flags (added to the defaults) | validation accuracy % | test accuracy % | train s |"
    echo "|---|---:|---:|---:|"
else
    echo "| flags (added to the defaults) | test accuracy % | train s |"
    echo "|---|---:|---:|"
fi
for v in "${VARIANTS[@]}"; do
    read -r -a flags <<< "$v"
    out=$("$PT_BIN" train --data "$DATA" --seed 1 --json ${EXTRA[@]+"${EXTRA[@]}"} ${flags[@]+"${flags[@]}"} 2>&1) || {
        echo "| \`${v:-(defaults)}\` | failed: $out | |"; continue; }
    acc=$(sed -n 's/.*"test_accuracy": \([0-9.]*\).*/\1/p' <<< "$out")
    sec=$(sed -n 's/.*"train_seconds": \([0-9.]*\).*/\1/p' <<< "$out")
    val=$(sed -n 's/.*"val_accuracy": \([0-9.]*\).*/\1/p' <<< "$out")
    awk -v f="${v:-(defaults)}" -v a="$acc" -v s="$sec" -v va="$val" 'BEGIN {
        if (va != "") printf "| `%s` | %.2f | %.2f | %.2f |\n", f, 100 * va, 100 * a, s
        else printf "| `%s` | %.2f | %.2f |\n", f, 100 * a, s }'
done
