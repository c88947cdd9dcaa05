#!/usr/bin/env bash
# bench/bench_core.sh - PhaseTower one-pass training vs. the MLP baseline.
#
# Runs, in one invocation and in this order:
#   (a) PhaseTower: `phasetower train --epochs 1 --json` (one pass, no backprop),
#   (b) the baseline a user would pick instead: a 784-512-512-10 ReLU MLP
#       trained with Adam (bench/mlp_baseline.py, Debian's /usr/bin/python3
#       with torch, 1 thread), evaluated after 1 and 20 epochs of one run,
#   (c) PhaseTower ablations, one pass each (skipped with --quick): the paper's
#       hard top-s, learning switched off (imprint + readout only), the fixed
#       class-code readout with and without learning, and the paper's
#       pixel-space tower (2048:0.015625 --subspace 0), and the paper's
#       reference tower 512:0.08,256:0.05,128:0.03 on pixels with our defaults
#       and with the paper's whole recipe (its rule, hard top-s, fixed codebook),
# then prints a markdown report (machine, date, commit, exact commands, a
# comparison table, ratios and PASS/FAIL target checks) that can be pasted
# into BENCHMARKS.md, and saves it with the raw JSON of every run as
# bench/results/<timestamp>.md and .json.
#
# Usage:
#   bench/bench_core.sh [--data DIR] [--layers SPEC] [--quick]
#
#   --data DIR     MNIST-format IDX .gz files (default /usr/share/datasets/fashion-mnist)
#   --layers SPEC  passed to `phasetower train --layers SPEC`
#   --quick        smoke run: --train-limit 10000 for both, MLP at 1 epoch only
#
# Environment:
#   PT_BIN   PhaseTower CLI (default build/phasetower; if that default is
#            missing, `make build` is run from the repo root first)
#   PYTHON   interpreter with torch + numpy (default /usr/bin/python3)
#
# Exit status: 0 when all runs completed, even if a target FAILs (this is a
# report); non-zero only if a run itself failed. Not part of ctest.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

DATA=/usr/share/datasets/fashion-mnist
LAYERS=
QUICK=0
PYTHON=${PYTHON:-/usr/bin/python3}
PT_BIN=${PT_BIN:-build/phasetower}
SEED=1

usage() { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; }

while [ $# -gt 0 ]; do
    case "$1" in
        --data)   DATA=${2:?--data needs a directory}; shift 2 ;;
        --layers) LAYERS=${2:?--layers needs a spec}; shift 2 ;;
        --quick)  QUICK=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "bench_core.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done

for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz \
         t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
    [ -f "$DATA/$f" ] || { echo "bench_core.sh: missing $DATA/$f" >&2; exit 2; }
done
[ -x "$PYTHON" ] || { echo "bench_core.sh: $PYTHON not found (needs torch + numpy)" >&2; exit 2; }

if [ ! -x "$PT_BIN" ]; then
    if [ "$PT_BIN" = build/phasetower ]; then
        echo "bench_core.sh: $PT_BIN missing, running 'make build'" >&2
        make build >&2
    fi
    [ -x "$PT_BIN" ] || { echo "bench_core.sh: $PT_BIN not found or not executable" >&2; exit 2; }
fi

if [ "$QUICK" = 1 ]; then
    EPOCHS_LIST=1
    LIMIT_ARGS=(--train-limit 10000)
else
    EPOCHS_LIST=1,20
    LIMIT_ARGS=()
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/phasetower-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

PT_CMD=("$PT_BIN" train --data "$DATA" --epochs 1 --seed "$SEED" --json
        --out "$TMP/model.safetensors")
[ -n "$LAYERS" ] && PT_CMD+=(--layers "$LAYERS")
PT_CMD+=(${LIMIT_ARGS[@]+"${LIMIT_ARGS[@]}"})
MLP_CMD=("$PYTHON" bench/mlp_baseline.py --data "$DATA" --epochs-list "$EPOCHS_LIST"
         --seed "$SEED" ${LIMIT_ARGS[@]+"${LIMIT_ARGS[@]}"})

now() { "$PYTHON" -c 'import time; print(time.time())'; }

# (c) ablations: name|extra train flags (after the shared ones).
ABLATIONS=(
  "hard top-s (paper's selection)|--select hard"
  "phase rule on (step 0.05, the earlier default)|--eta-phase 0.05"
  "no learning: imprint + ridge readout only|--eta 0"
  "fixed class-code readout (paper's), local rules|--readout code"
  "fixed class-code readout, no learning|--readout code --eta 0"
  "pixel-space tower (the default before the subspace)|--layers 2048:0.015625 --subspace 0"
  "paper's tower on pixels, our defaults|--layers 512:0.08,256:0.05,128:0.03 --subspace 0"
  "paper's tower and recipe: pixels, paper rule with phase step 0.05, hard top-s, code readout|--layers 512:0.08,256:0.05,128:0.03 --subspace 0 --rule paper --eta-phase 0.05 --select hard --readout code"
)

