#!/usr/bin/env bash
# bench/bench_footprint.sh - PhaseTower's footprint, integer export, sparse
# inference and liquid topology against the MLP baseline (issue 4).
#
# Runs, in one invocation:
#   1. the default tower (2304:0.015625 on 56 principal components; one pass,
#      seed 1): parameters, active parameters, multiply-adds, file bytes
#      (phasetower info), and the int8/int16 models against float (eval --quantize);
#   2. its int8 export compiled with cc -O2 -std=c99 (strict flags, no -lm) and
#      timed on this machine, one image per call, one core (bench/export_driver.c):
#      latency, accuracy, agreement with the library on every test image, and
#      the constant data the object really holds (size -A, .rodata);
#   3. the same for the pixel-space tower (2048:0.015625 --subspace 0, the
#      default before the subspace), the largest pixel-space one-block tower
#      whose int8 export fits 250 kB (288:0.111111, s = 32), and the default
#      in 28 principal components (--subspace 28);
#   4. truly sparse inference (eval --sparse G:P) on the default tower (which
#      scores coordinates) and on the pixel-space one; and, for seeds 1-3, the
#      default's 256:40 and 128:28 against the pixel-space tower's dense answer
#      (a single seed moves the difference by about half a point);
#      Then routed inference (eval --route R1:KEEP:EXACT) of the pixel-space
#      tower, trained with --route-rank 48: one model against its own dense
#      count and its own exact selection, seed 1 for several settings and
#      12:400:48 for seeds 1-3;
#   5. liquid topology against fixed ones of the start and end sizes;
#   6. the MLP 784-512-512-10 (bench/mlp_baseline.py, 1 thread, 1 epoch):
#      parameters, multiply-adds, single-image latency, accuracy.
# Prints a markdown report, saved with the raw JSON as bench/results/<stamp>-footprint.*
#
# Usage: bench/bench_footprint.sh [--data DIR]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
. bench/lib.sh
bench_args bench_footprint.sh "$@"
bench_setup bench_footprint.sh
CC=${CC:-cc}
gzip -dc "$DATA/t10k-images-idx3-ubyte.gz" > "$TMP/images"
gzip -dc "$DATA/t10k-labels-idx1-ubyte.gz" > "$TMP/labels"

# model NAME TRAIN-ARGS...: train, info, eval --quantize 8 and 16, export, compile, time
model() {
    local name=$1; shift
    run "$PT" train --data "$DATA" --seed 1 --quiet --json "$@" --out "$TMP/$name.safetensors" > "$TMP/${name}_train.json"
    run "$PT" info --json "$TMP/$name.safetensors" > "$TMP/${name}_info.json"
    for b in 8 16; do
        run "$PT" eval --model "$TMP/$name.safetensors" --data "$DATA" --quantize $b --predictions "$TMP/${name}_lib$b.txt" \
            --json > "$TMP/${name}_q$b.json"
    done
    run "$PT" export --model "$TMP/$name.safetensors" --out "$TMP/${name}_x" --bits 8 > /dev/null
    run "$CC" -std=c99 -pedantic -Wall -Wextra -Werror -fno-builtin -O2 -c "$TMP/${name}_x/phasetower_model.c" -o "$TMP/$name.o"
    "$CC" -O2 -I"$TMP/${name}_x" bench/export_driver.c "$TMP/$name.o" -o "$TMP/${name}_run"
    run "$TMP/${name}_run" "$TMP/images" "$TMP/labels" "$TMP/${name}_exp.txt" > "$TMP/${name}_export.json"
    local agree=1
    cmp -s "$TMP/${name}_lib8.txt" "$TMP/${name}_exp.txt" || agree=0
    local rodata
    rodata=$(size -A "$TMP/$name.o" | awk '$1 == ".rodata" { print $2 }')
    echo "{\"agree\": $agree, \"rodata\": ${rodata:-0}}" > "$TMP/${name}_obj.json"
}
model default
model pixels --layers 2048:0.015625 --subspace 0 --route-rank 48
model small --layers 288:0.111111 --subspace 0
model sub28 --subspace 28

: > "$TMP/sparse.jsonl"
for gp in 256:40 128:28 128:16 64:8; do
    run "$PT" eval --model "$TMP/default.safetensors" --data "$DATA" --sparse "$gp" --json >> "$TMP/sparse.jsonl"
done
: > "$TMP/sparse_pix.jsonl"
for gp in 128:16 64:8 32:2; do
    run "$PT" eval --model "$TMP/pixels.safetensors" --data "$DATA" --sparse "$gp" --json >> "$TMP/sparse_pix.jsonl"
