#!/usr/bin/env bash
# bench/bench_field.sh - the fractal neural field against its PyTorch anchor (issue 18).
#
# Runs, in one invocation, on Fashion-MNIST, one thread each:
#   1. faithfulness: the founding document's configuration (16 channels, global
#      average readout, modReLU, gain 1, naive iteration for exactly 30 steps,
#      JFB gradients, Adam 1e-3 on everything, readout included, modReLU's
#      bias free to turn positive as in PyTorch, batch 32, one epoch on the first 10,000
#      training images), ours (train --model field) and the PyTorch model of
#      the same definition (bench/field_torch.py), for each seed of
#      FIELD_SEEDS (default "1"); test accuracy on all 10,000 test images at
#      30 steps, the fraction of them not within 1e-4, and the epoch's time;
#      then both sides again from the same initialised model (ours, written
#      by --epochs 0) in the same order (PyTorch replays our shuffle);
#   2. speed: the ratio of the two epochs' times (same data, same solver);
#   3. solvers: on each side's trained seed-1 model, the work (evaluations of
#      F, fine-grid equivalents for multigrid) to reach 1e-3, 1e-4 and 1e-5 on
#      the first FIELD_SOLVER_IMAGES (default 200) test images: naive,
#      Anderson (m 5, lambda 1e-8, as the anchor) and, ours only, multigrid;
#   4. converged: a configuration with a guaranteed unique fixed point (gain
#      0.9, a 7x7 pooled readout solved by ridge regression, Anderson to 1e-4,
#      implicit gradients, Adam 1e-3), one epoch on the same 10,000 images,
#      scored at its fixed point.
# With --full also:
#   5. accuracy: that configuration for 10 epochs on 55,000 images with 5,000
#      held out for validation (the model of best validation accuracy kept),
#      the test accuracy of every epoch's model, and of the best.
# Prints a markdown report, saved with the raw JSON as bench/results/<stamp>-field.*
#
# Usage: bench/bench_field.sh [--data DIR] [--full]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
. bench/lib.sh
FULL=0
args=()
for a in "$@"; do [ "$a" = --full ] && FULL=1 || args+=("$a"); done
bench_args bench_field.sh "${args[@]+"${args[@]}"}"
bench_setup bench_field.sh
SEEDS=${FIELD_SEEDS:-1}
# smaller runs for a quick check of the script itself (the report says so)
NTRAIN=${FIELD_TRAIN_LIMIT:-10000}
LIMITS=()
[ -n "${FIELD_TEST_LIMIT:-}" ] && LIMITS=(--test-limit "$FIELD_TEST_LIMIT")
export NTRAIN
NSOLV=${FIELD_SOLVER_IMAGES:-200}
TORCH=bench/field_torch.py
export FIELD_FULL=$FULL NSOLV

SEED_ARGS=(--channels 16 --pool 1 --act modrelu --gain 1 --alpha 1 --solver naive --fixed-steps --max-iter 30
           --grad jfb --lr 0.001 --batch 32 --readout adam --train-limit "$NTRAIN")
tag() { "$PY" -c 'import json,sys; r=json.loads(sys.stdin.read().strip().splitlines()[-1]); r["tag"]=sys.argv[1]; print(json.dumps(r))' "$1"; }

: > "$TMP/seed.jsonl"
for s in $SEEDS; do
    run "$PT" train --model field --data "$DATA" "${SEED_ARGS[@]}" --epochs 1 --free-bias --seed "$s" --tol 1e-4 --quiet --json \
        "${LIMITS[@]+"${LIMITS[@]}"}" --out "$TMP/c$s.safetensors" | tag "c" >> "$TMP/seed.jsonl"
    run "$PY" "$TORCH" --data "$DATA" "${SEED_ARGS[@]}" --epochs 1 --seed "$s" --tol 1e-4 \
        "${LIMITS[@]+"${LIMITS[@]}"}" --save "$TMP/t$s.safetensors" |
        tag "torch" >> "$TMP/seed.jsonl"
done

