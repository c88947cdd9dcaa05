#!/usr/bin/env bash
# bench/bench_atlas.sh - the coordinate text atlas (issue 18, part 6) on books
# of the King James Bible (Debian's bible-kjv: `bible -f "Esther1:1-Esther99:99"`
# prints a whole book, one verse per line after its reference, which is cut
# off; the verses' line breaks are kept). One thread throughout.
#
# Runs, in one invocation:
#   1. single books (Esther, 30 kB; Ecclesiastes, Ruth, Jonah): atlas train with
#      the default configuration for $EPOCHS epochs, then atlas decode --text
#      from the saved file: accuracy, bits per symbol, model bytes (float32
#      parameters; the checkpoint file) against gzip -9 and xz -9 of the same
#      text, and the lossless total (file bytes + N bpc / 8, the arithmetic-coding
#      bound of the residual); two smaller atlases of Esther;
#   2. sparse (lazy Adam on the touched hash-table entries) against dense table
#      updates: Esther with the default configuration, and a table-heavy one
#      (D 8, 24 levels of 8 floats, finest resolution 4 N, 2^16 entries);
#   3. the library: a master on 10 books (Hosea to Haggai) per key size K in
#      8 16 32 64 128 ($LIB_EPOCHS epochs), then two new books (Malachi, Ruth)
#      through their key alone (master frozen, $KEY_EPOCHS epochs), against
#      the unigram baseline; and a library book's key learned again from the
#      mean key (a check that key learning finds a key that exists).
# Prints a markdown report, saved with the raw JSON as bench/results/<stamp>-atlas.*
#
# Usage: bench/bench_atlas.sh   (env: EPOCHS=40 LIB_EPOCHS=40 KEY_EPOCHS=20)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
. bench/lib.sh
case "${1:-}" in -h|--help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;; "") ;; *) echo "bench_atlas.sh: unknown argument: $1" >&2; exit 2 ;; esac
bench_setup bench_atlas.sh --no-torch
command -v bible > /dev/null || { echo "bench_atlas.sh: 'bible' not found (make bench-deps installs bible-kjv)" >&2; exit 2; }
EPOCHS=${EPOCHS:-40} LIB_EPOCHS=${LIB_EPOCHS:-40} KEY_EPOCHS=${KEY_EPOCHS:-20}
export OPENBLAS_NUM_THREADS=1 EPOCHS LIB_EPOCHS KEY_EPOCHS

book() { bible -f "${1}1:1-${1}99:99" | sed 's/^[^ ]* //' > "$2"; } # NAME FILE
mkdir -p "$TMP/books" "$TMP/lib"
for b in Esther Ecclesiastes Ruth Jonah Malachi; do book "$b" "$TMP/books/$b.txt"; done
for b in Hosea Joel Amos Obadiah Jonah Micah Nahum Habakkuk Zephaniah Haggai; do book "$b" "$TMP/lib/$b.txt"; done

# jl FILE: append stdin (one JSON object) with the arguments as "args"
jl() { python3 -c 'import json,sys; r=json.load(sys.stdin); r["args"]=sys.argv[2]; print(json.dumps(r))' "$1" "${*:2}" >> "$1"; }

# 1. single books
: > "$TMP/single.jsonl"
single() { # TAG BOOK args...
    local tag=$1 b=$2
    shift 2
    run "$PT" atlas train --text "$TMP/books/$b.txt" --out "$TMP/$tag.atlas" --epochs "$EPOCHS" --quiet --json "$@" > "$TMP/t.json"
    run "$PT" atlas decode --model "$TMP/$tag.atlas" --text "$TMP/books/$b.txt" --json > "$TMP/d.json"
    python3 - "$TMP" "$tag" "$b" "$*" <<'PY' >> "$TMP/single.jsonl"
import json, os, subprocess, sys
T, tag, b, args = sys.argv[1:]
t, d = json.load(open(f"{T}/t.json")), json.load(open(f"{T}/d.json"))
f = f"{T}/books/{b}.txt"
size = lambda cmd: len(subprocess.run(cmd + [f], capture_output=True, check=True).stdout)
print(json.dumps(dict(tag=tag, book=b, args=args, bytes=os.path.getsize(f), symbols=d["symbols"], train=t, decode=d,
                      gzip=size(["gzip", "-9c"]), xz=size(["xz", "-9c"]))))
PY
}
single esther Esther
single eccl Ecclesiastes
single ruth Ruth
single jonah Jonah
single esther_small Esther --table-log2 12 --levels 12
single esther_tiny Esther --dim 16 --levels 8 --table-log2 11

