# bench/lib.sh - sourced by the bench scripts (not run on its own): the setup,
# logging and report stamp they share.

# bench_args NAME "$@": --data DIR (default: Debian's Fashion-MNIST) and
# -h/--help (prints the calling script's header); anything else is an error.
bench_args() {
    local name=$1
    shift
    DATA=/usr/share/datasets/fashion-mnist
    while [ $# -gt 0 ]; do
        case "$1" in
            --data) DATA=${2:?--data needs a directory}; shift 2 ;;
            -h|--help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
            *) echo "$name: unknown argument: $1" >&2; exit 2 ;;
        esac
    done
}

# bench_setup NAME [--no-torch]: PT (the phasetower binary) and PY (a python
# with torch and numpy, unless --no-torch), both checked; TMP, a directory
# removed on exit (kept when BENCH_KEEP_TMP is set, to debug a report).
bench_setup() {
    local name=$1
    PT=${PT_BIN:-build/phasetower}
    PY=${PYTHON:-/usr/bin/python3}
    [ -x "$PT" ] || { echo "$name: $PT not found (run make build)" >&2; exit 2; }
    [ "${2:-}" = --no-torch ] || "$PY" -c 'import torch, numpy' 2>/dev/null ||
        { echo "$name: $PY lacks torch/numpy (make bench-deps)" >&2; exit 2; }
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/phasetower-${name%.sh}.XXXXXX")
    trap '[ -n "${BENCH_KEEP_TMP:-}" ] && echo "kept $TMP" >&2 || rm -rf "$TMP"' EXIT
}

log() { echo "[bench] $*" >&2; }
run() { log "$*"; "$@"; } # prints the command, then runs it

# bench_stamp: exports STAMP (for the result files), COMMIT (marked "(dirty
# tree)" when the tree differs from it), DATE and CPU for the report header.
bench_stamp() {
    mkdir -p bench/results
    STAMP=$(date -u +%Y%m%dT%H%M%SZ)
    COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo none)
    [ -z "$(git status --porcelain 2>/dev/null | head -n1)" ] || COMMIT="$COMMIT (dirty tree)"
    DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
    CPU=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n1)
    export STAMP COMMIT DATE CPU
}
