#!/usr/bin/env bash
# The CLI on bad input: every case must print one line naming the flag or file,
# exit with code 2, and leave no output file behind. Also a good run on a tiny
# generated data set (train -> info -> eval, --json keys present).
set -uo pipefail
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

. "$(dirname "$0")/idx_gen.sh"

good=$tmp/good
mkset "$good" 200 50

# expect_bad NAME PATTERN -- args...: exit 2, one line on stderr matching PATTERN, no $tmp/out.safetensors
expect_bad() {
  local name=$1 pat=$2
  shift 3
  rm -f "$tmp/out.safetensors"
  "$@" > "$tmp/stdout" 2> "$tmp/stderr"
  local rc=$?
  # under ASan (allocator_may_return_null=1) a refused huge allocation adds a warning line
  sed -i '/^==[0-9]*==WARNING: AddressSanitizer failed to allocate/d' "$tmp/stderr"
  local lines
  lines=$(wc -l < "$tmp/stderr")
  if [ $rc -ne 2 ]; then echo "FAIL [$name]: exit $rc, expected 2"; cat "$tmp/stderr"; fail=1; return; fi
  if [ "$lines" -ne 1 ]; then echo "FAIL [$name]: $lines lines on stderr, expected 1"; cat "$tmp/stderr"; fail=1; return; fi
  if ! grep -q -- "$pat" "$tmp/stderr"; then echo "FAIL [$name]: message lacks '$pat': $(cat "$tmp/stderr")"; fail=1; return; fi
  if [ -n "$(find "$tmp" -maxdepth 1 \( -name "out.safetensors*" -o -name ".out.safetensors.*" \))" ]; then echo "FAIL [$name]: output file left behind"; fail=1; return; fi
  echo "ok [$name]: $(cat "$tmp/stderr")"
}

T=(train --data "$good" --layers 64:0.1 --out "$tmp/out.safetensors")
expect_bad "unknown flag" "--bogus" -- "$bin" "${T[@]}" --bogus 3
expect_bad "unknown command" "frobnicate" -- "$bin" frobnicate
expect_bad "missing value" "--eta" -- "$bin" "${T[@]}" --eta
expect_bad "eta NaN" "--eta" -- "$bin" "${T[@]}" --eta nan
expect_bad "eta negative" "--eta" -- "$bin" "${T[@]}" --eta -0.1
expect_bad "eta garbage" "--eta" -- "$bin" "${T[@]}" --eta 0.1x
expect_bad "epochs 0" "--epochs" -- "$bin" "${T[@]}" --epochs 0
expect_bad "train-limit negative" "--train-limit" -- "$bin" "${T[@]}" --train-limit -5
expect_bad "seed garbage" "--seed" -- "$bin" "${T[@]}" --seed abc
expect_bad "layers K=0" "--layers" -- "$bin" train --data "$good" --layers 0:0.5 --out "$tmp/out.safetensors"
expect_bad "layers frac 0" "--layers" -- "$bin" train --data "$good" --layers 64:0 --out "$tmp/out.safetensors"
expect_bad "layers frac >1" "--layers" -- "$bin" train --data "$good" --layers 64:1.5 --out "$tmp/out.safetensors"
expect_bad "layers frac underflows" "--layers '64:1e-60': block 1 fraction 1e-60" -- "$bin" train --data "$good" --layers 64:1e-60 --out "$tmp/out.safetensors"
expect_bad "layers frac out of range" "--layers '64:1e-400': block 1 fraction 1e-400" -- "$bin" train --data "$good" --layers 64:1e-400 --out "$tmp/out.safetensors"
# sizes that do not fit in memory: exit 2 naming the flags that asked for them
expect_bad "layers too large" "asked for by --layers 1000000:0.1,1000000:0.1" -- "$bin" train --data "$good" --layers 1000000:0.1,1000000:0.1 --out "$tmp/out.safetensors"
expect_bad "phasor too large" "asked for by --hidden 100000 --depth 3" -- "$bin" train --model phasor --data "$good" --hidden 100000 --depth 3 --out "$tmp/out.safetensors"
expect_bad "tpam too large" "asked for by --n 65536" -- "$bin" tpam --n 65536 --k 10 --patterns 5
expect_bad "layers garbage" "--layers" -- "$bin" train --data "$good" --layers abc --out "$tmp/out.safetensors"
expect_bad "rule unknown" "--rule" -- "$bin" "${T[@]}" --rule magic
expect_bad "readout unknown" "--readout" -- "$bin" "${T[@]}" --readout magic
expect_bad "out dir missing" "--out" -- "$bin" train --data "$good" --layers 64:0.1 --out "$tmp/nodir/x.safetensors"
expect_bad "out is a directory" "--out" -- "$bin" train --data "$good" --layers 64:0.1 --out "$tmp"
expect_bad "val too large" "--val" -- "$bin" train --data "$good" --layers 64:0.1 --val 200 --out "$tmp/out.safetensors"
expect_bad "memory policy" "--memory" -- "$bin" "${T[@]}" --memory sometimes
expect_bad "memory k 0" "--memory-k" -- "$bin" "${T[@]}" --memory all --memory-k 0
expect_bad "memory k > size" "--memory-k" -- "$bin" "${T[@]}" --memory all --memory-size 10 --memory-k 11
expect_bad "memory alpha" "--memory-alpha" -- "$bin" "${T[@]}" --memory all --memory-alpha 1.5
expect_bad "memory dim" "--memory-dim" -- "$bin" "${T[@]}" --memory all --memory-dim 65
expect_bad "memory tau" "--memory-tau" -- "$bin" "${T[@]}" --memory novel --memory-tau 0
expect_bad "memory vote" "--memory-vote" -- "$bin" "${T[@]}" --memory all --memory-vote loud
expect_bad "memory code" "--memory-code" -- "$bin" "${T[@]}" --memory all --memory-code both
expect_bad "subspace too large" "--subspace" -- "$bin" "${T[@]}" --subspace 100000
expect_bad "subspace negative" "--subspace" -- "$bin" "${T[@]}" --subspace -3
expect_bad "death steps 0" "--death-steps" -- "$bin" "${T[@]}" --deaths --death-steps 0
expect_bad "birth tau > 1" "--birth-tau" -- "$bin" "${T[@]}" --births --birth-tau 1.5
expect_bad "birth tau NaN" "--birth-tau" -- "$bin" "${T[@]}" --births --birth-tau nan
expect_bad "max neurons below K" "--max-neurons" -- "$bin" train --data "$good" --layers 64:0.1 --births --max-neurons 10 --out "$tmp/out.safetensors"
expect_bad "birth init" "--birth-init" -- "$bin" "${T[@]}" --births --birth-init twin
expect_bad "classes range" "--classes" -- "$bin" "${T[@]}" --classes 3-12
expect_bad "classes garbage" "--classes" -- "$bin" "${T[@]}" --classes 0-4x
expect_bad "corrupt no out" "--out" -- "$bin" corrupt --data "$good" --corrupt noise:0.3
expect_bad "corrupt bad spec" "--corrupt" -- "$bin" corrupt --data "$good" --corrupt noise:-1 --out "$tmp/cor"
"$bin" corrupt --data "$good" --corrupt rotate:15-45 --out "$tmp/cor" > /dev/null &&
  cp "$good"/train-* "$tmp/cor"/ && "$bin" train --data "$tmp/cor" --layers 64:0.1 --quiet > /dev/null ||
  { echo "FAIL [corrupt writes a readable set]"; fail=1; }
