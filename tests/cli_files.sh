#!/usr/bin/env bash
# How the CLI writes its files (docs/checkpoint-format.md, "Writing"), on a
# tiny generated data set:
# - two train runs saving to the same --out at once both exit 0, and the file
#   left is one of the two models, whole (each compared byte for byte with the
#   same run made alone);
# - a symlink planted at <out>.tmp or at the output itself is never followed
#   (train, eval --predictions, corrupt, export): the victim keeps its bytes;
# - an existing read-only output file is refused with exit 2 and one line
#   naming it and --force, before any work (train of both families, compose,
#   eval --predictions, export, corrupt), and replaced with --force;
# - corrupt and export failing (bad input, or writes cut by a file size limit)
#   into a directory that did not exist leave no directory behind;
# - a full disk (a small tmpfs, where one can be mounted): train, compose,
#   eval --predictions, corrupt and export exit 2 and leave nothing on it;
# - no temporary file is left anywhere.
set -uo pipefail
bin=$1
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp"; rm -rf "$tmp"' EXIT
fail=0
. "$(dirname "$0")/idx_gen.sh"
d=$tmp/d
mkset "$d" 200 50
w=$tmp/w # where the outputs go
mkdir "$w"

bad() { echo "FAIL [$1]: $2"; fail=1; }
ok() { echo "ok [$1]"; }
T=(train --data "$d" --layers 48:0.1 --quiet)

"$bin" "${T[@]}" --seed 1 --out "$tmp/ref1.safetensors" > /dev/null &&
  "$bin" "${T[@]}" --seed 2 --out "$tmp/ref2.safetensors" > /dev/null || { echo "FAIL: training the references"; exit 1; }
cmp -s "$tmp/ref1.safetensors" "$tmp/ref2.safetensors" && { echo "FAIL: seeds 1 and 2 give the same model"; exit 1; }

# refused NAME FILE -- command...: exit 2, one line on stderr naming FILE and --force, FILE unchanged
refused() {
  local name=$1 file=$2
  shift 3
  local before
  before=$(cksum < "$file")
  "$@" > "$tmp/stdout" 2> "$tmp/stderr"
  local rc=$?
  if [ $rc -ne 2 ]; then bad "$name" "exit $rc, expected 2: $(cat "$tmp/stderr")"; return; fi
  if [ "$(wc -l < "$tmp/stderr")" -ne 1 ]; then bad "$name" "not one line: $(cat "$tmp/stderr")"; return; fi
  if ! grep -qF -- "$file" "$tmp/stderr" || ! grep -q -- "--force" "$tmp/stderr"; then
    bad "$name" "message lacks the file or --force: $(cat "$tmp/stderr")"; return
  fi
  [ "$(cksum < "$file")" = "$before" ] || { bad "$name" "$file changed"; return; }
  ok "$name: $(cat "$tmp/stderr")"
}

# replaced NAME FILE -- command...: exit 0 and FILE is a new file (another inode), writable
replaced() {
  local name=$1 file=$2
  shift 3
  local before
  before=$(stat -c %i "$file")
  if ! "$@" > /dev/null 2> "$tmp/stderr"; then bad "$name" "failed: $(cat "$tmp/stderr")"; return; fi
  [ "$(stat -c %i "$file")" != "$before" ] && [ -w "$file" ] && [ ! -L "$file" ] || { bad "$name" "$file not replaced"; return; }
  ok "$name"
}

# left_nothing NAME DIR -- command...: fails (any code), and DIR does not exist
left_nothing() {
  local name=$1 dir=$2
  shift 3
  rm -rf "$dir"
  if "$@" > /dev/null 2> "$tmp/stderr"; then bad "$name" "succeeded"; return; fi
  if [ -e "$dir" ]; then bad "$name" "left $dir behind: $(ls -A "$dir")"; return; fi
  ok "$name: $(cat "$tmp/stderr")"
}

# limited CMD...: CMD with every file write cut to 0 bytes (EFBIG, SIGXFSZ
# ignored); its stderr goes through a pipe, which the limit does not cut
limited() { (trap '' XFSZ; ulimit -f 0; exec "$@") 2>&1 | cat >&2; }

# ---- concurrent saves ----
out=$w/c.safetensors
for round in 1 2 3 4 5; do
  rm -f "$out"
  "$bin" "${T[@]}" --seed 1 --out "$out" > "$tmp/c1.txt" 2>&1 &
  p1=$!
  "$bin" "${T[@]}" --seed 2 --out "$out" > "$tmp/c2.txt" 2>&1 &
  p2=$!
  wait $p1; r1=$?
  wait $p2; r2=$?
  if [ $r1 -ne 0 ] || [ $r2 -ne 0 ]; then bad "concurrent saves $round" "exit $r1 and $r2: $(cat "$tmp/c1.txt" "$tmp/c2.txt")"; continue; fi
  if cmp -s "$out" "$tmp/ref1.safetensors"; then won=1
  elif cmp -s "$out" "$tmp/ref2.safetensors"; then won=2
  else bad "concurrent saves $round" "the file is neither model"; continue; fi
  "$bin" info "$out" > /dev/null || bad "concurrent saves $round" "the file does not load"
  ok "concurrent saves $round: both exit 0, the file is seed $won's model"