# 2. sparse against dense
: > "$TMP/sparse.jsonl"
sd() { # TAG args...
    local tag=$1
    shift
    run "$PT" atlas train --text "$TMP/books/Esther.txt" --out "$TMP/sd.atlas" --quiet --json "$@" | jl "$TMP/sparse.jsonl" "$tag" "$@"
}
sd default --epochs "$EPOCHS"
sd default --epochs "$EPOCHS" --dense
HEAVY=(--dim 8 --features 8 --levels 24 --max-res 120924 --table-log2 16 --epochs 10)
sd heavy "${HEAVY[@]}"
sd heavy "${HEAVY[@]}" --dense

# 3. the library and new books through their keys
: > "$TMP/lib.jsonl"
for K in 8 16 32 64 128; do
    run "$PT" atlas train --library "$TMP/lib" --key-size "$K" --out "$TMP/m$K.atlas" --epochs "$LIB_EPOCHS" --quiet --json > "$TMP/m.json"
    for nb in Malachi Ruth; do
        run "$PT" atlas key --model "$TMP/m$K.atlas" --text "$TMP/books/$nb.txt" --out "$TMP/$nb$K.key" --epochs "$KEY_EPOCHS" --quiet --json > "$TMP/k.json"
        run "$PT" atlas decode --model "$TMP/m$K.atlas" --key "$TMP/$nb$K.key" --text "$TMP/books/$nb.txt" --json > "$TMP/d.json"
        python3 -c 'import json,sys; T=sys.argv[1]; print(json.dumps(dict(K=int(sys.argv[2]), book=sys.argv[3], master=json.load(open(T+"/m.json")), key=json.load(open(T+"/k.json")), decode=json.load(open(T+"/d.json")))))' "$TMP" "$K" "$nb" >> "$TMP/lib.jsonl"
    done
    if [ "$K" = 32 ]; then # a library book's key again, from the mean key
        run "$PT" atlas key --model "$TMP/m32.atlas" --text "$TMP/lib/Jonah.txt" --out "$TMP/jonah.key" --epochs "$KEY_EPOCHS" --quiet --json > "$TMP/again.json"
        jonah=$(($(ls "$TMP/lib" | LC_ALL=C sort | grep -n '^Jonah.txt$' | cut -d: -f1) - 1)) # the library's order
        run "$PT" atlas decode --model "$TMP/m32.atlas" --book "$jonah" --text "$TMP/lib/Jonah.txt" --json > "$TMP/own.json"
    fi
done

bench_stamp
cp "$TMP/single.jsonl" "bench/results/$STAMP-atlas-single.jsonl"
cp "$TMP/sparse.jsonl" "bench/results/$STAMP-atlas-sparse.jsonl"
cp "$TMP/lib.jsonl" "bench/results/$STAMP-atlas-library.jsonl"
python3 - "$TMP" <<'PYEOF' | tee "bench/results/$STAMP-atlas.md"
import json, os, sys
T = sys.argv[1]
L = lambda n: [json.loads(l) for l in open(os.path.join(T, n)) if l.strip()]
e = os.environ
print("## Issue 18: the text atlas (King James Bible, Debian bible-kjv)\n")
print(f"- Date: {e['DATE']}; machine: {e['CPU']}; commit {e['COMMIT']}; one thread; seed 1")
print(f"- Command: `bench/bench_atlas.sh` (EPOCHS={e['EPOCHS']}, LIB_EPOCHS={e['LIB_EPOCHS']}, KEY_EPOCHS={e['KEY_EPOCHS']}); "
      "every run it makes is in its log (stderr). Books: `bible -f \"Esther1:1-Esther99:99\" | sed 's/^[^ ]* //'` "
      "(one verse per line, references cut off; ASCII, so bytes = symbols)\n")