# faithfulness with the draws taken out: both sides from our initialised
# model (--epochs 0), each epoch's shuffle ours (--c-order replays our
# generator from the file's state); ours resumes from the same file
: > "$TMP/same.jsonl"
for s in $SEEDS; do
    run "$PT" train --model field --data "$DATA" "${SEED_ARGS[@]}" --epochs 0 --free-bias --seed "$s" --tol 1e-4 --quiet \
        "${LIMITS[@]+"${LIMITS[@]}"}" --out "$TMP/i$s.safetensors" > /dev/null
    cp "$TMP/i$s.safetensors" "$TMP/ci$s.safetensors"
    run "$PT" train --model field --data "$DATA" "${SEED_ARGS[@]}" --epochs 1 --free-bias --seed "$s" --tol 1e-4 --quiet --json \
        "${LIMITS[@]+"${LIMITS[@]}"}" --out "$TMP/ci$s.safetensors" --resume | tag "c" >> "$TMP/same.jsonl"
    run "$PY" "$TORCH" --data "$DATA" "${SEED_ARGS[@]}" --epochs 1 --seed "$s" --tol 1e-4 "${LIMITS[@]+"${LIMITS[@]}"}" \
        --init "$TMP/i$s.safetensors" --c-order | tag "torch" >> "$TMP/same.jsonl"
done

# solver tables on the seed-1 models, one thread, the same thresholds
run "$PT" eval --model "$TMP/c1.safetensors" --data "$DATA" --test-limit "$NSOLV" --tol 1e-4 --solvers "$NSOLV" \
    --json > "$TMP/solvers_c.json"
run "$PY" "$TORCH" --check "$TMP/t1.safetensors" --data "$DATA" --solver-table --test-limit "$NSOLV" \
    --table-max-iter 2000 --anderson-lambda 1e-8 | tail -1 > "$TMP/solvers_t.json"
# the C solvers on the torch model too (same file format), so that both sides' tables use one model
run "$PT" eval --model "$TMP/t1.safetensors" --data "$DATA" --test-limit "$NSOLV" --tol 1e-4 --solvers "$NSOLV" \
    --json > "$TMP/solvers_ct.json"

CONV_ARGS=(--channels 16 --pool 7 --gain 0.9 --solver anderson --tol 1e-4 --max-iter 100 --grad implicit
           --lr 0.001 --batch 32 --readout ridge)
run "$PT" train --model field --data "$DATA" "${CONV_ARGS[@]}" --epochs 1 --train-limit "$NTRAIN" --seed 1 --quiet \
    "${LIMITS[@]+"${LIMITS[@]}"}" --json > "$TMP/conv.json"

if [ "$FULL" = 1 ]; then
    run "$PT" train --model field --data "$DATA" "${CONV_ARGS[@]}" --epochs 10 --val 5000 --seed 1 --quiet --json \
        --out "$TMP/full.safetensors" --best "$TMP/full_best.safetensors" --keep-epochs > "$TMP/full.json"
    : > "$TMP/curve.jsonl"
    for e in $(seq 1 10); do
        run "$PT" eval --model "$TMP/full.safetensors.epoch$e" --data "$DATA" --json | tag "$e" >> "$TMP/curve.jsonl"
    done
    run "$PT" eval --model "$TMP/full_best.safetensors" --data "$DATA" --json | tag best >> "$TMP/curve.jsonl"
fi

bench_stamp
"$PY" - "$TMP" <<'PYEOF' | tee "bench/results/$STAMP-field.md"
import json, os, sys, statistics as st
T = sys.argv[1]
L = lambda n: [json.loads(l) for l in open(os.path.join(T, n)) if l.strip()]
J = lambda n: json.load(open(os.path.join(T, n)))
e = os.environ
seed = L("seed.jsonl")
print("## The fractal neural field against its PyTorch anchor (Fashion-MNIST)\n")
print(f"- Date: {e['DATE']}; machine: {e['CPU']}; commit {e['COMMIT']}; one thread each")
print("- Command: `bench/bench_field.sh" + (" --full" if e.get("FIELD_FULL") == "1" else "") + "`; every run is listed in its log (stderr)")
if e.get("NTRAIN") != "10000" or e.get("FIELD_TEST_LIMIT"):
    print(f"- **A reduced run** (FIELD_TRAIN_LIMIT={e.get('NTRAIN')}, FIELD_TEST_LIMIT={e.get('FIELD_TEST_LIMIT', '')}): not the benchmark's numbers")
print()
print("### 1-2. The founding document's configuration, one epoch\n")
print("| side | seed | test acc % | not within 1e-4 at 30 steps % | epoch s | test eval s |")
print("|---|---:|---:|---:|---:|---:|")
for r in seed:
    if r["tag"] == "c":
        print(f"| ours (C) | {r['seed']} | {100*r['test_accuracy']:.2f} | {100*r['test_unconverged_fraction']:.2f} | "
              f"{r['train_seconds']:.1f} | {r['infer_us_per_image']*r['test_samples']/1e6:.1f} |")
    else:
        print(f"| PyTorch | {r['seed']} | {100*r['test_accuracy']:.2f} | {100*r.get('test_unconverged_fraction', float('nan')):.2f} | "
              f"{r['train_seconds']:.1f} | {r.get('test_seconds', float('nan')):.1f} |")