expect_bad "data dir missing" "$tmp/none" -- "$bin" train --data "$tmp/none" --layers 64:0.1 --out "$tmp/out.safetensors"

d=$tmp/magic; mkset "$d" 20 10
labels 20 | gzip -c > "$d/train-images-idx3-ubyte.gz"
expect_bad "wrong magic" "magic" -- "$bin" train --data "$d" --layers 64:0.1 --out "$tmp/out.safetensors"

d=$tmp/trunc; mkset "$d" 20 10
head -c 300 "$good/train-images-idx3-ubyte.gz" > "$d/train-images-idx3-ubyte.gz"
expect_bad "truncated gz" "train-images" -- "$bin" train --data "$d" --layers 64:0.1 --out "$tmp/out.safetensors"

d=$tmp/corrupt; mkset "$d" 20 10
sz=$(stat -c %s "$good/train-images-idx3-ubyte.gz")
{ head -c 40 "$good/train-images-idx3-ubyte.gz"; head -c 60 /dev/zero | tr '\0' '\377'; tail -c $((sz - 100)) "$good/train-images-idx3-ubyte.gz"; } > "$d/train-images-idx3-ubyte.gz"
expect_bad "corrupt gz" "train-images" -- "$bin" train --data "$d" --layers 64:0.1 --out "$tmp/out.safetensors"

d=$tmp/plaintrunc; mkset "$d" 20 10
images 20 20 20 | head -c 5000 > "$d/train-images-idx3-ubyte"; rm "$d/train-images-idx3-ubyte.gz"
expect_bad "truncated plain" "truncated" -- "$bin" train --data "$d" --layers 64:0.1 --out "$tmp/out.safetensors"

# a 16-byte header claiming 10^7 images of 28x28: refused as truncated, nothing allocated from it
d=$tmp/evil; mkset "$d" 20 10; rm "$d/train-images-idx3-ubyte.gz"
printf '\x00\x00\x08\x03\x00\x98\x96\x80\x00\x00\x00\x1c\x00\x00\x00\x1c' > "$d/train-images-idx3-ubyte"
expect_bad "IDX header claims 7.8 GB" "train-images-idx3-ubyte: truncated" -- "$bin" train --data "$d" --layers 64:0.1 --out "$tmp/out.safetensors"

d=$tmp/count; mkset "$d" 20 10
labels 19 | gzip -c > "$d/train-labels-idx1-ubyte.gz"
expect_bad "label count" "19" -- "$bin" train --data "$d" --layers 64:0.1 --out "$tmp/out.safetensors"

d=$tmp/range; mkset "$d" 20 10
labels 20 12 | gzip -c > "$d/train-labels-idx1-ubyte.gz"
expect_bad "label out of range" "label 12" -- "$bin" train --data "$d" --layers 64:0.1 --out "$tmp/out.safetensors"

# --- a good run, then info and eval on its checkpoint -------------------------
if ! "$bin" train --data "$good" --layers 64:0.1 --seed 3 --json --out "$tmp/m.safetensors" > "$tmp/train.json" 2> "$tmp/stderr"; then
  echo "FAIL [good train]: $(cat "$tmp/stderr")"; fail=1
