#!/usr/bin/env bash
# phasetower atlas on the command line (docs/atlas.md), on small generated
# text (ASCII and UTF-8):
# - every bad input (flags, numbers, texts that are empty, missing or not
#   UTF-8, libraries, models that are corrupt, truncated, of another kind or
#   another master, unwritable outputs) exits 2 with one line on stderr naming
#   the problem, and leaves no output file (nor a temporary one) behind;
# - train -> decode reconstructs a memorised text (accuracy >= 95%, decoded
#   text of the same length, valid UTF-8), info describes it, the same seed
#   gives the same file byte for byte;
# - a master on a library of two books, a key for a third, decode with it.
set -uo pipefail
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# a generated book of N lines (ASCII, or with é and → when $2 is utf8)
gen() {
  local n=$1 kind=${2:-ascii} i
  for ((i = 0; i < n; i++)); do
    if [ "$kind" = utf8 ]; then echo "café $((i % 7)) → the fox $((i * 37 % 11)) sees $((i % 3)) dogs"
    else echo "and the king $((i % 5)) said unto them $((i * 13 % 9)), go ye"; fi
  done
}
gen 30 > "$tmp/a.txt"
gen 25 utf8 > "$tmp/u.txt"
: > "$tmp/empty.txt"
printf 'abc\xff\xfedef\n' > "$tmp/latin.txt"
printf 'abc\xe2\x82' > "$tmp/cut.txt"
mkdir -p "$tmp/lib" "$tmp/emptylib" "$tmp/badlib"
gen 12 > "$tmp/lib/one.txt"
gen 9 utf8 > "$tmp/lib/two.txt"
cp "$tmp/lib/one.txt" "$tmp/badlib/one.txt"
cp "$tmp/latin.txt" "$tmp/badlib/two.txt"
gen 7 > "$tmp/new.txt"
echo "zzz QQQ ###" > "$tmp/alien.txt"

out=$tmp/out.safetensors
# expect_bad NAME PATTERN -- args...: exit 2, one line on stderr matching PATTERN, no $out and no temporary file
expect_bad() {
  local name=$1 pat=$2
  shift 3
  rm -f "$out"
  "$@" > "$tmp/stdout" 2> "$tmp/stderr"
  local rc=$?
  sed -i '/^==[0-9]*==WARNING: AddressSanitizer failed to allocate/d' "$tmp/stderr"
  local lines
  lines=$(wc -l < "$tmp/stderr")
  if [ $rc -ne 2 ]; then echo "FAIL [$name]: exit $rc, expected 2"; cat "$tmp/stderr"; fail=1; return; fi
  if [ "$lines" -ne 1 ]; then echo "FAIL [$name]: $lines lines on stderr, expected 1"; cat "$tmp/stderr"; fail=1; return; fi
  if ! grep -q -- "$pat" "$tmp/stderr"; then echo "FAIL [$name]: message lacks '$pat': $(cat "$tmp/stderr")"; fail=1; return; fi
  if [ -e "$out" ] || [ -n "$(find "$tmp" -name '.*.??????' -print -quit)" ]; then echo "FAIL [$name]: output file left behind"; fail=1; return; fi
  echo "ok [$name]: $(cat "$tmp/stderr")"
}

