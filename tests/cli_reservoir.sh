#!/usr/bin/env bash
# phasetower reservoir: a good run on a small generated series (train with
# --out, --predictions and --generate; info; eval; generate, which continues
# bit for bit across a save and load), then bad input: every case prints one
# line naming the flag or file, exits 2 and leaves no output file behind.
set -uo pipefail
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# two channels: u = sin(0.2 t), y = u(t + 1) * 0.5, with a header (so predictions files have one: pred_u)
awk 'BEGIN { print "u,y"; for (t = 0; t < 1500; t++) printf "%.12f,%.12f\n", sin(0.2 * t), 0.5 * sin(0.2 * (t + 1)) }' > "$tmp/s.csv"
R=(reservoir train --series "$tmp/s.csv" --units 50 --spectral-radius 0.9 --leak 0.5 --input-connectivity 0.5 --warmup 50 --quiet)

out=$("$bin" "${R[@]}" --fit 1000 --generate 100 --nrmse-steps 50 --out "$tmp/m.safetensors" \
      --predictions "$tmp/p.csv" --gen-predictions "$tmp/g.csv" --json)
if [ $? -ne 0 ]; then echo "FAIL [train]: $out"; fail=1; fi
for key in '"nrmse_range"' '"nrmse_std"' '"valid_steps"' '"closed_loop"' '"fit_s"' '"run_s"'; do
  grep -q "$key" <<<"$out" || { echo "FAIL [train --json]: lacks $key: $out"; fail=1; }
done
# the one-step test NRMSE is small: a reservoir that learned nothing scores ~1
python3 - "$out" <<'EOF' || fail=1
import json, sys
r = json.loads(sys.argv[1])
ok = r["test"]["nrmse_std"] < 0.01 and r["closed_loop"]["valid_steps"] >= 50
print(("ok" if ok else "FAIL") + " [train scores]: test NRMSE %g, closed loop valid %d" % (r["test"]["nrmse_std"], r["closed_loop"]["valid_steps"]))
sys.exit(0 if ok else 1)
EOF
[ "$(wc -l < "$tmp/p.csv")" -eq 500 ] && [ "$(wc -l < "$tmp/g.csv")" -eq 101 ] || { echo "FAIL [predictions files]"; fail=1; }
"$bin" info "$tmp/m.safetensors" | grep -q "echo-state network, 50 units" || { echo "FAIL [info]"; fail=1; }
ev=$("$bin" reservoir eval --model "$tmp/m.safetensors" --series "$tmp/s.csv" --from 1000 --json) &&
  grep -q '"nrmse_std"' <<<"$ev" || { echo "FAIL [eval]: $ev"; fail=1; }
# generate 30 at once, or 20 then (saved, loaded) 10 more: the same last value, bit for bit
a=$("$bin" reservoir generate --model "$tmp/m.safetensors" --steps 30 --start 0.5 --predictions "$tmp/a.csv") || fail=1
"$bin" reservoir generate --model "$tmp/m.safetensors" --steps 20 --start 0.5 --save "$tmp/m20.safetensors" --predictions "$tmp/b.csv" > /dev/null || fail=1
last=$(tail -n 1 "$tmp/b.csv")
"$bin" reservoir generate --model "$tmp/m20.safetensors" --steps 10 --start "$last" --predictions "$tmp/c.csv" > /dev/null || fail=1
if cmp -s <(tail -n 10 "$tmp/a.csv") "$tmp/c.csv"; then echo "ok [generate continues bit for bit]"; else echo "FAIL [generate continues]"; fail=1; fi
# the same run twice: the same bytes
"$bin" "${R[@]}" --fit 1000 --predictions "$tmp/p2.csv" > /dev/null && cmp -s "$tmp/p.csv" "$tmp/p2.csv" ||
  { echo "FAIL [determinism]"; fail=1; }

# the phasor reservoir (--unit phasor, 25 complex units = 50 features): it learns, info names it,
# generate continues bit for bit across a save and load, the same run twice gives the same bytes
P=(reservoir train --series "$tmp/s.csv" --unit phasor --units 25 --spectral-radius 0.9 --leak 0.5 --input-connectivity 0.5 --warmup 50 --quiet)
out=$("$bin" "${P[@]}" --fit 1000 --out "$tmp/ph.safetensors" --predictions "$tmp/pp.csv" --json) || { echo "FAIL [phasor train]: $out"; fail=1; }
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); sys.exit(0 if r["unit"] == "phasor" and r["features"] == 50 and r["test"]["nrmse_std"] < 0.01 else 1)' "$out" ||
  { echo "FAIL [phasor scores]: $out"; fail=1; }
"$bin" reservoir info "$tmp/ph.safetensors" | grep -q "phasor reservoir" || { echo "FAIL [phasor info]"; fail=1; }
"$bin" reservoir generate --model "$tmp/ph.safetensors" --steps 30 --start 0.5 --predictions "$tmp/pa.csv" > /dev/null || fail=1
"$bin" reservoir generate --model "$tmp/ph.safetensors" --steps 20 --start 0.5 --save "$tmp/ph20.safetensors" --predictions "$tmp/pb.csv" > /dev/null || fail=1
"$bin" reservoir generate --model "$tmp/ph20.safetensors" --steps 10 --start "$(tail -n 1 "$tmp/pb.csv")" --predictions "$tmp/pc.csv" > /dev/null || fail=1
if cmp -s <(tail -n 10 "$tmp/pa.csv") "$tmp/pc.csv"; then echo "ok [phasor generate continues bit for bit]"; else echo "FAIL [phasor generate continues]"; fail=1; fi
"$bin" "${P[@]}" --fit 1000 --predictions "$tmp/pp2.csv" > /dev/null && cmp -s "$tmp/pp.csv" "$tmp/pp2.csv" ||
  { echo "FAIL [phasor determinism]"; fail=1; }