done
: > "$TMP/route.jsonl"
for rt in 12:400:48 12:400:40 12:300:48 16:300:48 8:400:48; do
    run "$PT" eval --model "$TMP/pixels.safetensors" --data "$DATA" --route "$rt" --json >> "$TMP/route.jsonl"
done
: > "$TMP/seeds.jsonl"
for seed in 1 2 3; do
    if [ "$seed" != 1 ]; then
        run "$PT" train --data "$DATA" --seed $seed --quiet --out "$TMP/default.s.safetensors" > /dev/null
        run "$PT" train --data "$DATA" --seed $seed --quiet --layers 2048:0.015625 --subspace 0 --route-rank 48 \
            --out "$TMP/pixels.s.safetensors" > /dev/null
    else
        cp "$TMP/default.safetensors" "$TMP/default.s.safetensors"
        cp "$TMP/pixels.safetensors" "$TMP/pixels.s.safetensors"
    fi
    for gp in 256:40 128:28; do
        run "$PT" eval --model "$TMP/default.s.safetensors" --data "$DATA" --sparse "$gp" --json |
            "$PY" -c 'import json,sys; r=json.load(sys.stdin); r["seed"]=int(sys.argv[1]); r["kind"]="default"; print(json.dumps(r))' \
            $seed >> "$TMP/seeds.jsonl"
    done
    run "$PT" eval --model "$TMP/pixels.s.safetensors" --data "$DATA" --route 12:400:48 --json |
        "$PY" -c 'import json,sys; r=json.load(sys.stdin); r["seed"]=int(sys.argv[1]); r["kind"]="pixels"; print(json.dumps(r))' \
        $seed >> "$TMP/seeds.jsonl"
done

: > "$TMP/liquid.jsonl"
liquid() { # label args...
    local label=$1; shift
    run "$PT" train --data "$DATA" --seed 1 --quiet --json "$@" --out "$TMP/l.safetensors" |
        "$PY" -c 'import json,sys,os; r=json.load(sys.stdin); r["label"]=sys.argv[1]; r["args"]=sys.argv[2]; print(json.dumps(r))' \
        "$label" "$*" >> "$TMP/liquid.jsonl"
}
liquid "fixed 2304 (default)"
liquid "fixed 2880" --layers 2880:0.0125
liquid "deaths" --deaths
liquid "births (clone, paper)" --births
liquid "births (sample)" --births --birth-init sample
liquid "births (sample) + deaths" --births --deaths --birth-init sample
liquid "fixed 256" --layers 256:0.125
liquid "fixed 300" --layers 300:0.106667
liquid "256, births (sample) up to 300" --layers 256:0.125 --births --birth-init sample --max-neurons 300

run "$PY" bench/mlp_baseline.py --data "$DATA" --epochs-list 1 --seed 1 > "$TMP/mlp.jsonl"

bench_stamp
CCV=$("$CC" --version | head -n1)
export CCV
"$PY" - "$TMP" <<'PYEOF' | tee "bench/results/$STAMP-footprint.md"
import json, os, sys
T = sys.argv[1]
J = lambda n: json.load(open(os.path.join(T, n)))
L = lambda n: [json.loads(l) for l in open(os.path.join(T, n)) if l.strip()]
e = os.environ
KEYS = (("default", "PhaseTower default (2304:0.015625, 56 principal components)"),
        ("pixels", "PhaseTower 2048:0.015625 on pixels (--subspace 0; the default before)"),
        ("small", "PhaseTower 288:0.111111 on pixels (--subspace 0)"), ("sub28", "PhaseTower default, --subspace 28"))
m = {k: {p: J(f"{k}_{p}.json") for p in ("train", "info", "q8", "q16", "export", "obj")} for k, _ in KEYS}
sparse, sparse_pix, liquid, mlp = L("sparse.jsonl"), L("sparse_pix.jsonl"), L("liquid.jsonl"), L("mlp.jsonl")[0]
seeds, route = L("seeds.jsonl"), L("route.jsonl")
mlp_madds = 784 * 512 + 512 * 512 + 512 * 10
print("## PhaseTower footprint, integer export, sparse inference, liquid topology\n")
print(f"- Date: {e['DATE']}; machine: {e['CPU']}; commit {e['COMMIT']}; data: Fashion-MNIST (Debian); compiler: {e['CCV']}")
print("- Command: `bench/bench_footprint.sh`; every run it makes is listed in its log (stderr). Seed 1, except the table of seeds 1-3.")
print("- Export latency: the int8 export compiled with `cc -O2 -std=c99 -pedantic -Wall -Wextra -Werror -fno-builtin` "
      "(no -lm), one image per call, one core, best of 3 passes over the 10,000 test images (bench/export_driver.c).\n")
