#!/usr/bin/env bash
# bench/sweep_sparse.sh - truly sparse inference: accuracy against the fraction
# of the dense multiply-adds, for several groupings, on one trained model.
#
# Usage: bench/sweep_sparse.sh [--data DIR]
# Trains the pixel-space tower once (phasetower train --seed 1 --layers
# 2048:0.015625 --subspace 0, the default before issue 4 moved it to 56
# principal components), then runs
# 'phasetower eval --sparse G:P --json' for each G:P below; prints a markdown
# table. Inference time is one image at a time for both paths.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
. bench/lib.sh
bench_args sweep_sparse.sh "$@"
bench_setup sweep_sparse.sh --no-torch
"$PT" train --data "$DATA" --seed 1 --layers 2048:0.015625 --subspace 0 --quiet --out "$TMP/m.safetensors" > /dev/null
echo "Data: $DATA; commit $(git rev-parse --short HEAD 2>/dev/null || echo none); $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "| G:P (groups:probed) | accuracy % | dense accuracy % | multiply-adds / image | % of dense | us/image (sparse, one at a time) | us/image (dense, one at a time) |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for gp in 32:2 32:4 64:4 64:8 128:8 128:16 128:32 256:32; do
    "$PT" eval --model "$TMP/m.safetensors" --data "$DATA" --sparse "$gp" --json |
        sed -n 's/.*"accuracy": \([0-9.]*\).*"infer_us_single": \([0-9.]*\).*"accuracy_sparse": \([0-9.]*\).*"madds_per_image_sparse": \([0-9.]*\), "sparse_fraction": \([0-9.]*\), "sparse_us_per_image": \([0-9.]*\).*/\1 \2 \3 \4 \5 \6/p' |
        awk -v gp="$gp" '{ printf "| %s | %.2f | %.2f | %.0f | %.2f | %.1f | %.1f |\n", gp, 100*$3, 100*$1, $4, 100*$5, $6, $2 }'
done