else
  for k in test_accuracy train_seconds samples params model_bytes; do
    grep -q "\"$k\"" "$tmp/train.json" || { echo "FAIL [train --json]: no key $k"; fail=1; }
  done
  [ "$(wc -l < "$tmp/train.json")" -eq 1 ] || { echo "FAIL [train --json]: not one line"; fail=1; }
  "$bin" info "$tmp/m.safetensors" > /dev/null || { echo "FAIL [info]"; fail=1; }
  "$bin" info --json "$tmp/m.safetensors" | grep -q '"params"' || { echo "FAIL [info --json]"; fail=1; }
  "$bin" eval --model "$tmp/m.safetensors" --data "$good" --json > "$tmp/eval.json" || { echo "FAIL [eval]"; fail=1; }
  for k in accuracy seconds samples; do
    grep -q "\"$k\"" "$tmp/eval.json" || { echo "FAIL [eval --json]: no key $k"; fail=1; }
  done
  echo "ok [good run]: $(cat "$tmp/train.json")"

  # --- a model with an episodic memory: train -> info -> eval --------------------
  if "$bin" train --data "$good" --layers 64:0.1 --seed 3 --memory novel --memory-size 50 --memory-dim 16 --json \
       --out "$tmp/mm.safetensors" > "$tmp/trainm.json" 2> "$tmp/stderr"; then
    for k in memory_slots memory_bytes test_accuracy_memory test_accuracy_combined; do
      grep -q "\"$k\"" "$tmp/trainm.json" || { echo "FAIL [train --memory --json]: no key $k"; fail=1; }
    done
    "$bin" info --json "$tmp/mm.safetensors" | grep -q '"memory": {"slots"' || { echo "FAIL [info memory]"; fail=1; }
    "$bin" eval --model "$tmp/mm.safetensors" --data "$good" --ood noise --json > "$tmp/evm.json" || { echo "FAIL [eval memory]"; fail=1; }
    "$bin" eval --model "$tmp/mm.safetensors" --data "$good" --reject-below 0.5 --json | grep -q '"reject_score": "memory"' ||
      { echo "FAIL [eval --reject-below with a memory]"; fail=1; }
    for k in accuracy_memory accuracy_combined auroc_memory fpr95_memory; do
      grep -q "\"$k\"" "$tmp/evm.json" || { echo "FAIL [eval memory --json]: no key $k"; fail=1; }
    done
    echo "ok [memory run]: $(cat "$tmp/evm.json")"
    # compose: bad input is exit 2 and leaves the checkpoint byte-identical
    cp "$tmp/mm.safetensors" "$tmp/mm.orig"
    expect_bad "compose label without exemplars" "42" -- "$bin" compose --model "$tmp/mm.safetensors" --a 42 --b 3 --name x
    expect_bad "compose unknown concept" "--a" -- "$bin" compose --model "$tmp/mm.safetensors" --a "7+8" --b 3 --name x
    expect_bad "compose bad name" "--name" -- "$bin" compose --model "$tmp/mm.safetensors" --a 1 --b 3 --name "a b"
    expect_bad "compose tau" "--tau" -- "$bin" compose --model "$tmp/mm.safetensors" --a 1 --b 3 --name x --tau 1.5
    expect_bad "compose same" "same concept" -- "$bin" compose --model "$tmp/mm.safetensors" --a 1 --b 1 --name x
    expect_bad "compose no memory" "no episodic memory" -- "$bin" compose --model "$tmp/m.safetensors" --a 1 --b 3 --name x
    expect_bad "compose missing flag" "required" -- "$bin" compose --model "$tmp/mm.safetensors" --a 1 --b 3
    cmp -s "$tmp/mm.safetensors" "$tmp/mm.orig" || { echo "FAIL [compose]: checkpoint changed by a failed compose"; fail=1; }
    if "$bin" compose --model "$tmp/mm.safetensors" --a 1 --b 3 --name 1+3 --tau 1 > /dev/null &&
       "$bin" compose --model "$tmp/mm.safetensors" --a 1+3 --b 5 --name "(1+3)+5" --tau 1 > /dev/null; then
      "$bin" info --json "$tmp/mm.safetensors" > /dev/null || { echo "FAIL [info after compose]"; fail=1; }
      "$bin" eval --model "$tmp/mm.safetensors" --data "$good" --composite "(1+3)+5" --json | grep -q '"composite_accuracy_memory"' ||
        { echo "FAIL [eval --composite]"; fail=1; }
      expect_bad "eval heldout without classes" "--classes" -- "$bin" eval --model "$tmp/mm.safetensors" --data "$good" --ood heldout
      "$bin" eval --model "$tmp/mm.safetensors" --data "$good" --classes 0-4 --ood heldout --json | grep -q '"auroc_memory"' ||
        { echo "FAIL [eval --ood heldout]"; fail=1; }
      expect_bad "eval composite base" "--composite" -- "$bin" eval --model "$tmp/mm.safetensors" --data "$good" --composite 3
    else
      echo "FAIL [compose good]"; fail=1
    fi
  else
    echo "FAIL [train --memory]: $(cat "$tmp/stderr")"; fail=1
  fi

  # --- a memory of dense codes: composes and evaluates; the integer memory and
  # an unknown code in the header are refused with exit 2, nothing written
  if "$bin" train --data "$good" --layers 64:0.1 --seed 3 --memory all --memory-code dense --memory-size 500 \
       --memory-dim 16 --out "$tmp/md.safetensors" > /dev/null 2> "$tmp/stderr"; then
    "$bin" info --json "$tmp/md.safetensors" | grep -q '"code": "dense"' || { echo "FAIL [info dense code]"; fail=1; }
    "$bin" compose --model "$tmp/md.safetensors" --a 1 --b 3 --name 1+3 --tau 1 --pairs 10000 > "$tmp/compose.out" &&
      "$bin" eval --model "$tmp/md.safetensors" --data "$good" --composite 1+3 --json | grep -q '"composite_accuracy_memory"' ||
      { echo "FAIL [dense memory compose + eval]"; fail=1; }
    grep -q "overwritten" "$tmp/compose.out" && { echo "FAIL [compose]: overwrite reported with room left"; fail=1; }
    # into a full memory: compose says how many of the oldest entries it overwrote
    "$bin" train --data "$good" --layers 64:0.1 --seed 3 --memory all --memory-code dense --memory-size 100 \
      --memory-dim 16 --out "$tmp/mf.safetensors" > /dev/null &&
      "$bin" compose --model "$tmp/mf.safetensors" --a 1 --b 3 --name 1+3 --tau 1 --pairs 5 |
      grep -q "memory now holds 100 (the memory was full: 5 of its oldest entries were overwritten" ||
      { echo "FAIL [compose into a full memory]"; fail=1; }
    expect_bad "export dense memory" "dense codes" -- "$bin" export --model "$tmp/md.safetensors" --out "$tmp/xd" --memory
    [ ! -e "$tmp/xd" ] || { echo "FAIL [export]: a refused export created $tmp/xd"; fail=1; }
    expect_bad "quantize dense memory" "dense codes" -- "$bin" eval --model "$tmp/md.safetensors" --data "$good" --quantize 8
    sed '1s/"memory_code":"dense"/"memory_code":"dunno"/' "$tmp/md.safetensors" > "$tmp/mdbad.safetensors"
    if cmp -s "$tmp/md.safetensors" "$tmp/mdbad.safetensors"; then echo "FAIL [code edit]: pattern not found"; fail=1; fi
    expect_bad "unknown memory code" "memory_code" -- "$bin" eval --model "$tmp/mdbad.safetensors" --data "$good"
  else
    echo "FAIL [train --memory-code dense]: $(cat "$tmp/stderr")"; fail=1
  fi

  # --- frame keys (the tower's dual frame): train, compose with fanout and a
  # guard, evaluate; combinations that cannot work are refused with exit 2
  F=(train --data "$good" --layers 64:0.1 --seed 3 --memory all --memory-code dense --memory-size 1000)
  if "$bin" "${F[@]}" --memory-key frame --out "$tmp/mk.safetensors" > /dev/null 2> "$tmp/stderr"; then
    "$bin" info --json "$tmp/mk.safetensors" | grep -q '"keys": "frame"' || { echo "FAIL [info frame keys]"; fail=1; }
    "$bin" compose --model "$tmp/mk.safetensors" --a 1 --b 3 --name 1+3 --tau 1 --pairs 10000 --fanout 3 --guard 2 \
      > "$tmp/compose.out" &&
      grep -q "the guard refused" "$tmp/compose.out" &&
      "$bin" eval --model "$tmp/mk.safetensors" --data "$good" --composite 1+3 --json | grep -q '"composite_accuracy_memory"' ||
      { echo "FAIL [frame keys compose + eval]: $(cat "$tmp/compose.out")"; fail=1; }
    cp "$tmp/mk.safetensors" "$tmp/mk.orig"
    expect_bad "compose fanout 0" "--fanout" -- "$bin" compose --model "$tmp/mk.safetensors" --a 1 --b 3 --name x --fanout 0
    expect_bad "compose fanout 17" "--fanout" -- "$bin" compose --model "$tmp/mk.safetensors" --a 1 --b 3 --name x --fanout 17
    expect_bad "compose guard above k" "--guard" -- "$bin" compose --model "$tmp/mk.safetensors" --a 1 --b 3 --name x --guard 6
    expect_bad "compose guard negative" "--guard" -- "$bin" compose --model "$tmp/mk.safetensors" --a 1 --b 3 --name x --guard -1
    cmp -s "$tmp/mk.safetensors" "$tmp/mk.orig" || { echo "FAIL [compose]: checkpoint changed by a failed compose"; fail=1; }
  else
    echo "FAIL [train --memory-key frame]: $(cat "$tmp/stderr")"; fail=1
  fi
  expect_bad "memory key" "--memory-key" -- "$bin" "${T[@]}" --memory all --memory-code dense --memory-key random
  expect_bad "frame keys of a sparse code" "--memory-code dense" -- "$bin" "${T[@]}" --memory all --memory-key frame
  expect_bad "frame keys and a key length" "--memory-dim" -- "$bin" "${T[@]}" --memory all --memory-code dense \
    --memory-key frame --memory-dim 8
  expect_bad "frame keys of two blocks" "one-block" -- "$bin" train --data "$good" --layers 64:0.1,32:0.1 \
    --out "$tmp/out.safetensors" --memory all --memory-code dense --memory-key frame
  expect_bad "frame keys with few neurons" "more neurons" -- "$bin" train --data "$good" --layers 32:0.1 \
    --out "$tmp/out.safetensors" --memory all --memory-code dense --memory-key frame

  # --- bad checkpoints ---------------------------------------------------------
  msz=$(stat -c %s "$tmp/m.safetensors")
  head -c $((msz - 64)) "$tmp/m.safetensors" > "$tmp/trunc.safetensors"
  expect_bad "truncated checkpoint" "trunc.safetensors" -- "$bin" eval --model "$tmp/trunc.safetensors" --data "$good"
  expect_bad "truncated checkpoint (info)" "trunc.safetensors" -- "$bin" info "$tmp/trunc.safetensors"
  # header whose shape does not match its data: rewrite one shape inside the JSON
  sed '1s/\[64,56\]/[65,56]/' "$tmp/m.safetensors" > "$tmp/hdr.safetensors"
  if cmp -s "$tmp/m.safetensors" "$tmp/hdr.safetensors"; then echo "FAIL [header edit]: pattern not found"; fail=1; fi
  expect_bad "header/data mismatch" "hdr.safetensors" -- "$bin" eval --model "$tmp/hdr.safetensors" --data "$good"
  # metadata the tensors do not back: refused before anything is allocated
  ed() { python3 "$(dirname "$0")/st_edit.py" "$@"; }
  ed "$tmp/m.safetensors" "$tmp/big.safetensors" layers=1000000:0.1 n_in=1048576 active=100000
  expect_bad "huge layers in metadata" "big.safetensors: tensor 'block0.p'" -- "$bin" eval --model "$tmp/big.safetensors" --data "$good"
  expect_bad "huge layers in metadata (info)" "big.safetensors: tensor 'block0.p'" -- "$bin" info "$tmp/big.safetensors"
  ed "$tmp/m.safetensors" "$tmp/big.safetensors" layers=2000:1,2000:1,2000:1 active=-
  expect_bad "deep layers in metadata" "big.safetensors: tensor 'block0.p'" -- "$bin" info "$tmp/big.safetensors"
  ed "$tmp/m.safetensors" "$tmp/big.safetensors" subspace=2000
  expect_bad "huge subspace in metadata" "big.safetensors: metadata: tower.subspace 2000" -- "$bin" info "$tmp/big.safetensors"
  ed "$tmp/mm.safetensors" "$tmp/big.safetensors" memory_size=10000000
  expect_bad "huge memory in metadata" "big.safetensors: tensor 'memory.keys'" -- "$bin" info "$tmp/big.safetensors"
  printf 'not a model at all' > "$tmp/junk.safetensors"
  expect_bad "junk checkpoint" "junk.safetensors" -- "$bin" info "$tmp/junk.safetensors"
  expect_bad "eval without --model" "--model" -- "$bin" eval --data "$good"
  expect_bad "corrupt spec" "--corrupt" -- "$bin" eval --model "$tmp/m.safetensors" --data "$good" --corrupt blur:3
  expect_bad "corrupt range" "--corrupt" -- "$bin" eval --model "$tmp/m.safetensors" --data "$good" --corrupt rotate:50-10
  expect_bad "reject score" "--reject-score" -- "$bin" eval --model "$tmp/m.safetensors" --data "$good" --reject-below 0.1 --reject-score loud
  expect_bad "reject by memory without one" "--reject-score" -- "$bin" eval --model "$tmp/m.safetensors" --data "$good" --reject-below 0.1 --reject-score memory
  expect_bad "derotate spec" "--derotate" -- "$bin" eval --model "$tmp/m.safetensors" --data "$good" --derotate 45:0:0.1
  expect_bad "derotate garbage" "--derotate" -- "$bin" eval --model "$tmp/m.safetensors" --data "$good" --derotate 45:7.5:x
  expect_bad "derotate score" "--derotate-score" -- "$bin" eval --model "$tmp/m.safetensors" --data "$good" --derotate 45:7.5:0.1 --derotate-score foo
  expect_bad "derotate score alone" "--derotate-score" -- "$bin" eval --model "$tmp/m.safetensors" --data "$good" --derotate-score memory
  expect_bad "derotate score no memory" "no memory" -- "$bin" eval --model "$tmp/m.safetensors" --data "$good" --derotate 45:7.5:0.1 --derotate-score memory
  expect_bad "route rank with a subspace" "--subspace 0" -- "$bin" "${T[@]}" --route-rank 8
  expect_bad "route rank too large" "--route-rank" -- "$bin" "${T[@]}" --subspace 0 --route-rank 400
  expect_bad "route rank of two blocks" "one-block" -- "$bin" train --data "$good" --layers 64:0.1,32:0.1 --subspace 0 --route-rank 8 --out "$tmp/out.safetensors"
  expect_bad "route without a basis" "routing basis" -- "$bin" eval --model "$tmp/m.safetensors" --data "$good" --route 4:40:20
  if "$bin" train --data "$good" --layers 64:0.1 --subspace 0 --route-rank 8 --quiet --out "$tmp/mr.safetensors" > /dev/null; then
    "$bin" eval --model "$tmp/mr.safetensors" --data "$good" --route 4:40:20 --json | grep -q '"sparse_mode": "route"' ||
      { echo "FAIL [eval --route]"; fail=1; }
    "$bin" info "$tmp/mr.safetensors" | grep -q "routing basis   8" || { echo "FAIL [info routing basis]"; fail=1; }
    expect_bad "route spec" "--route" -- "$bin" eval --model "$tmp/mr.safetensors" --data "$good" --route 4:40
    expect_bad "route spec garbage" "--route" -- "$bin" eval --model "$tmp/mr.safetensors" --data "$good" --route 4:40:2x
    expect_bad "route and sparse" "--route" -- "$bin" eval --model "$tmp/mr.safetensors" --data "$good" --route 4:40:20 --sparse 8:2
    expect_bad "route r1 above rank" "--route" -- "$bin" eval --model "$tmp/mr.safetensors" --data "$good" --route 9:40:20
    expect_bad "route exact below s+1" "--route" -- "$bin" eval --model "$tmp/mr.safetensors" --data "$good" --route 4:40:3
    expect_bad "route exact above keep" "--route" -- "$bin" eval --model "$tmp/mr.safetensors" --data "$good" --route 4:20:30
    expect_bad "route keep above K" "--route" -- "$bin" eval --model "$tmp/mr.safetensors" --data "$good" --route 4:65:20
  else
    echo "FAIL [train --route-rank]"; fail=1
  fi
  "$bin" eval --model "$tmp/m.safetensors" --data "$good" --derotate 20:10:0.05 --json | grep -q '"accuracy_derotate"' ||
    { echo "FAIL [eval --derotate]"; fail=1; }
  expect_bad "sparse spec" "--sparse" -- "$bin" eval --model "$tmp/m.safetensors" --data "$good" --sparse 8
  expect_bad "sparse probe" "--sparse" -- "$bin" eval --model "$tmp/m.safetensors" --data "$good" --sparse 8:9
  "$bin" eval --model "$tmp/m.safetensors" --data "$good" --sparse 8:2 --json | grep -q '"sparse_fraction"' ||
    { echo "FAIL [eval --sparse]"; fail=1; }
  expect_bad "reject NaN" "--reject-below" -- "$bin" eval --model "$tmp/m.safetensors" --data "$good" --reject-below nan
  expect_bad "ood dir missing" "--ood" -- "$bin" eval --model "$tmp/m.safetensors" --data "$good" --ood "$tmp/none"
  "$bin" eval --model "$tmp/m.safetensors" --data "$good" --corrupt noise:0.3 --ood noise --reject-below 0.1 --json > "$tmp/ev2.json" ||
    { echo "FAIL [eval --corrupt --ood --reject-below]"; fail=1; }
  for k in accuracy corrupt auroc fpr95 rejected accuracy_accepted; do
    grep -q "\"$k\"" "$tmp/ev2.json" || { echo "FAIL [eval --json]: no key $k"; fail=1; }
  done
  mkdir -p "$tmp/wide"; images 10 10 10 | gzip -c > "$tmp/wide/t10k-images-idx3-ubyte.gz"; labels 10 | gzip -c > "$tmp/wide/t10k-labels-idx1-ubyte.gz"
  expect_bad "eval shape mismatch" "pixels" -- "$bin" eval --model "$tmp/m.safetensors" --data "$tmp/wide"
  expect_bad "ood shape mismatch" "--ood" -- "$bin" eval --model "$tmp/m.safetensors" --data "$good" --ood "$tmp/wide"
  # export and the integer model: refused cleanly, nothing written
  "$bin" train --data "$good" --layers 32:0.2,16:0.25 --seed 3 --quiet --out "$tmp/m2.safetensors" > /dev/null ||
    { echo "FAIL [two-block train]"; fail=1; }
  expect_bad "export two blocks" "one-block" -- "$bin" export --model "$tmp/m2.safetensors" --out "$tmp/x2"
  expect_bad "export junk" "junk.safetensors" -- "$bin" export --model "$tmp/junk.safetensors" --out "$tmp/x2"
  [ ! -e "$tmp/x2" ] || { echo "FAIL [export]: a refused export created $tmp/x2"; fail=1; }
  expect_bad "export out is a file" "not a directory" -- "$bin" export --model "$tmp/m.safetensors" --out "$tmp/junk.safetensors"
  expect_bad "export out unreachable" "cannot create" -- "$bin" export --model "$tmp/m.safetensors" --out "$tmp/none/a/b"
  expect_bad "export memory without one" "no episodic memory" -- "$bin" export --model "$tmp/m.safetensors" --out "$tmp/x2" --memory
  expect_bad "export bits" "--bits" -- "$bin" export --model "$tmp/m.safetensors" --out "$tmp/x2" --bits 12
  expect_bad "export no out" "required" -- "$bin" export --model "$tmp/m.safetensors"
  expect_bad "eval quantize bits" "--quantize" -- "$bin" eval --model "$tmp/m.safetensors" --data "$good" --quantize 12
  expect_bad "eval quantize two blocks" "one-block" -- "$bin" eval --model "$tmp/m2.safetensors" --data "$good" --quantize 8
  expect_bad "eval predictions dir" "--predictions" -- "$bin" eval --model "$tmp/m.safetensors" --data "$good" --predictions "$tmp/none/p.txt"
  ls "$tmp"/x2 "$tmp"/none 2> /dev/null && { echo "FAIL [export]: something written by a refused command"; fail=1; }
  "$bin" export --model "$tmp/m.safetensors" --out "$tmp/x1" --json | grep -q '"const_bytes"' || { echo "FAIL [export --json]"; fail=1; }