print("### Footprint and the exported int8 model\n")
print("| Model | float test acc % | int8 acc % | int16 acc % | int8 = float answers | export = library | parameters | active params/image | multiply-adds/image | checkpoint bytes | export const bytes (.rodata) | export us/image |")
print("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|")
for k, label in KEYS:
    r = m[k]
    print(f"| {label} | {100*r['q8']['accuracy']:.2f} | {100*r['q8']['accuracy_quantized']:.2f} | "
          f"{100*r['q16']['accuracy_quantized']:.2f} | {100*r['q8']['quantized_agreement']:.2f}% | "
          f"{'yes, all ' + str(r['export']['images']) if r['obj']['agree'] else 'NO'} | {r['info']['params']:,} | "
          f"{r['info']['active_params']:,} | {r['info']['madds_per_image']:,} | {r['info']['file_bytes']:,} | "
          f"{r['obj']['rodata']:,} | {r['export']['us_per_image']:.1f} |")
print(f"| MLP 784-512-512-10, 1 epoch (PyTorch, float32) | {100*mlp['test_accuracy']:.2f} | | | | | {mlp['params']:,} | "
      f"{mlp['params']:,} | {mlp_madds:,} | {mlp['model_bytes']:,} (float32) | | {mlp['infer_us_single']:.1f} (torch, 1 thread) |")
d = m["default"]
print(f"\nRatios against the MLP (default tower): active parameters {mlp['params']/d['info']['active_params']:.1f}x fewer; "
      + (f"dense multiply-adds {mlp_madds/d['info']['madds_per_image']:.2f}x fewer than the MLP's"
         if d['info']['madds_per_image'] < mlp_madds else f"dense multiply-adds {d['info']['madds_per_image']/mlp_madds:.2f}x the MLP's")
      + ". The paper claims 335x fewer active "
      "parameters, 22x fewer operations, 250 kB and 0.42 ms on a microcontroller (MNIST).\n")
px = m["pixels"]
r = m["sub28"]
print(f"Against the pixel-space tower (the paper's form, K x 784 multiply-adds): the default is "
      f"{100*(d['q8']['accuracy']-px['q8']['accuracy']):+.2f} points, {d['info']['madds_per_image']/px['info']['madds_per_image']*100:.2f}% "
      f"of its multiply-adds, {d['obj']['rodata']/px['obj']['rodata']*100:.1f}% of its export bytes. "
      f"`--subspace 28`: {100*r['q8']['accuracy']:.2f}% float ({100*(r['q8']['accuracy']-px['q8']['accuracy']):+.2f} against the "
      f"pixel-space tower), {r['info']['madds_per_image']/px['info']['madds_per_image']*100:.2f}% of its multiply-adds, "
      f"{r['obj']['rodata']:,} bytes.")
print()
dp, dd = px["info"]["madds_per_image"], d["info"]["madds_per_image"]
print("### Truly sparse inference (eval --sparse G:P, one image at a time)\n")
print(f"Default tower (block 0 scored on coordinates). Fractions of the pixel-space tower's dense {dp:,} multiply-adds "
      f"and of the default's own dense (factored) {dd:,}; accuracy against exact selection on the same tower and against "
      f"the pixel-space tower ({100*px['q8']['accuracy']:.2f}%):\n")