# (a) PhaseTower one pass.
echo "[bench] running: ${PT_CMD[*]}" >&2
t0=$(now)
if ! "${PT_CMD[@]}" > "$TMP/pt.json"; then
    echo "bench_core.sh: PhaseTower run failed" >&2; exit 1
fi
t1=$(now)
# Fail fast (before the long MLP run) if the CLI output is not one JSON object.
"$PYTHON" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert isinstance(d, dict)' \
    "$TMP/pt.json" 2>/dev/null || {
    echo "bench_core.sh: PhaseTower did not print one JSON object on stdout:" >&2
    head -c 500 "$TMP/pt.json" >&2; exit 1; }
# (b) MLP baseline.
echo "[bench] running: ${MLP_CMD[*]}" >&2
if ! "${MLP_CMD[@]}" > "$TMP/mlp.jsonl"; then
    echo "bench_core.sh: MLP baseline run failed" >&2; exit 1
fi
t2=$(now)

: > "$TMP/abl.jsonl"
if [ "$QUICK" = 0 ]; then
    for a in "${ABLATIONS[@]}"; do
        name=${a%%|*}
        read -r -a extra <<< "${a#*|}"
        cmd=("$PT_BIN" train --data "$DATA" --epochs 1 --seed "$SEED" --json "${extra[@]}")
        echo "[bench] ablation: ${cmd[*]}" >&2
        out=$("${cmd[@]}") || { echo "bench_core.sh: ablation '$name' failed" >&2; exit 1; }
        NAME=$name CMD="${cmd[*]}" OUT=$out "$PYTHON" -c 'import json,os; d=json.loads(os.environ["OUT"]); d["name"]=os.environ["NAME"]; d["command"]=os.environ["CMD"]; print(json.dumps(d))' >> "$TMP/abl.jsonl"
    done
fi

mkdir -p bench/results
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
export BENCH_RESULTS="bench/results/$STAMP.json"
export BENCH_DATE=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
export BENCH_CPU=$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n1)
export BENCH_NPROC=$(nproc)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo "no-commit")
if [ -n "$(git status --porcelain 2>/dev/null | head -n1)" ]; then commit="$commit (dirty tree)"; fi
export BENCH_COMMIT=$commit
export BENCH_PT_CMD="${PT_CMD[*]}"
export BENCH_MLP_CMD="${MLP_CMD[*]}"
export BENCH_PT_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')
export BENCH_MLP_WALL=$(awk -v a="$t1" -v b="$t2" 'BEGIN{printf "%.3f", b-a}')
export BENCH_QUICK=$QUICK BENCH_DATA=$DATA BENCH_LAYERS=$LAYERS BENCH_EPOCHS_LIST=$EPOCHS_LIST

"$PYTHON" - "$TMP/pt.json" "$TMP/mlp.jsonl" "$TMP/abl.jsonl" <<'EOF' | tee "bench/results/$STAMP.md"
import json, os, sys

env = os.environ
with open(sys.argv[1]) as f:
    text = f.read()
try:
    pt = json.loads(text)
except ValueError as e:
    sys.exit(f"bench_core.sh: PhaseTower did not print one JSON object ({e}):\n{text[:500]}")
need = ["test_accuracy", "train_seconds", "samples", "params", "model_bytes", "infer_us_per_image"]
missing = [k for k in need if k not in pt]
if missing:
    sys.exit(f"bench_core.sh: PhaseTower JSON lacks keys: {', '.join(missing)}")

mlp = {}
with open(sys.argv[2]) as f:
    for line in f:
        if line.strip():
            r = json.loads(line)
            mlp[r["epochs"]] = r
wanted = [int(e) for e in env["BENCH_EPOCHS_LIST"].split(",")]
if any(e not in mlp for e in wanted):
    sys.exit(f"bench_core.sh: MLP baseline did not report epochs {wanted}")
m1 = mlp[1]
mN = mlp.get(20)

def f(v, fmt):
    return "n/a" if v is None else format(v, fmt)

print("## PhaseTower one pass vs. MLP baseline")
print()
print(f"- Date: {env['BENCH_DATE']}")
print(f"- Machine: {env['BENCH_CPU'] or 'unknown CPU'}, nproc {env['BENCH_NPROC']}")
print(f"- Commit: {env['BENCH_COMMIT']}")
print(f"- Data: {env['BENCH_DATA']} (train samples: PhaseTower {pt['samples']}, MLP {m1['samples']})"
      + (" -- QUICK smoke run" if env["BENCH_QUICK"] == "1" else ""))
