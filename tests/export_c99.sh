#!/usr/bin/env bash
# phasetower export, end to end: train a small tower on generated data, export
# it as int8 and int16, compile each export with strict C99 flags and no libm
#   cc -std=c99 -pedantic -Wall -Wextra -Werror -fno-builtin (no -lm)
# check the object needs no symbol at all (no malloc, no libm, no libc) and has
# no writable data, then classify the test set with it and compare with the
# library's integer predictions (eval --quantize --predictions) line by line;
# on generated data also with the episodic memory and a composed concept
# (export --memory: tower, memory label and confidence, line by line); and a
# tower with a subspace (train --subspace: the factored kernel), int8 and int16.
# With a second argument DIR (MNIST-format data) the same runs on real data,
# and the int8 export must also be within 0.5 points of the float model.
# "No library call" is checked beyond the one compiler and flags above: each
# export with a memory, and the kernel alone (src/export/qkernel.inc, the
# model's sizes unknown to the compiler, as in the library), compiled by gcc
# and clang (those installed) at -O2 and -O3 (the kernel also -O1, -Os), with
# and without -fno-builtin, must need no symbol: GCC's loop distribution and
# clang's idiom recognition turn a loop that only zeroes an array into a call
# to memset (as ptq_recall's did). On generated data, a --model path that tries
# to end the banner's comment and define a function must change nothing but
# the banner's text.
set -euo pipefail
bin=$1
data=${2:-}
cc=${CC:-cc}
command -v "$cc" > /dev/null || { echo "skip: no C compiler"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -z "$data" ]; then
  . "$(dirname "$0")/idx_gen.sh"
  mkset "$tmp/d" 200 60
  data=$tmp/d
  "$bin" train --data "$data" --layers 48:0.1 --seed 3 --quiet --out "$tmp/m.safetensors" > /dev/null
  # with an episodic memory and a composed concept (its name goes into the export)
  "$bin" train --data "$data" --layers 48:0.1 --seed 3 --quiet --memory all --memory-size 40 --memory-dim 8 \
    --out "$tmp/mm.safetensors" > /dev/null
  "$bin" compose --model "$tmp/mm.safetensors" --a 1 --b 3 --name "1+3" --tau 1 > /dev/null
  # keys as long as the tower's output: the memory has no projection (ptq_recall's other path)
  "$bin" train --data "$data" --layers 48:0.1 --seed 3 --quiet --memory all --memory-size 40 --out "$tmp/mk.safetensors" > /dev/null
  "$bin" compose --model "$tmp/mk.safetensors" --a 1 --b 3 --name "1+3" --tau 1 > /dev/null
  "$bin" train --data "$data" --layers 48:0.1 --seed 3 --quiet --subspace 8 --out "$tmp/ms.safetensors" > /dev/null
else
  [ -f "$data/train-images-idx3-ubyte.gz" ] || { echo "skip: $data not installed"; exit 77; }
  "$bin" train --data "$data" --train-limit 6000 --layers 1024:0.015625 --seed 1 --quiet --out "$tmp/m.safetensors" > /dev/null
  "$bin" train --data "$data" --train-limit 6000 --layers 1024:0.015625 --seed 1 --quiet --subspace 64 \
    --out "$tmp/ms.safetensors" > /dev/null
fi
cat > "$tmp/driver.c" <<'C'
#include <stdio.h>
#include "phasetower_model.h"
int main(void) /* an IDX image file on stdin: one class per line */
{
    unsigned char hdr[16], px[PTM_N_IN];
    if (fread(hdr, 1, 16, stdin) != 16) return 1;
    while (fread(px, 1, PTM_N_IN, stdin) == PTM_N_IN) {
#ifdef PTM_HAS_MEMORY
        int tower = 0, confident = 0, m = ptm_recall(px, &tower, &confident);
        if (tower != ptm_predict(px) || (confident ? m : tower) != ptm_predict_combined(px)) return 3;
        printf("%d %d %d\n", tower, m, confident);
#else
        printf("%d\n", ptm_predict(px));
#endif
    }
#ifdef PTM_HAS_MEMORY
    if (ptm_label_name(PTM_N_CLASSES)[0] != '1' || ptm_label_name(-1)[0] != '?') return 4; /* "1+3" */
#endif
    return 0;
}
C
ccs= seen=
for c in "$cc" gcc clang; do # each compiler once (cc is often gcc)
  p=$(command -v "$c") || continue
  p=$(readlink -f "$p")
  case " $seen " in *" $p "*) ;; *) ccs="$ccs $c" seen="$seen $p" ;; esac