done

# ---- planted symlinks ----
victim=$tmp/victim.txt
echo "victim" > "$victim"
plant() { rm -f "$1" "$1.tmp"; ln -s "$victim" "$1.tmp"; ln -s "$victim" "$1"; }
untouched() { # NAME FILE...
  local name=$1 f
  shift
  [ "$(cat "$victim")" = victim ] || { bad "$name" "the victim was written"; echo victim > "$victim"; return; }
  for f in "$@"; do [ -f "$f" ] && [ ! -L "$f" ] || { bad "$name" "$f is not a new regular file"; return; }; done
  ok "$name"
}
s=$w/s.safetensors
plant "$s"
"$bin" "${T[@]}" --seed 1 --out "$s" > /dev/null && cmp -s "$s" "$tmp/ref1.safetensors" || bad "symlink: train" "save failed or differs"
untouched "symlink at <out>.tmp and <out>: train" "$s"
plant "$w/p.txt"
"$bin" eval --model "$s" --data "$d" --predictions "$w/p.txt" > /dev/null || bad "symlink: eval" "failed"
untouched "symlink: eval --predictions" "$w/p.txt"
mkdir -p "$w/cor" "$w/exp"
for f in t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do plant "$w/cor/$f"; done
"$bin" corrupt --data "$d" --corrupt noise:0.3 --out "$w/cor" > /dev/null || bad "symlink: corrupt" "failed"
untouched "symlink: corrupt" "$w/cor/t10k-images-idx3-ubyte.gz" "$w/cor/t10k-labels-idx1-ubyte.gz"
for f in phasetower_model.h phasetower_model.c; do plant "$w/exp/$f"; done
"$bin" export --model "$s" --out "$w/exp" > /dev/null || bad "symlink: export" "failed"
untouched "symlink: export" "$w/exp/phasetower_model.h" "$w/exp/phasetower_model.c"
find "$w" -name '*.tmp' -delete

# ---- read-only outputs ----
ro=$w/ro.safetensors
cp "$tmp/ref1.safetensors" "$ro" && chmod 444 "$ro"
refused "read-only --out: train" "$ro" -- "$bin" "${T[@]}" --seed 2 --out "$ro"
replaced "read-only --out: train --force" "$ro" -- "$bin" "${T[@]}" --seed 2 --out "$ro" --force
cmp -s "$ro" "$tmp/ref2.safetensors" || bad "train --force" "the file is not the new model"
chmod 444 "$ro"
refused "read-only --out: train --model phasor" "$ro" -- "$bin" train --model phasor --data "$d" --hidden 8 --epochs 1 --quiet --out "$ro"
replaced "read-only --out: train --model phasor --force" "$ro" -- "$bin" train --model phasor --data "$d" --hidden 8 --epochs 1 --quiet --out "$ro" --force
mem=$w/mem.safetensors
"$bin" "${T[@]}" --seed 1 --memory all --memory-size 40 --memory-dim 8 --out "$mem" > /dev/null || bad "memory model" "train failed"
chmod 444 "$mem"
refused "read-only --model: compose" "$mem" -- "$bin" compose --model "$mem" --a 1 --b 3 --name 1+3 --tau 1
replaced "read-only --model: compose --force" "$mem" -- "$bin" compose --model "$mem" --a 1 --b 3 --name 1+3 --tau 1 --force
"$bin" compose --model "$mem" --a 1 --b 4 --name 1+4 --tau 1 --out "$w/mem2.safetensors" > /dev/null && chmod 444 "$w/mem2.safetensors" &&
  refused "read-only --out: compose" "$w/mem2.safetensors" -- "$bin" compose --model "$mem" --a 2 --b 4 --name 2+4 --tau 1 --out "$w/mem2.safetensors"
chmod 444 "$w/p.txt"
refused "read-only --predictions: eval" "$w/p.txt" -- "$bin" eval --model "$s" --data "$d" --quantize 8 --predictions "$w/p.txt"
replaced "read-only --predictions: eval --force" "$w/p.txt" -- "$bin" eval --model "$s" --data "$d" --quantize 8 --predictions "$w/p.txt" --force
chmod 444 "$w/exp/phasetower_model.c"
refused "read-only file in --out: export" "$w/exp/phasetower_model.c" -- "$bin" export --model "$s" --out "$w/exp" --bits 16
replaced "read-only file in --out: export --force" "$w/exp/phasetower_model.c" -- "$bin" export --model "$s" --out "$w/exp" --bits 16 --force
chmod 444 "$w/cor/t10k-labels-idx1-ubyte.gz"
refused "read-only file in --out: corrupt" "$w/cor/t10k-labels-idx1-ubyte.gz" -- "$bin" corrupt --data "$d" --corrupt noise:0.3 --out "$w/cor"
chmod 444 "$w/cor/t10k-images-idx3-ubyte.gz"
"$bin" corrupt --data "$d" --corrupt rotate:10-20 --out "$w/cor" --force > /dev/null && [ -w "$w/cor/t10k-labels-idx1-ubyte.gz" ] &&
  [ -w "$w/cor/t10k-images-idx3-ubyte.gz" ] && ok "read-only files in --out: corrupt --force" || bad "corrupt --force" "not replaced"