print("### One book per atlas: reconstruction and size\n")
print("Accuracy and bits/symbol are measured by `atlas decode --text` on the saved file (argmax per coordinate; "
      "bits = mean -log2 p of the true symbol). Model bytes: the parameters as float32; file: the checkpoint. "
      "Lossless total = file bytes + N bpc / 8 (the arithmetic-coding bound of the residual, not an implemented coder).\n")
print("| book | bytes | atlas arguments (plus `--epochs " + e['EPOCHS'] + "`) | acc % | bits/sym | unigram acc % / bits | params (float32 bytes) | file bytes | lossless total | gzip -9 | xz -9 | train s |")
print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in L("single.jsonl"):
    t, d = r["train"], r["decode"]
    total = t["file_bytes"] + d["residual_bytes"]
    print(f"| {r['book']} | {r['bytes']:,} | `{r['args'] or '(defaults)'}` | {100*d['accuracy']:.2f} | {d['bits_per_symbol']:.4f} | "
          f"{100*d['unigram_accuracy']:.2f} / {d['unigram_bits']:.3f} | {t['params']:,} ({t['param_bytes_f32']:,}) | {t['file_bytes']:,} | "
          f"{total:,.0f} | {r['gzip']:,} | {r['xz']:,} | {t['train_seconds']:.1f} |")
print("\n### Sparse against dense updates of the hash tables (Esther)\n")
print("Sparse: lazy Adam on the entries a batch reads (the others, and their moments, untouched); dense: Adam over every "
      "entry each step. `updated` is the measured mean fraction of the tables' entries a step changes.\n")
print("| configuration | updates | updated per step | train s | acc % | bits/sym (training set) | params |")
print("|---|---|---:|---:|---:|---:|---:|")
for r in L("sparse.jsonl"):
    print(f"| {r['args'].split(' ', 1)[0]}: `{r['args'].split(' ', 1)[1].replace(' --dense', '')}` | {'sparse' if r['sparse'] else 'dense'} | "
          f"{100*r['updated_fraction']:.2f}% | {r['train_seconds']:.1f} | {100*r['accuracy']:.2f} | {r['bits_per_symbol']:.4f} | {r['params']:,} |")
print("\n### A library with keys: new books through their key alone\n")
lib = L("lib.jsonl")
m0 = lib[0]["master"]
print(f"Master: `atlas train --library LIB --key-size K --epochs {e['LIB_EPOCHS']}` on {m0['books']} books "
      "(Hosea, Joel, Amos, Obadiah, Jonah, Micah, Nahum, Habakkuk, Zephaniah, Haggai); its accuracy is on its own books. "
      f"New book: `atlas key --model MASTER --text BOOK --epochs {e['KEY_EPOCHS']}` (master frozen; the key starts at the "
      "mean of the library's keys), scored by `atlas decode --key`. Unigram: always the book's most frequent symbol; "
      "its bits are the entropy of the book's symbol distribution.\n")
print("| K | master acc % on its books (bits) | master s | new book | key bytes (float32) | acc % | bits/sym | unigram acc % | unigram bits | key s |")
print("|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|")
for r in lib:
    m, k, d = r["master"], r["key"], r["decode"]
    print(f"| {r['K']} | {100*m['accuracy']:.2f} ({m['bits_per_symbol']:.3f}) | {m['train_seconds']:.1f} | {r['book']} | "
          f"{k['key_bytes_f32']} | {100*d['accuracy']:.2f} | {d['bits_per_symbol']:.4f} | {100*d['unigram_accuracy']:.2f} | "
          f"{d['unigram_bits']:.4f} | {k['train_seconds']:.1f} |")
a, o = json.load(open(os.path.join(T, "again.json"))), json.load(open(os.path.join(T, "own.json")))
print(f"\nCheck (K 32): Jonah, a library book, through a key learned again from the mean key: accuracy "
      f"{100*a['accuracy']:.2f}%, {a['bits_per_symbol']:.4f} bits/symbol; with the key the master was trained with: "
      f"{100*o['accuracy']:.2f}%, {o['bits_per_symbol']:.4f} bits/symbol.")
PYEOF