done
# no_calls WHAT FILE OPTS [CFLAGS...]: FILE compiled by each of $ccs at each of OPTS, with and
# without -fno-builtin, needs no symbol
no_calls() {
  local what=$1 file=$2 opts=$3 c o fb undef
  shift 3
  for c in $ccs; do
    for o in $opts; do
      for fb in "" -fno-builtin; do
        "$c" -std=c99 -pedantic -Wall -Wextra -Werror $fb $o "$@" -c "$file" -o "$tmp/nocall.o"
        undef=$(nm -u "$tmp/nocall.o")
        [ -z "$undef" ] || { echo "FAIL: $what compiled by $c $o $fb needs symbols: $undef"; exit 1; }
      done
    done
  done
  echo "$what: no symbol needed (${ccs# }; $opts; with and without -fno-builtin)"
}
qk=$(cd "$(dirname "$0")/../src/export" && pwd)
cat > "$tmp/kernel.c" <<'C'
#define PTQ_WITH_MEMORY
#include "qkernel.inc"
int k_predict(const ptq_model *m, const unsigned char *x, long long *logits);
int k_recall(const ptq_model *m, const ptq_memory *mem, const unsigned char *x, int *tower, int *confident);
int k_predict(const ptq_model *m, const unsigned char *x, long long *logits) { return ptq_predict(m, x, logits); }
int k_recall(const ptq_model *m, const ptq_memory *mem, const unsigned char *x, int *tower, int *confident)
{
    return ptq_recall(m, mem, x, tower, confident);
}
C
no_calls "the kernel alone" "$tmp/kernel.c" "-O1 -O2 -O3 -Os" -I"$qk"
cat > "$tmp/kernel_plain.c" <<'C'
#include "qkernel.inc"
int k_predict(const ptq_model *m, const unsigned char *x, long long *logits);
int k_predict(const ptq_model *m, const unsigned char *x, long long *logits) { return ptq_predict(m, x, logits); }
C
no_calls "the kernel alone, without the memory" "$tmp/kernel_plain.c" "-O1 -O2 -O3 -Os" -I"$qk"
cases="8 16 8sub 16sub"
[ -f "$tmp/mm.safetensors" ] && cases="$cases 8mem 16memk"
for bits in $cases; do
  model=$tmp/m.safetensors memflag=
  [ "$bits" = 8mem ] && model=$tmp/mm.safetensors memflag=--memory
  [ "$bits" = 16memk ] && model=$tmp/mk.safetensors memflag=--memory
  case $bits in *sub) model=$tmp/ms.safetensors ;; esac
  nb=${bits%memk}; nb=${nb%mem}; nb=${nb%sub}
  ev=$("$bin" eval --model "$model" --data "$data" --quantize $nb --predictions "$tmp/lib$bits.txt" --json)
  "$bin" export --model "$model" --out "$tmp/x$bits" --bits $nb $memflag > /dev/null
  grep -q "Generated by \`phasetower export\`" "$tmp/x$bits/phasetower_model.c"
  "$cc" -std=c99 -pedantic -Wall -Wextra -Werror -fno-builtin -O2 -c "$tmp/x$bits/phasetower_model.c" -o "$tmp/m$bits.o"
  undef=$(nm -u "$tmp/m$bits.o")
  [ -z "$undef" ] || { echo "FAIL: int$bits export needs symbols: $undef"; exit 1; }
  if nm "$tmp/m$bits.o" | grep -q ' [BbDd] '; then echo "FAIL: int$bits export has writable data"; nm "$tmp/m$bits.o"; exit 1; fi
  [ -z "$memflag" ] || no_calls "the int$bits export with its memory" "$tmp/x$bits/phasetower_model.c" "-O2 -O3"
  "$cc" -std=c99 -Wall -Wextra -Werror -I"$tmp/x$bits" "$tmp/driver.c" "$tmp/m$bits.o" -o "$tmp/run$bits"
  gzip -dc "$data/t10k-images-idx3-ubyte.gz" | "$tmp/run$bits" > "$tmp/exp$bits.txt"
  cmp "$tmp/lib$bits.txt" "$tmp/exp$bits.txt" || { echo "FAIL: int$bits export disagrees with the library"; exit 1; }
  if [ -z "$memflag" ]; then # the timing driver of bench/bench_footprint.sh, built and checked here so it cannot rot
    "$cc" -std=c99 -Wall -Wextra -Werror -O2 -I"$tmp/x$bits" "$(dirname "$0")/../bench/export_driver.c" "$tmp/m$bits.o" \
      -o "$tmp/bench$bits"
    gzip -dc "$data/t10k-images-idx3-ubyte.gz" > "$tmp/img.idx"
    gzip -dc "$data/t10k-labels-idx1-ubyte.gz" > "$tmp/lab.idx"
    "$tmp/bench$bits" "$tmp/img.idx" "$tmp/lab.idx" "$tmp/drv$bits.txt" | grep -q '"us_per_image"' &&
      cmp "$tmp/exp$bits.txt" "$tmp/drv$bits.txt" || { echo "FAIL: bench/export_driver.c on the int$bits export"; exit 1; }
  fi
  echo "int$bits: $(wc -l < "$tmp/exp$bits.txt") images, export = library; $ev"
  if [ -n "${2:-}" ] && { [ $bits = 8 ] || [ $bits = 8sub ]; }; then
    awk -v e="$ev" 'BEGIN {
      match(e, /"accuracy": [0-9.]+/); f = substr(e, RSTART + 12, RLENGTH - 12) + 0
      match(e, /"accuracy_quantized": [0-9.]+/); q = substr(e, RSTART + 22, RLENGTH - 22) + 0
      if (f - q > 0.005) { print "FAIL: int8 accuracy " q " more than 0.5 points below float " f; exit 1 }
      print "ok: int8 " q " within 0.5 points of float " f }'
  fi