fi

"$bin" train --help > "$tmp/help" && grep -q -- "--train-limit" "$tmp/help" || { echo "FAIL [train --help]"; fail=1; }
"$bin" eval --help > "$tmp/help" && grep -q -- "--model" "$tmp/help" || { echo "FAIL [eval --help]"; fail=1; }
"$bin" info --help > "$tmp/help" && grep -q -- "--json" "$tmp/help" || { echo "FAIL [info --help]"; fail=1; }
"$bin" compose --help > "$tmp/help" && grep -q -- "--pairs" "$tmp/help" || { echo "FAIL [compose --help]"; fail=1; }
"$bin" export --help > "$tmp/help" && grep -q -- "--bits" "$tmp/help" || { echo "FAIL [export --help]"; fail=1; }
"$bin" tpam --help > "$tmp/help" && grep -q -- "--patterns" "$tmp/help" || { echo "FAIL [tpam --help]"; fail=1; }
"$bin" train --model phasor --help > "$tmp/help" && grep -q -- "--hidden" "$tmp/help" || { echo "FAIL [train --model phasor --help]"; fail=1; }
# phasor networks: bad flags, and a checkpoint of the other kind
expect_bad "phasor eps 0" "--eps" -- "$bin" train --model phasor --data "$good" --eps 0 --out "$tmp/out.safetensors"
expect_bad "phasor act" "--act" -- "$bin" train --model phasor --data "$good" --act tanh --out "$tmp/out.safetensors"
expect_bad "phasor levels" "--levels" -- "$bin" train --model phasor --data "$good" --act quant --levels 1 --out "$tmp/out.safetensors"
expect_bad "phasor depth" "--depth" -- "$bin" train --model phasor --data "$good" --depth 0 --out "$tmp/out.safetensors"
expect_bad "phasor lr NaN" "--lr" -- "$bin" train --model phasor --data "$good" --lr nan --out "$tmp/out.safetensors"
expect_bad "model kind" "--model" -- "$bin" train --model ladder --data "$good" --out "$tmp/out.safetensors"
expect_bad "phasor tower flag" "--layers" -- "$bin" train --model phasor --data "$good" --layers 64:0.1 --out "$tmp/out.safetensors"
if "$bin" train --model phasor --data "$good" --hidden 8 --epochs 1 --quiet --json --out "$tmp/ph.safetensors" > "$tmp/ph.json"; then
  grep -q '"model": "phasor"' "$tmp/ph.json" || { echo "FAIL [train --model phasor --json]"; fail=1; }
  "$bin" eval --model "$tmp/ph.safetensors" --data "$good" --json | grep -q '"accuracy"' || { echo "FAIL [eval phasor]"; fail=1; }
  "$bin" info --json "$tmp/ph.safetensors" | grep -q '"hidden": 8' || { echo "FAIL [info phasor]"; fail=1; }
  "$bin" eval --model "$tmp/ph.safetensors" --data "$good" --spiking 16 --json | grep -q '"accuracy_spiking"' ||
    { echo "FAIL [eval --spiking]"; fail=1; }
  expect_bad "spiking T < 2" "--spiking" -- "$bin" eval --model "$tmp/ph.safetensors" --data "$good" --spiking 1
  expect_bad "spiking on a tower" "--spiking" -- "$bin" eval --model "$tmp/m.safetensors" --data "$good" --spiking 16
  expect_bad "phasor eval sparse" "phasor network" -- "$bin" eval --model "$tmp/ph.safetensors" --data "$good" --sparse 8:2
  expect_bad "phasor export" "phasor" -- "$bin" export --model "$tmp/ph.safetensors" --out "$tmp/x3"
  expect_bad "phasor compose" "phasor" -- "$bin" compose --model "$tmp/ph.safetensors" --a 1 --b 3 --name x
  d=$tmp/wide2; mkdir -p "$d"; images 10 10 10 | gzip -c > "$d/t10k-images-idx3-ubyte.gz"; labels 10 | gzip -c > "$d/t10k-labels-idx1-ubyte.gz"
  expect_bad "phasor eval shape" "pixels" -- "$bin" eval --model "$tmp/ph.safetensors" --data "$d"
  python3 "$(dirname "$0")/st_edit.py" "$tmp/ph.safetensors" "$tmp/big.safetensors" hidden=100000 n_in=1000000
  expect_bad "huge phasor in metadata" "big.safetensors: tensor 'layer0.w_re'" -- "$bin" info "$tmp/big.safetensors"
