#!/usr/bin/env bash
# bench/sweep_subspace.sh - how the default tower was chosen (issue 4): towers
# whose block 0 reads the first R principal components (train --subspace R),
# K neurons with s active, over seeds 1-3, with the bytes of their int8 export
# (phasetower info: export_bytes_int8), against the pixel-space tower.
#
# Usage: bench/sweep_subspace.sh [--data DIR]
# Prints a markdown table: mean test accuracy over the seeds, each seed, the
# int8 export bytes and the multiply-adds per image.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
. bench/lib.sh
bench_args sweep_subspace.sh "$@"
bench_setup sweep_subspace.sh --no-torch
echo "Data: $DATA; commit $(git rev-parse --short HEAD 2>/dev/null || echo none); $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "| --subspace R | --layers K:fraction (s) | mean test acc % (seeds 1-3) | seed 1 | seed 2 | seed 3 | int8 export bytes | multiply-adds/image |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|"
# R K s
for cfg in "0 2048 32" "64 2048 32" "64 2048 40" "56 2304 32" "56 2304 36" "56 2560 32" "48 2560 48" "48 2816 40" "40 3072 32" "80 1536 32" "96 1280 32"; do
    set -- $cfg
    R=$1 K=$2 S=$3
    frac=$("$PY" -c "print(repr($S / $K))")
    for seed in 1 2 3; do
        "$PT" train --data "$DATA" --seed $seed --layers "$K:$frac" --subspace $R --quiet --json \
            --out "$TMP/m$seed.safetensors" > "$TMP/t$seed.json"
    done
    "$PT" info --json "$TMP/m1.safetensors" > "$TMP/info.json"
    "$PY" - "$TMP" "$R" "$K" "$S" "$frac" <<'PYEOF'
import json, os, sys
T, R, K, S, frac = sys.argv[1:]
a = [json.load(open(os.path.join(T, f"t{i}.json")))["test_accuracy"] for i in (1, 2, 3)]
info = json.load(open(os.path.join(T, "info.json")))
print(f"| {R} | {K}:{frac} ({S}) | {100*sum(a)/3:.2f} | " + " | ".join(f"{100*v:.2f}" for v in a) +
      f" | {info['export_bytes_int8']:,} | {info['madds_per_image']:,} |")
PYEOF
done