done
if [ -z "${2:-}" ]; then
  # A --model path that ends the banner's comment, defines a function and opens
  # a new comment (a newline is legal in a path): only the banner's text may change.
  hostile="$tmp/a*/"$'\n'"int ptm_injected(void){return 42;}"$'\n'"/*b"
  mkdir -p "$hostile"
  cp "$tmp/m.safetensors" "$hostile/m.safetensors"
  "$bin" export --model "$hostile/m.safetensors" --out "$tmp/xh" > /dev/null
  for f in phasetower_model.h phasetower_model.c; do
    # the banner: the first three lines, one comment, "/*" only at its start and "*/" only at its end
    head -n 3 "$tmp/xh/$f" | awk 'NR == 1 && !/^\/\* Generated by `phasetower export` from / { bad = 1 }
      { n += gsub(/\*\//, "&"); o += gsub(/\/\*/, "&") } NR == 3 && !/\*\/$/ { bad = 1 }
      END { exit bad || n != 1 || o != 1 }' || { echo "FAIL: hostile path: the banner of $f is not one comment"; head -n 3 "$tmp/xh/$f"; exit 1; }
    cmp <(tail -n +4 "$tmp/xh/$f") <(tail -n +4 "$tmp/x8/$f") ||
      { echo "FAIL: hostile path: $f differs from the plain export below its banner"; exit 1; }
  done
  "$cc" -std=c99 -pedantic -Wall -Wextra -Werror -fno-builtin -O2 -c "$tmp/xh/phasetower_model.c" -o "$tmp/mh.o"
  "$cc" -std=c99 -Wall -Wextra -Werror -I"$tmp/xh" "$tmp/driver.c" "$tmp/mh.o" -o "$tmp/runh"
  if nm "$tmp/mh.o" | grep -q ptm_injected; then echo "FAIL: hostile path: ptm_injected was compiled"; exit 1; fi
  [ -z "$(nm -u "$tmp/mh.o")" ] && cmp <(nm "$tmp/mh.o") <(nm "$tmp/m8.o") ||
    { echo "FAIL: hostile path: the object's symbols differ from the plain export's"; exit 1; }
  echo "hostile --model path: banner $(head -n 1 "$tmp/xh/phasetower_model.c" | cut -c1-140)..."
fi
