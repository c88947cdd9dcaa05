#!/usr/bin/env bash
# The field model against its independent PyTorch implementation
# (bench/field_torch.py): a model trained here is read by the PyTorch side,
# which must find the same kernel norm on the torus (exact, both sides) and,
# after 200 naive steps, the same predictions on the test images. Skipped
# (77) where python3 lacks torch or numpy (they come with make bench-deps).
set -uo pipefail
bin=$1
root=$(cd "$(dirname "$0")/.." && pwd)
py=${PYTHON:-/usr/bin/python3}
"$py" -c 'import torch, numpy' 2>/dev/null || { echo "skip: $py has no torch/numpy (make bench-deps)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/idx_gen.sh"
mkset "$tmp/d" 64 20
fail=0
"$bin" train --model field --data "$tmp/d" --channels 4 --pool 2 --epochs 1 --seed 3 \
    --quiet --out "$tmp/m.safetensors" > /dev/null || { echo "FAIL: train"; exit 1; }
norm=$("$bin" info --json "$tmp/m.safetensors" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["kernel_norm"])')
acc=$("$bin" eval --model "$tmp/m.safetensors" --data "$tmp/d" --solver naive --fixed-steps --max-iter 200 --json |
      "$py" -c 'import json,sys; print(json.load(sys.stdin)["accuracy"])')
out=$("$py" "$root/bench/field_torch.py" --check "$tmp/m.safetensors" --data "$tmp/d" --check-n 20 2>/dev/null | tail -1)
"$py" - "$norm" "$acc" "$out" "$tmp/d" <<'PYEOF' || fail=1
import gzip, json, sys
norm, acc, out = float(sys.argv[1]), float(sys.argv[2]), json.loads(sys.argv[3])
labels = gzip.open(sys.argv[4] + "/t10k-labels-idx1-ubyte.gz").read()[8:]
pred = [max(range(len(l)), key=l.__getitem__) for l in out["logits"]]
tacc = sum(p == y for p, y in zip(pred, labels)) / len(pred)
ok = abs(out["sigma"] - norm) <= 1e-5 * norm and abs(tacc - acc) < 1e-9 and out["evaluations"] == 200
print(f"{'ok' if ok else 'FAIL'}: kernel norm {norm:.6f} here, {out['sigma']:.6f} in PyTorch; accuracy after 200 naive steps {acc:.4f} here, {tacc:.4f} in PyTorch")
sys.exit(0 if ok else 1)
PYEOF
[ $fail -eq 0 ] && echo "field_torch: passed" || { echo "field_torch: FAILED"; exit 1; }