S=(--dim 8 --levels 8 --table-log2 10 --octaves 6 --batch 32 --quiet) # a small, fast atlas
T=(atlas train --text "$tmp/a.txt" --out "$out" "${S[@]}")
expect_bad "no subcommand" "subcommand" -- "$bin" atlas
expect_bad "unknown subcommand" "frobnicate" -- "$bin" atlas frobnicate
expect_bad "unknown flag" "--bogus" -- "$bin" "${T[@]}" --bogus 3
expect_bad "flag of another subcommand" "--key" -- "$bin" "${T[@]}" --key x
expect_bad "no text" "--text FILE or --library" -- "$bin" atlas train --out "$out"
expect_bad "text and library" "--text FILE or --library" -- "$bin" "${T[@]}" --library "$tmp/lib"
expect_bad "no out" "--out is required" -- "$bin" atlas train --text "$tmp/a.txt"
expect_bad "empty text" "empty" -- "$bin" atlas train --text "$tmp/empty.txt" --out "$out"
expect_bad "not UTF-8" "not UTF-8: byte 3" -- "$bin" atlas train --text "$tmp/latin.txt" --out "$out"
expect_bad "cut UTF-8" "cut short" -- "$bin" atlas train --text "$tmp/cut.txt" --out "$out"
expect_bad "missing text" "cannot open" -- "$bin" atlas train --text "$tmp/nope.txt" --out "$out"
expect_bad "text is a directory" "not a regular file" -- "$bin" atlas train --text "$tmp/lib" --out "$out"
expect_bad "dim 0" "--dim" -- "$bin" "${T[@]}" --dim 0
expect_bad "dim garbage" "--dim" -- "$bin" "${T[@]}" --dim 8x
expect_bad "iters too many" "--iters" -- "$bin" "${T[@]}" --iters 65
expect_bad "rho 1" "--rho" -- "$bin" "${T[@]}" --rho 1
expect_bad "rho NaN" "--rho" -- "$bin" "${T[@]}" --rho nan
expect_bad "lr negative" "--lr" -- "$bin" "${T[@]}" --lr -0.1
expect_bad "lr-table 0" "--lr-table" -- "$bin" "${T[@]}" --lr-table 0
expect_bad "epochs 0" "--epochs" -- "$bin" "${T[@]}" --epochs 0
expect_bad "levels 33" "--levels" -- "$bin" "${T[@]}" --levels 33
expect_bad "table-log2 27" "--table-log2" -- "$bin" "${T[@]}" --table-log2 27
expect_bad "features 0" "--features" -- "$bin" "${T[@]}" --features 0
expect_bad "max-res below base-res" "--max-res" -- "$bin" "${T[@]}" --base-res 64 --max-res 32
expect_bad "seed negative" "--seed" -- "$bin" "${T[@]}" --seed -1
expect_bad "too large" "asked for by" -- "$bin" atlas train --text "$tmp/a.txt" --out "$out" --levels 32 --table-log2 26 --features 16 --max-res 1000000000 --base-res 1000000
expect_bad "out dir missing" "--out" -- "$bin" atlas train --text "$tmp/a.txt" --out "$tmp/nodir/x.safetensors"
expect_bad "out is a directory" "is a directory" -- "$bin" atlas train --text "$tmp/a.txt" --out "$tmp/lib"
expect_bad "library missing" "--library" -- "$bin" atlas train --library "$tmp/nolib" --out "$out"
expect_bad "library empty" "no book" -- "$bin" atlas train --library "$tmp/emptylib" --out "$out"
expect_bad "library not UTF-8" "two.txt: not UTF-8" -- "$bin" atlas train --library "$tmp/badlib" --out "$out"
expect_bad "library without keys" "--key-size 0 with 2 books" -- "$bin" atlas train --library "$tmp/lib" --key-size 0 --out "$out"

# a good run: train, info, decode (with the original), determinism
m=$tmp/a.atlas
if "$bin" atlas train --text "$tmp/a.txt" --out "$m" "${S[@]}" --epochs 40 --json > "$tmp/train.json"; then
  grep -q '"model": "atlas"' "$tmp/train.json" && grep -q '"bits_per_symbol"' "$tmp/train.json" || { echo "FAIL [train --json]"; fail=1; }
  "$bin" atlas train --text "$tmp/a.txt" --out "$tmp/a2.atlas" "${S[@]}" --epochs 40 > /dev/null
  cmp -s "$m" "$tmp/a2.atlas" && echo "ok [same seed, same file]" || { echo "FAIL [same seed gives another file]"; fail=1; }
  "$bin" atlas info "$m" --json | grep -q '"dim": 8' && echo "ok [info]" || { echo "FAIL [info]"; fail=1; }
  "$bin" info "$m" | grep -q "atlas of 1 book" && echo "ok [phasetower info of an atlas]" || { echo "FAIL [info of an atlas]"; fail=1; }
  expect_bad "eval of an atlas" "a text atlas file" -- "$bin" eval --model "$m"
  if "$bin" atlas decode --model "$m" --text "$tmp/a.txt" --out "$tmp/a.dec" --json > "$tmp/dec.json"; then
    acc=$(sed -n 's/.*"accuracy": \([0-9.e-]*\).*/\1/p' "$tmp/dec.json")
    awk -v a="$acc" 'BEGIN { exit !(a >= 0.95) }' && echo "ok [decode: accuracy $acc]" || { echo "FAIL [decode accuracy $acc]"; fail=1; }
    [ "$(wc -c < "$tmp/a.dec")" -eq "$(wc -c < "$tmp/a.txt")" ] || { echo "FAIL [decoded length]"; fail=1; }
  else
    echo "FAIL [decode]"; fail=1
  fi
  # decode: bad input
  D=(atlas decode --model "$m")
  expect_bad "decode no model" "--model is required" -- "$bin" atlas decode
  expect_bad "decode missing model" "nope.atlas" -- "$bin" atlas decode --model "$tmp/nope.atlas"
  head -c 300 "$m" > "$tmp/trunc.atlas"
  expect_bad "decode truncated model" "trunc.atlas" -- "$bin" atlas decode --model "$tmp/trunc.atlas"
  echo "not a model" > "$tmp/junk.atlas"
  expect_bad "decode junk model" "junk.atlas" -- "$bin" atlas decode --model "$tmp/junk.atlas"
  sed 's/"dim":"8"/"dim":"9"/' "$m" > "$tmp/dim9.atlas"
  expect_bad "decode inconsistent model" "kernel.v" -- "$bin" atlas decode --model "$tmp/dim9.atlas"
  expect_bad "decode book out of range" "--book 1" -- "$bin" "${D[@]}" --book 1
  expect_bad "decode book and key" "exclude" -- "$bin" "${D[@]}" --book 0 --key "$m"
  expect_bad "decode text of another length" "symbols, the book in the atlas has" -- "$bin" "${D[@]}" --text "$tmp/new.txt"
  expect_bad "decode text not UTF-8" "not UTF-8" -- "$bin" "${D[@]}" --text "$tmp/latin.txt"
  expect_bad "decode out unwritable" "--out" -- "$bin" "${D[@]}" --out "$tmp/nodir/x.txt"
  expect_bad "key of a one-book atlas" "without keys" -- "$bin" atlas key --model "$m" --text "$tmp/new.txt" --out "$out"