c = [r for r in seed if r["tag"] == "c"]; t = [r for r in seed if r["tag"] == "torch"]
ratio = [a["train_seconds"] / b["train_seconds"] for a, b in zip(c, t)]
print(f"\nEpoch time, ours / PyTorch: {', '.join(f'{x:.2f}' for x in ratio)} (target: at most 0.5).")
print("Claim (issue 18, the anchor rebuilt by the issue's author): about 36% (35.8%) after this epoch.\n")
same = L("same.jsonl")
print("Both sides from the same initialised model (ours, `--epochs 0`) and in the same order (PyTorch `--init --c-order`):\n")
print("| seed | ours test acc % | PyTorch test acc % |")
print("|---:|---:|---:|")
sc = [r for r in same if r["tag"] == "c"]; stt = [r for r in same if r["tag"] == "torch"]
for a, b in zip(sc, stt):
    print(f"| {a['seed']} | {100*a['test_accuracy']:.2f} | {100*b['test_accuracy']:.2f} |")
print()
print(f"### 3. Solvers on the trained seed-1 models (first {e['NSOLV']} test images)\n")
print("Mean evaluations of F to reach the residual (over the images that did; % that did), fine-grid equivalents for multigrid.\n")
print("| model | solver | 1e-3 | 1e-4 | 1e-5 | ms/image |")
print("|---|---|---|---|---|---:|")
def crow(name, js):
    for s, v in js["solvers"].items():
        print(f"| {name} | {s} (ours) | {v['work_1e-3']:.1f} ({100*v['reached_1e-3']:.0f}%) | {v['work_tol']:.1f} ({100*v['reached_tol']:.0f}%) | "
              f"{v['work_1e-5']:.1f} ({100*v['reached_1e-5']:.0f}%) | {v['ms_per_image']:.2f} |")
crow("ours", J("solvers_c.json"))
crow("PyTorch's", J("solvers_ct.json"))
ts = J("solvers_t.json")
tab = ts.get("solver_table", ts)
for s in ("naive", "anderson"):
    v = tab.get(s) if isinstance(tab, dict) else None
    if not isinstance(v, dict):
        continue
    cells = []
    for th in ("0.001", "0.0001", "1e-05"):
        q = v.get(th) or {}
        m = q.get("mean_evals")
        cells.append(f"{m:.1f} ({100*(1-q.get('never_fraction', 0)):.0f}%)" if m is not None else "never")
    n = max(1, int(e["NSOLV"]))
    print(f"| PyTorch's | {s} (PyTorch) | " + " | ".join(cells) + f" | {1e3*v['seconds']/n:.2f} |")
cv = J("conv.json")
print("\n### 4. A configuration with a unique fixed point, scored at it\n")
print(f"`train --model field --pool 7 --gain 0.9 --solver anderson --tol 1e-4 --grad implicit --readout ridge`, one epoch: "
      f"test accuracy {100*cv['test_accuracy']:.2f}%, {100*cv['test_unconverged_fraction']:.2f}% of test images not within 1e-4 "
      f"(mean {cv['test_mean_iterations']:.1f} evaluations), Lipschitz bound {cv['lipschitz_bound']:.2f}, {cv['params']:,} parameters, "
      f"epoch {cv['train_seconds']:.1f} s.")
if e.get("FIELD_FULL") == "1":
    full, curve = J("full.json"), L("curve.jsonl")
    print("\n### 5. Ten epochs (55,000 images, 5,000 for validation)\n")
    print("| epoch | test acc % | not within 1e-4 % |")
    print("|---|---:|---:|")
    for r in curve:
        print(f"| {r['tag']} | {100*r['accuracy']:.2f} | {100*r['unconverged_fraction']:.2f} |")
    print(f"\nBest validation accuracy {100*full['best_val_accuracy']:.2f}% at epoch {full['best_epoch']}; {full['params']:,} parameters; "
          f"{full['train_seconds']/60:.1f} min of training. Target: 90% on the test set with at most 20k parameters in at most 10 epochs.")
PYEOF
cat "$TMP"/*.json* > "bench/results/$STAMP-field.jsonl"