# ---- failures into a fresh directory ----
fresh=$w/fresh
left_nothing "corrupt: missing data" "$fresh" -- "$bin" corrupt --data "$tmp/none" --corrupt noise:0.3 --out "$fresh"
left_nothing "corrupt: writes fail" "$fresh" -- limited "$bin" corrupt --data "$d" --corrupt noise:0.3 --out "$fresh"
left_nothing "export: missing model" "$fresh" -- "$bin" export --model "$tmp/none.safetensors" --out "$fresh"
"$bin" train --data "$d" --layers 48:0.1,32:0.1 --quiet --out "$w/two.safetensors" > /dev/null || bad "two blocks" "train failed"
left_nothing "export: two blocks" "$fresh" -- "$bin" export --model "$w/two.safetensors" --out "$fresh"
left_nothing "export: writes fail" "$fresh" -- limited "$bin" export --model "$s" --out "$fresh"
"$bin" corrupt --data "$d" --corrupt noise:0.3 --out "$fresh" > /dev/null && [ -f "$fresh/t10k-labels-idx1-ubyte.gz" ] ||
  bad "corrupt into a fresh directory" "failed"

# ---- a full disk: a KB-kilobyte tmpfs in a private mount namespace (unshare -rm,
# so no root needed); skipped with a message where none can be mounted ----
# on_full_disk KB DIR -- command...: exit status of the command; DIR's entries after it in $tmp/left
# (KB 0: a 64 kB tmpfs filled to the last byte by a file 'fill' before the command)
on_full_disk() {
  local kb=$1 dir=$2
  shift 3
  mkdir -p "$dir"
  unshare -rm sh -c 'kb=$1 d=$2 l=$3; shift 3
    mount -t tmpfs -o size=$((kb ? kb : 64))k tmpfs "$d" 2> /dev/null || exit 99
    [ "$kb" = 0 ] && { cat /dev/zero > "$d/fill"; } 2> /dev/null
    "$@"; rc=$?; ls -A "$d" | grep -vx fill > "$l"; exit $rc' sh "$kb" "$dir" "$tmp/left" "$@" > /dev/null 2> "$tmp/stderr"
}
# full NAME KB PATTERN -- command... (writing under $w/full): exit 2, one line matching PATTERN, nothing left
full() {
  local name=$1 kb=$2 pat=$3
  shift 4
  on_full_disk "$kb" "$w/full" -- "$@"
  local rc=$?
  if [ $rc -eq 99 ]; then echo "skip [$name]: no tmpfs can be mounted here (unshare -rm; mount -t tmpfs)"; return; fi
  if [ $rc -ne 2 ]; then bad "$name" "exit $rc, expected 2: $(cat "$tmp/stderr")"; return; fi
  if [ "$(wc -l < "$tmp/stderr")" -ne 1 ] || ! grep -q -- "$pat" "$tmp/stderr"; then
    bad "$name" "expected one line matching '$pat': $(cat "$tmp/stderr")"; return
  fi
  [ -s "$tmp/left" ] && { bad "$name" "left on the full disk: $(tr '\n' ' ' < "$tmp/left")"; return; }
  ok "$name: $(cat "$tmp/stderr")"
}
full "disk full: train" 16 "No space left" -- "$bin" "${T[@]}" --out "$w/full/m.safetensors"
full "disk full: compose" 16 "No space left" -- "$bin" compose --model "$mem" --a 1 --b 4 --name 1+4 --tau 1 --out "$w/full/m.safetensors"
full "disk full: eval --predictions" 0 "p.txt: write failed" -- "$bin" eval --model "$s" --data "$d" --predictions "$w/full/p.txt"
full "disk full: corrupt" 8 "--out\|t10k" -- "$bin" corrupt --data "$d" --corrupt noise:0.3 --out "$w/full/c"
full "disk full: export" 8 "export" -- "$bin" export --model "$s" --out "$w/full/x"
rmdir "$w/full" 2> /dev/null

# ---- nothing temporary left ----
left=$(find "$tmp" -name '.*' -o -name '*.tmp')
[ -z "$left" ] && ok "no temporary file left" || bad "temporary files left" "$left"

exit $fail