else
  echo "FAIL [atlas train]"; fail=1
fi

# UTF-8: code points, not bytes
if "$bin" atlas train --text "$tmp/u.txt" --out "$tmp/u.atlas" "${S[@]}" --epochs 40 > /dev/null &&
   "$bin" atlas decode --model "$tmp/u.atlas" --out "$tmp/u.dec" > /dev/null; then
  python3 -c 'import sys; a = open(sys.argv[1], encoding="utf-8").read(); b = open(sys.argv[2], encoding="utf-8").read(); sys.exit(len(a) != len(b))' \
    "$tmp/u.txt" "$tmp/u.dec" && echo "ok [utf-8 round trip: as many code points]" || { echo "FAIL [utf-8 decode]"; fail=1; }
else
  echo "FAIL [utf-8 train/decode]"; fail=1
fi

# a library: master, a key for a new book, decode with it; bad keys
lm=$tmp/master.atlas
if "$bin" atlas train --library "$tmp/lib" --key-size 4 --out "$lm" "${S[@]}" --epochs 10 > "$tmp/lib.txt"; then
  grep -q "one.txt" "$tmp/lib.txt" && grep -q "two.txt" "$tmp/lib.txt" || { echo "FAIL [library report]"; fail=1; }
  if "$bin" atlas key --model "$lm" --text "$tmp/new.txt" --out "$tmp/new.key" --epochs 3 --quiet --json > "$tmp/key.json"; then
    grep -q '"key_size": 4' "$tmp/key.json" && grep -q '"unigram_accuracy"' "$tmp/key.json" || { echo "FAIL [key --json]"; fail=1; }
    "$bin" atlas decode --model "$lm" --key "$tmp/new.key" --text "$tmp/new.txt" --json | grep -q '"accuracy"' &&
      echo "ok [decode with a key]" || { echo "FAIL [decode --key]"; fail=1; }
    "$bin" atlas decode --model "$lm" --book 1 --text "$tmp/lib/two.txt" > /dev/null && echo "ok [decode book 1]" || { echo "FAIL [decode --book 1]"; fail=1; }
    "$bin" atlas train --library "$tmp/lib" --key-size 4 --seed 2 --out "$tmp/other.atlas" "${S[@]}" --epochs 1 > /dev/null
    expect_bad "key of another master" "not of this one" -- "$bin" atlas decode --model "$tmp/other.atlas" --key "$tmp/new.key"
    expect_bad "key file is a model" "not an atlas key" -- "$bin" atlas decode --model "$lm" --key "$lm"
    expect_bad "key file as a model" "holds a 'atlas_key' model" -- "$bin" atlas decode --model "$tmp/new.key"
    expect_bad "info of a key file" "a text atlas key file" -- "$bin" info "$tmp/new.key"
    head -c 200 "$tmp/new.key" > "$tmp/trunc.key"
    expect_bad "key file truncated" "trunc.key" -- "$bin" atlas decode --model "$lm" --key "$tmp/trunc.key"
  else
    echo "FAIL [atlas key]"; fail=1
  fi
  K=(atlas key --model "$lm" --text "$tmp/new.txt" --out "$out" --quiet)
  expect_bad "key size above the master's" "--key-size 5" -- "$bin" "${K[@]}" --key-size 5
  expect_bad "key symbol outside the alphabet" "U+007A" -- "$bin" atlas key --model "$lm" --text "$tmp/alien.txt" --out "$out"
  expect_bad "key lr NaN" "--lr" -- "$bin" "${K[@]}" --lr nan
  expect_bad "key epochs 0" "--epochs" -- "$bin" "${K[@]}" --epochs 0
  expect_bad "key empty text" "empty" -- "$bin" atlas key --model "$lm" --text "$tmp/empty.txt" --out "$out"
  expect_bad "key missing args" "required" -- "$bin" atlas key --model "$lm"
  expect_bad "key out unwritable" "--out" -- "$bin" atlas key --model "$lm" --text "$tmp/new.txt" --out "$tmp/nodir/k"
  "$bin" tpam --n 20 --k 4 --patterns 2 --cues 2 > /dev/null # (any other command still runs)
else
  echo "FAIL [atlas train --library]"; fail=1
fi
"$bin" atlas --help | grep -q "train" || { echo "FAIL [atlas --help]"; fail=1; }
"$bin" atlas train --help | grep -q -- "--library" || { echo "FAIL [atlas train --help]"; fail=1; }
[ -z "$(find "$tmp" -name '.*.??????' -print -quit)" ] || { echo "FAIL [a temporary file was left]"; fail=1; }
exit $fail