print("| G:P | accuracy % | vs exact selection | vs pixel-space tower | multiply-adds/image | of pixel-space dense | of default dense | us/image |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for s in sparse:
    print(f"| {s['sparse']} | {100*s['accuracy_sparse']:.2f} | {100*(s['accuracy_sparse']-s['accuracy']):+.2f} | "
          f"{100*(s['accuracy_sparse']-px['q8']['accuracy']):+.2f} | {s['madds_per_image_sparse']:,.0f} | "
          f"{100*s['madds_per_image_sparse']/dp:.2f}% | {100*s['madds_per_image_sparse']/dd:.2f}% | {s['sparse_us_per_image']:.1f} |")
print("\nSeeds 1-3 (each tower trained with the seed; the pixel-space tower's dense answer as the reference):\n")
print("| G:P | seed | default, sparse % | default, exact % | pixel-space dense % | sparse vs pixel-space dense | of pixel-space dense multiply-adds |")
print("|---|---:|---:|---:|---:|---:|---:|")
pixd = {r["seed"]: r["accuracy"] for r in seeds if r["kind"] == "pixels"}
for gp in ("256:40", "128:28"):
    rows = [r for r in seeds if r["kind"] == "default" and r["sparse"] == gp]
    for r in rows:
        print(f"| {gp} | {r['seed']} | {100*r['accuracy_sparse']:.2f} | {100*r['accuracy']:.2f} | {100*pixd[r['seed']]:.2f} | "
              f"{100*(r['accuracy_sparse']-pixd[r['seed']]):+.2f} | {100*r['madds_per_image_sparse']/dp:.2f}% |")
    n = len(rows)
    ms, me = sum(r["accuracy_sparse"] for r in rows) / n, sum(r["accuracy"] for r in rows) / n
    mp = sum(pixd[r["seed"]] for r in rows) / n
    worst = max(r["madds_per_image_sparse"] for r in rows)
    print(f"| {gp} | mean | {100*ms:.2f} | {100*me:.2f} | {100*mp:.2f} | {100*(ms-mp):+.2f} | {100*worst/dp:.2f}% (largest) |")
print("\nPixel-space tower (grouping alone):\n")
print("| G:P | accuracy % | vs exact selection | multiply-adds/image | of its dense | us/image |")
print("|---|---:|---:|---:|---:|---:|")
for s in sparse_pix:
    print(f"| {s['sparse']} | {100*s['accuracy_sparse']:.2f} | {100*(s['accuracy_sparse']-s['accuracy']):+.2f} | "
          f"{s['madds_per_image_sparse']:,.0f} | {100*s['sparse_fraction']:.2f}% | {s['sparse_us_per_image']:.1f} |")
print("\n### Routed sparse inference of the pixel-space tower (eval --route R1:KEEP:EXACT, one image at a time)\n")
print(f"One model against its own dense count ({dp:,}) and its own exact selection: the pixel-space tower trained with "
      "`--route-rank 48`. Every neuron is scored on the image's first R1 principal coordinates, the best KEEP on all 48, "
      "the best EXACT of those on the pixels; the zero pixels of the raw image are skipped (exact algebra, docs/sparse.md). "
      "The last column divides by a dense pass that skips the zero pixels too.\n")
print("| R1:KEEP:EXACT | accuracy % | vs exact selection | multiply-adds/image | of its dense | of a zero-skipping dense pass | us/image |")
print("|---|---:|---:|---:|---:|---:|---:|")
for s in route:
    print(f"| {s['sparse']} | {100*s['accuracy_sparse']:.2f} | {100*(s['accuracy_sparse']-s['accuracy']):+.2f} | "
          f"{s['madds_per_image_sparse']:,.0f} | {100*s['sparse_fraction']:.2f}% | {100*s['sparse_fraction_zero_skip']:.2f}% | "
          f"{s['sparse_us_per_image']:.1f} |")
rows = [r for r in seeds if r["kind"] == "pixels"]
print("\nSeeds 1-3, 12:400:48 (each pixel-space tower trained with the seed):\n")
print("| seed | dense (exact selection) % | routed % | difference | of its dense | of a zero-skipping dense pass |")
print("|---|---:|---:|---:|---:|---:|")
for r in rows:
    print(f"| {r['seed']} | {100*r['accuracy']:.2f} | {100*r['accuracy_sparse']:.2f} | {100*(r['accuracy_sparse']-r['accuracy']):+.2f} | "
          f"{100*r['sparse_fraction']:.2f}% | {100*r['sparse_fraction_zero_skip']:.2f}% |")
n = len(rows)
print(f"| mean | {100*sum(r['accuracy'] for r in rows)/n:.2f} | {100*sum(r['accuracy_sparse'] for r in rows)/n:.2f} | "
      f"{100*sum(r['accuracy_sparse']-r['accuracy'] for r in rows)/n:+.2f} | {100*max(r['sparse_fraction'] for r in rows):.2f}% (largest) | "
      f"{100*max(r['sparse_fraction_zero_skip'] for r in rows):.2f}% (largest) |")
print("\n### Liquid topology (last block; one pass)\n")
print("| Run | arguments | test acc % | neurons start -> end | births | phase flips | deaths | train s | checkpoint bytes | us/image (single) |")
print("|---|---|---:|---|---:|---:|---:|---:|---:|---:|")
for r in liquid:
    n0 = r.get("neurons_start", r["layers"].split(":")[0]); n1 = r.get("neurons", n0)
    print(f"| {r['label']} | `{r['args']}` | {100*r['test_accuracy']:.2f} | {n0} -> {n1} | {r.get('births', 0)} | "
          f"{r.get('flips', 0)} | {r.get('deaths', 0)} | {r['train_seconds']:.2f} | {r['checkpoint_bytes']:,} | "
          f"{r['infer_us_single']:.1f} |")
json.dump({"models": m, "sparse": sparse, "sparse_seeds": seeds, "sparse_pixels": sparse_pix, "route": route, "liquid": liquid, "mlp": mlp, "mlp_madds": mlp_madds},
          open(f"bench/results/{e['STAMP']}-footprint.json", "w"), indent=1)
print(f"\nRaw results: bench/results/{e['STAMP']}-footprint.json")
PYEOF
