#!/usr/bin/env bash
# Issue 19, first slice: the echo-state network on the three tasks of
# shared/data/reservoir/README.md (its protocols and reference settings), at
# 100 and 500 units, seeds 1-3, through `phasetower reservoir train`; then a
# small search of (spectral radius, leak, ridge) for closed-loop generation
# at 500 units, chosen on seeds 4-6 and reported on seeds 1-3 (so the choice
# never sees the seeds it is scored on). Prints markdown tables; the
# ReservoirPy column holds ReservoirPy 0.4.2's measurements as quoted in the
# issue (one thread), not ours.
#   usage: bench/bench_reservoir.sh [BIN] [DATA_DIR]      (make bench-reservoir)
set -euo pipefail
bin=${1:-build/phasetower}
data=${2:-${PT_RESERVOIR_DATA:-/work/shared/data/reservoir}}
mg=$data/mackey_glass_t17.csv
narma=$data/narma10.csv
for f in "$mg" "$narma"; do [ -r "$f" ] || { echo "bench_reservoir: $f not found (give DATA_DIR)" >&2; exit 2; }; done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); one thread"
echo "binary: $bin ($(git -C "$(dirname "$0")/.." rev-parse --short HEAD 2>/dev/null || echo '?'))"
echo

# run NAME ARGS...: one JSON line per run into $tmp/NAME.jsonl
run() {
  local name=$1
  shift
  "$bin" reservoir train --quiet --json "$@" >> "$tmp/$name.jsonl"
}

MGF=(--series "$mg" --horizon 10 --fit 8000 --warmup 100 --leak 0.3 --spectral-radius 1.25 --input-scaling 1 --connectivity 0.1 --input-connectivity 0.1 --ridge 1e-7)
MGG=(--series "$mg" --horizon 1 --fit 5000 --warmup 100 --generate 500 --valid-tol 0.2 --nrmse-steps 84 --connectivity 0.1 --input-connectivity 0.1 --input-scaling 1)
NAR=(--series "$narma" --input 0 --target 1 --horizon 0 --fit 8000 --warmup 100 --leak 1 --spectral-radius 0.9 --input-scaling 1 --connectivity 0.1 --input-connectivity 0.1 --ridge 1e-7)
for units in 100 500; do
  for seed in 1 2 3; do
    run "mgf$units" "${MGF[@]}" --units $units --seed $seed
    run "mgg$units" "${MGG[@]}" --leak 0.3 --spectral-radius 1.25 --ridge 1e-7 --units $units --seed $seed
    run "nar$units" "${NAR[@]}" --units $units --seed $seed
  done
done

python3 - "$tmp" <<'EOF'
import json, sys, statistics as st
tmp = sys.argv[1]
def load(n): return [json.loads(l) for l in open(f"{tmp}/{n}.jsonl")]
rpy = {  # ReservoirPy 0.4.2, one thread: the issue's figures
    ("mgf", 100): "0.00338", ("mgf", 500): "0.00126 (fit 0.28 s)",
    ("mgg", 100): "32", ("mgg", 500): "75",
    ("nar", 100): "0.362", ("nar", 500): "0.146",
}
def ms(v): return f"{st.mean(v):.3g} ± {st.stdev(v):.2g}" if len(v) > 1 else f"{v[0]:.3g}"
print("| task | units | score (seeds 1-3: mean ± sd) | per seed | ReservoirPy (issue) | create s | fit s | run s |")
print("|---|---|---|---|---|---|---|---|")
for task, label in (("mgf", "Mackey-Glass x(t+10), NRMSE (range)"), ("mgg", "Mackey-Glass closed loop, valid steps"),
                    ("nar", "NARMA-10 one step, NRMSE (std)")):
    for units in (100, 500):
        rs = load(f"{task}{units}")
        if task == "mgf": v = [r["test"]["nrmse_range"] for r in rs]
        elif task == "nar": v = [r["test"]["nrmse_std"] for r in rs]
        else: v = [r["closed_loop"]["valid_steps"] for r in rs]
        per = ", ".join(f"{x:.4g}" for x in v)
        run_s = [r.get("run_s", 0) + r.get("generate_s", 0) for r in rs]
        print(f"| {label} | {units} | {ms(v)} | {per} | {rpy[(task, units)]} | {st.mean(r['create_s'] for r in rs):.3f} "
              f"| {st.mean(r['fit_s'] for r in rs):.3f} | {st.mean(run_s):.3f} |")
rs = load("mgg500") + load("mgg100")
print()
print("closed loop NRMSE84 (std, first 84 generated steps): " + ", ".join(
    f"{r['units']} units seed {r['seed']}: {r['closed_loop']['nrmse_std_head']:.4g}" for r in rs))
EOF

echo
echo "closed-loop search at 500 units: spectral radius x leak x ridge, chosen on seeds 4-6 (min valid steps), reported on seeds 1-3"
best=""
bestscore=-1
for sr in 0.8 1.0 1.25 1.5; do
  for lr in 0.2 0.3 0.5; do
    for rg in 1e-9 1e-7 1e-5; do
      : > "$tmp/s.jsonl"
      for seed in 4 5 6; do
        "$bin" reservoir train --quiet --json "${MGG[@]}" --units 500 --seed $seed --spectral-radius $sr --leak $lr --ridge $rg >> "$tmp/s.jsonl"
      done
      score=$(python3 -c "import json,sys; print(min(json.loads(l)['closed_loop']['valid_steps'] for l in open(sys.argv[1])))" "$tmp/s.jsonl")
      echo "  sr $sr leak $lr ridge $rg: min valid steps over seeds 4-6 = $score"
      if [ "$score" -gt "$bestscore" ]; then bestscore=$score; best="$sr $lr $rg"; fi
    done
  done
done
read -r sr lr rg <<<"$best"
: > "$tmp/b.jsonl"
for seed in 1 2 3; do
  "$bin" reservoir train --quiet --json "${MGG[@]}" --units 500 --seed $seed --spectral-radius $sr --leak $lr --ridge $rg >> "$tmp/b.jsonl"
done
python3 - "$tmp/b.jsonl" "$sr" "$lr" "$rg" <<'EOF'
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
v = [r["closed_loop"]["valid_steps"] for r in rs]
n84 = [r["closed_loop"]["nrmse_std_head"] for r in rs]
print(f"chosen: spectral radius {sys.argv[2]}, leak {sys.argv[3]}, ridge {sys.argv[4]}; on seeds 1-3: valid steps "
      f"{v} (mean {sum(v)/len(v):.1f}; ReservoirPy 75, goal 150), NRMSE84 {[round(x, 4) for x in n84]}")
EOF