if pt["samples"] != m1["samples"]:
    print(f"- WARNING: training set sizes differ (PhaseTower {pt['samples']}, MLP {m1['samples']}); "
          "the comparison is not like for like")
print("- Commands:")
print("  ```")
print(f"  {env['BENCH_PT_CMD']}")
print(f"  {env['BENCH_MLP_CMD']}")
print("  ```")
print()
print("| Model | Accuracy % | Train s | Inference µs/image (batched) | Inference µs/image (single) | Params | Model bytes |")
print("|---|---:|---:|---:|---:|---:|---:|")
def row(name, r):
    print(f"| {name} | {100*r['test_accuracy']:.2f} | {r['train_seconds']:.2f} | "
          f"{f(r.get('infer_us_per_image'), '.2f')} | {f(r.get('infer_us_single'), '.2f')} | "
          f"{r['params']:,} | {r['model_bytes']:,} |")
row("PhaseTower one pass", pt)
row("MLP 784-512-512-10, 1 epoch", m1)
if mN:
    row("MLP 784-512-512-10, 20 epochs", mN)
print()
print("Inference µs/image (batched): PhaseTower as reported by the CLI; MLP = test set in batches of 1000 / 10000.")
print("MLP: Adam lr 1e-3, batch 128, 1 thread (torch.set_num_threads(1)); train s excludes evaluation.")
print()

ratio = pt["train_seconds"] / m1["train_seconds"] if m1["train_seconds"] > 0 else float("inf")
d1 = 100 * (pt["test_accuracy"] - m1["test_accuracy"])
print("### Ratios")
print()
print(f"- Train time, PhaseTower / MLP 1 epoch: {ratio:.2f}x")
if mN:
    print(f"- Train time, PhaseTower / MLP 20 epochs: {pt['train_seconds'] / mN['train_seconds']:.3f}x")
print(f"- Accuracy, PhaseTower - MLP 1 epoch: {d1:+.2f} points")
if mN:
    print(f"- Accuracy, PhaseTower - MLP 20 epochs: {100 * (pt['test_accuracy'] - mN['test_accuracy']):+.2f} points")
print()

checks = [
    ("accuracy >= MLP 1-epoch accuracy", pt["test_accuracy"] >= m1["test_accuracy"]),
    ("train time <= 3x MLP 1-epoch train time", pt["train_seconds"] <= 3 * m1["train_seconds"]),
]
if mN:
    checks.append(("stretch: accuracy >= MLP 20-epoch accuracy", pt["test_accuracy"] >= mN["test_accuracy"]))
else:
    checks.append(("stretch: accuracy >= MLP 20-epoch accuracy", None))
abl = [json.loads(l) for l in open(sys.argv[3]) if l.strip()]
if abl:
    print("### Ablations (PhaseTower, one pass, same data and seed)")
    print()
    print(f"| Variant | Accuracy % | Train s | Params |")
    print("|---|---:|---:|---:|")
    print(f"| default ({pt.get('layers', '')} on {pt.get('subspace', 0)} principal components, {pt.get('select', '')} top-s, {pt.get('rule', '')} rule, "
          f"{pt.get('readout', '')} readout) | {100*pt['test_accuracy']:.2f} | {pt['train_seconds']:.2f} | {pt['params']:,} |")
    for r in abl:
        print(f"| {r['name']} | {100*r['test_accuracy']:.2f} | {r['train_seconds']:.2f} | {r['params']:,} |")
    print()
    print("Ablation commands:")
    print("```")
    for r in abl:
        print(r["command"])
    print("```")
    print()

print("### Targets")
print()
for name, ok in checks:
    print(f"- {'SKIP (quick run, no 20-epoch MLP)' if ok is None else 'PASS' if ok else 'FAIL'}: {name}")

result = {
    "date": env["BENCH_DATE"], "cpu": env["BENCH_CPU"], "nproc": int(env["BENCH_NPROC"]),
    "commit": env["BENCH_COMMIT"], "data": env["BENCH_DATA"], "layers": env["BENCH_LAYERS"] or None,
    "quick": env["BENCH_QUICK"] == "1",
    "commands": {"phasetower": env["BENCH_PT_CMD"], "mlp": env["BENCH_MLP_CMD"]},
    "wall_seconds": {"phasetower": float(env["BENCH_PT_WALL"]), "mlp": float(env["BENCH_MLP_WALL"])},
    "phasetower": pt, "mlp": [mlp[k] for k in sorted(mlp)], "ablations": abl,
    "targets": {name: ok for name, ok in checks},
}
with open(env["BENCH_RESULTS"], "w") as f:
    json.dump(result, f, indent=2)
    f.write("\n")
print()
print(f"Raw results: {env['BENCH_RESULTS']}")
EOF