else
  echo "FAIL [train --model phasor]"; fail=1
fi
# field models: bad flags, files and a small good run
F=(train --model field --data "$good" --channels 4 --train-limit 40 --test-limit 20 --quiet --out "$tmp/out.safetensors")
expect_bad "field tol 0" "--tol" -- "$bin" "${F[@]}" --tol 0
expect_bad "field tol negative" "--tol" -- "$bin" "${F[@]}" --tol -1e-4
expect_bad "field channels 0" "--channels" -- "$bin" train --model field --data "$good" --channels 0 --out "$tmp/out.safetensors"
expect_bad "field pool" "--pool 29 must be in 1..20" -- "$bin" "${F[@]}" --pool 29
expect_bad "field gain" "--gain" -- "$bin" "${F[@]}" --gain 0
expect_bad "field alpha" "--alpha" -- "$bin" "${F[@]}" --alpha 1.5
expect_bad "field act-bias positive" "--act-bias" -- "$bin" "${F[@]}" --act-bias 0.2
expect_bad "field grad" "--grad" -- "$bin" "${F[@]}" --grad backprop
expect_bad "field grad unroll:0" "--grad" -- "$bin" "${F[@]}" --grad unroll:0
expect_bad "field solver" "--solver" -- "$bin" "${F[@]}" --solver multigrid2
expect_bad "field best without val" "--best needs --val" -- "$bin" "${F[@]}" --best "$tmp/b.safetensors"
expect_bad "field resume without out" "--resume needs --out" -- "$bin" train --model field --data "$good" --resume
expect_bad "field tower flag" "--layers" -- "$bin" "${F[@]}" --layers 64:0.1
if "$bin" "${F[@]:0:11}" --out "$tmp/f.safetensors" --epochs 2 --val 10 --best "$tmp/fb.safetensors" --keep-epochs --json > "$tmp/f.json"; then
  grep -q '"model": "field"' "$tmp/f.json" && grep -q '"test_unconverged_fraction"' "$tmp/f.json" ||
    { echo "FAIL [train --model field --json]"; fail=1; }
  [ -f "$tmp/fb.safetensors" ] && [ -f "$tmp/f.safetensors.epoch1" ] && [ -f "$tmp/f.safetensors.epoch2" ] ||
    { echo "FAIL [field --best/--keep-epochs files]"; fail=1; }
  "$bin" eval --model "$tmp/f.safetensors" --data "$good" --json | grep -q '"unconverged_fraction"' || { echo "FAIL [eval field]"; fail=1; }
  "$bin" info --json "$tmp/f.safetensors" | grep -q '"unique_fixed_point": true' || { echo "FAIL [info field]"; fail=1; }
  # a run stopped after epoch 1 and resumed ends with the same file, byte for byte, as an uninterrupted one
  R=(train --model field --data "$good" --channels 4 --train-limit 40 --test-limit 10 --seed 5 --quiet --json)
  "$bin" "${R[@]}" --epochs 3 --out "$tmp/r_full.safetensors" > /dev/null &&
    "$bin" "${R[@]}" --epochs 1 --out "$tmp/r_part.safetensors" > /dev/null &&
    "$bin" "${R[@]}" --epochs 3 --out "$tmp/r_part.safetensors" --resume > /dev/null &&
    cmp -s "$tmp/r_full.safetensors" "$tmp/r_part.safetensors" ||
    { echo "FAIL [field --resume: not the same bits as an uninterrupted run]"; fail=1; }
  # --epochs 0 writes the initialised model; resumed from it, the same bits again
  "$bin" "${R[@]}" --epochs 0 --out "$tmp/r_zero.safetensors" > /dev/null &&
    "$bin" info --json "$tmp/r_zero.safetensors" | grep -q '"epochs": 0' &&
    "$bin" "${R[@]}" --epochs 3 --out "$tmp/r_zero.safetensors" --resume > /dev/null &&
    cmp -s "$tmp/r_full.safetensors" "$tmp/r_zero.safetensors" ||
    { echo "FAIL [field --epochs 0, then --resume: not the same bits as an uninterrupted run]"; fail=1; }
  expect_bad "field eval tol" "--tol" -- "$bin" eval --model "$tmp/f.safetensors" --data "$good" --tol 0
  "$bin" eval --model "$tmp/f.safetensors" --data "$good" --test-limit 4 --solvers 2 --plot "$tmp/fp" --json > "$tmp/fs.json" &&
    grep -q '"multigrid"' "$tmp/fs.json" && [ -s "$tmp/fp-evolution.png" ] && [ -s "$tmp/fp-solvers.png" ] ||
    { echo "FAIL [eval field --solvers --plot]"; fail=1; }
  expect_bad "field plot dir missing" "--plot" -- "$bin" eval --model "$tmp/f.safetensors" --data "$good" --plot "$tmp/nodir/p"
  expect_bad "field multigrid levels" "--mg-levels 4: a 20 x 20 image halves into only 3" -- "$bin" "${F[@]}" --solver multigrid --mg-levels 4
  expect_bad "field resume other model" "different model" -- "$bin" "${F[@]:0:11}" --out "$tmp/f.safetensors" --resume --gain 0.5 --epochs 3
  python3 "$(dirname "$0")/st_edit.py" "$tmp/f.safetensors" "$tmp/fbad.safetensors" act=tanh
  expect_bad "field checkpoint act" "act" -- "$bin" info "$tmp/fbad.safetensors"
  python3 "$(dirname "$0")/st_edit.py" "$tmp/f.safetensors" "$tmp/fbig.safetensors" channels=200
  expect_bad "field checkpoint channels" "fbig.safetensors: tensor 'kernel'" -- "$bin" info "$tmp/fbig.safetensors"
  head -c 3000 "$tmp/f.safetensors" > "$tmp/ftrunc.safetensors"
  expect_bad "field checkpoint truncated" "ftrunc.safetensors" -- "$bin" eval --model "$tmp/ftrunc.safetensors" --data "$good"
else
  echo "FAIL [train --model field]"; fail=1
fi
expect_bad "tpam k > n" "--k" -- "$bin" tpam --n 10 --k 11
expect_bad "tpam patterns" "--patterns" -- "$bin" tpam --n 50 --k 5 --patterns 5,x
expect_bad "tpam patterns comma" "--patterns" -- "$bin" tpam --n 50 --k 5 --patterns 5,
expect_bad "tpam theta" "--theta" -- "$bin" tpam --theta 0
expect_bad "tpam iters" "--iters" -- "$bin" tpam --iters 0
tp=$("$bin" tpam --n 100 --k 20 --patterns 3,50 --cues 3 --json) && [ "$(grep -c '"overlap"' <<<"$tp")" -eq 2 ] ||
  { echo "FAIL [tpam --json]: $tp"; fail=1; }

if [ $fail -ne 0 ]; then echo "cli_bad_input: FAILED"; exit 1; fi
echo "cli_bad_input: all cases passed"