expect_bad() {
  local name=$1 pat=$2
  shift 3
  rm -f "$tmp/out.safetensors"
  "$@" > "$tmp/stdout" 2> "$tmp/stderr"
  local rc=$?
  local lines
  lines=$(wc -l < "$tmp/stderr")
  if [ $rc -ne 2 ]; then echo "FAIL [$name]: exit $rc, expected 2"; cat "$tmp/stderr"; fail=1; return; fi
  if [ "$lines" -ne 1 ]; then echo "FAIL [$name]: $lines lines on stderr, expected 1"; cat "$tmp/stderr"; fail=1; return; fi
  if ! grep -q -- "$pat" "$tmp/stderr"; then echo "FAIL [$name]: message lacks '$pat': $(cat "$tmp/stderr")"; fail=1; return; fi
  if [ -n "$(find "$tmp" -maxdepth 1 \( -name "out.safetensors*" -o -name ".out.safetensors.*" \))" ]; then echo "FAIL [$name]: output file left behind"; fail=1; return; fi
  echo "ok [$name]: $(cat "$tmp/stderr")"
}

printf '1,2\n3,4\n5\n' > "$tmp/ragged.csv"
printf '1\n2\nnan\n4\n' > "$tmp/nan.csv"
printf '1\n2\nabc\n' > "$tmp/text.csv"
: > "$tmp/empty.csv"
head -n 40 "$tmp/s.csv" > "$tmp/short.csv"
B=(reservoir train --out "$tmp/out.safetensors" --quiet)
expect_bad "ragged CSV" "ragged.csv: line 3: 1 columns" -- "$bin" "${B[@]}" --series "$tmp/ragged.csv"
expect_bad "NaN" "nan.csv: line 3, column 1: 'nan' is not finite" -- "$bin" "${B[@]}" --series "$tmp/nan.csv"
expect_bad "not a number" "text.csv: line 3, column 1" -- "$bin" "${B[@]}" --series "$tmp/text.csv"
expect_bad "empty file" "empty.csv: empty file" -- "$bin" "${B[@]}" --series "$tmp/empty.csv"
expect_bad "missing file" "nothere.csv" -- "$bin" "${B[@]}" --series "$tmp/nothere.csv"
expect_bad "shorter than warm-up" "not more than --warmup 100" -- "$bin" "${B[@]}" --series "$tmp/short.csv"
expect_bad "fit beyond the series" "--fit 5000" -- "$bin" "${B[@]}" --series "$tmp/s.csv" --fit 5000
expect_bad "spectral radius 0" "--spectral-radius" -- "$bin" "${B[@]}" --series "$tmp/s.csv" --spectral-radius 0
expect_bad "spectral radius < 0" "--spectral-radius" -- "$bin" "${B[@]}" --series "$tmp/s.csv" --spectral-radius -1
expect_bad "zero units" "--units" -- "$bin" "${B[@]}" --series "$tmp/s.csv" --units 0
expect_bad "leak > 1" "--leak" -- "$bin" "${B[@]}" --series "$tmp/s.csv" --leak 1.5
expect_bad "connectivity 0" "--connectivity" -- "$bin" "${B[@]}" --series "$tmp/s.csv" --connectivity 0
expect_bad "ridge < 0" "--ridge" -- "$bin" "${B[@]}" --series "$tmp/s.csv" --ridge -1
expect_bad "unit" "--unit 'sine'" -- "$bin" "${B[@]}" --series "$tmp/s.csv" --unit sine
expect_bad "phasor: zero units" "--units" -- "$bin" "${B[@]}" --series "$tmp/s.csv" --unit phasor --units 0
expect_bad "phasor: too many units" "--units" -- "$bin" "${B[@]}" --series "$tmp/s.csv" --unit phasor --units 2001
expect_bad "phasor: spectral radius 0" "--spectral-radius" -- "$bin" "${B[@]}" --series "$tmp/s.csv" --unit phasor --spectral-radius 0
expect_bad "phasor: leak 0" "--leak" -- "$bin" "${B[@]}" --series "$tmp/s.csv" --unit phasor --leak 0
expect_bad "readout" "--readout" -- "$bin" "${B[@]}" --series "$tmp/s.csv" --readout lasso
expect_bad "unknown column" "--input z" -- "$bin" "${B[@]}" --series "$tmp/s.csv" --input z
expect_bad "generate with other targets" "--generate needs" -- "$bin" "${B[@]}" --series "$tmp/s.csv" --target y --generate 10
expect_bad "no series" "--series FILE is required" -- "$bin" "${B[@]}"
expect_bad "no subcommand" "a subcommand is needed" -- "$bin" reservoir
expect_bad "eval of a missing model" "nothere.safetensors" -- "$bin" reservoir eval --model "$tmp/nothere.safetensors" --series "$tmp/s.csv"
expect_bad "generate: start width" "--start" -- "$bin" reservoir generate --model "$tmp/m.safetensors" --steps 5 --start 1,2
expect_bad "esn eval through the family table" "reservoir --help" -- "$bin" eval --model "$tmp/m.safetensors"
"$bin" reservoir --help | grep -q "echo-state network" || { echo "FAIL [--help]"; fail=1; }
"$bin" reservoir --help | grep -q -- "--unit phasor" || { echo "FAIL [--help: phasor]"; fail=1; }
"$bin" reservoir train --help | grep -q -- "--spectral-radius" || { echo "FAIL [train --help]"; fail=1; }

if [ $fail -ne 0 ]; then echo "cli_reservoir: FAILED"; exit 1; fi
echo "cli_reservoir: all cases passed"
