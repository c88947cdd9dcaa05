#!/usr/bin/env bash
# Run the libFuzzer targets built in BUILD (cmake -DPT_FUZZ=ON, CC=clang) one
# after the other for SECONDS each, then print each one's executions and
# coverage (cov: and ft: of libFuzzer's last status line). Used by `make fuzz`
# and `make fuzz-short`:
#   tests/fuzz/run.sh BUILD SECONDS TARGET...   (TARGET: checkpoint, idx, ...)
# Each target starts from its committed seeds (tests/fuzz/seeds-TARGET; the
# safetensors and checkpoint targets keep their older names seeds and
# seeds-ckpt) and its dictionary tests/fuzz/TARGET.dict if there is one, and
# grows its own corpus in BUILD/corpus/TARGET (kept between runs, never
# committed). Logs go to BUILD/logs/TARGET.log, reproducers to
# BUILD/artifacts/fuzz_TARGET-{crash,leak,oom,timeout}-<sha1>.
# Any crash, sanitizer report (ASan, UBSan, a leak), broken invariant,
# input slower than 5 s, allocation over 1 GB or RSS over 2 GB fails the
# target; the script runs every target and exits 1 if any failed.
# FUZZ_FLAGS adds libFuzzer options (e.g. "-fork=1 -ignore_ooms=1" to keep a
# long campaign going past out-of-memory findings, each still saved).
set -uo pipefail
[ $# -ge 3 ] || { echo "usage: $0 BUILD SECONDS TARGET..." >&2; exit 2; }
build=$1 seconds=$2
shift 2
src=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$build/corpus" "$build/logs" "$build/artifacts"

# BLAS on one thread: the targets run one input at a time, and threads would
# make the leak checker and timing noisier. UB aborts (the build has
# -fno-sanitize-recover), with a stack trace.
export OPENBLAS_NUM_THREADS=1
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

failed=() summary=()
for t in "$@"; do
  bin=$build/fuzz_$t
  case $t in
    safetensors) seeds=$src/seeds ;;
    checkpoint) seeds=$src/seeds-ckpt ;;
    *) seeds=$src/seeds-$t ;;
  esac
  max_len=4096
  [ "$t" = checkpoint ] && max_len=16384
  dict=()
  [ -f "$src/$t.dict" ] && dict=(-dict="$src/$t.dict")
  corpus=$build/corpus/$t log=$build/logs/$t.log
  mkdir -p "$corpus"
  if [ ! -x "$bin" ] || [ ! -d "$seeds" ]; then
    echo "fuzz_$t: missing $bin or $seeds" >&2
    failed+=("$t") summary+=("fuzz_$t: not run (missing binary or seeds)")
    continue
  fi
  echo "fuzz_$t: ${seconds} s (log: $log)"
  touch "$log.start"
  # shellcheck disable=SC2086 # FUZZ_FLAGS is a list of options
  "$bin" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
    -max_len=$max_len "${dict[@]}" -print_final_stats=1 -artifact_prefix="$build/artifacts/fuzz_$t-" \
    ${FUZZ_FLAGS:-} "$corpus" "$seeds" >"$log" 2>&1
  rc=$?
  # the last status line: "#RUNS DONE cov: C ft: F corp: ..." (fork mode: "#RUNS: cov: C ft: F ...")
  last=$(grep -E '^#[0-9]+.*cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1)
  runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log" | tail -n 1)
  [ -n "$runs" ] || runs=$(sed -nE 's/^#([0-9]+).*/\1/p' <<<"$last")
  cov=$(sed -nE 's/.*cov: ([0-9]+).*/\1/p' <<<"$last")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
  oom=$(sed -nE 's/.*oom\/timeout\/crash: ([0-9/]+).*/, oom\/timeout\/crash \1/p' <<<"$last")
  line="fuzz_$t: ${runs:-?} executions, cov: ${cov:-?} ft: ${ft:-?}$oom"
  if [ $rc -eq 0 ] && [[ "$oom" =~ [1-9] ]]; then
    line+=", no crash; the out-of-memory inputs and timeouts counted were let pass by FUZZ_FLAGS (saved in $build/artifacts)"
  elif [ $rc -eq 0 ]; then
    line+=", clean"
  else
    failed+=("$t")
    why=$(grep -m 1 -E '^==[0-9]+== ?ERROR: |^invariant failed: |ERROR: libFuzzer' "$log" | sed -E 's/^==[0-9]+== ?//')
    # fork mode (-fork) reports a child's out-of-memory or timeout only in its counts and exit status
    [ -z "$why" ] && [[ "$oom" =~ [1-9] ]] && why="inputs that ran out of memory or time (counts above)"
    art=$(sed -nE 's/.*Test unit written to (.*)/; reproducer: \1/p' "$log" | tail -n 1)
    if [ -z "$art" ]; then # fork mode: the children's reproducers, saved since the log was started
      new=$(find "$build/artifacts" -name "fuzz_$t-*" -newer "$log.start" | wc -l)
      [ "$new" -gt 0 ] && art="; reproducers: $new new files in $build/artifacts"
    fi
    line+=", FAILED (exit $rc): ${why:-see the log}$art"
    # the report's first lines and its first frames in the project's code
    { grep -m 1 -A 1 -E '^==[0-9]+== ?ERROR: |^invariant failed: ' "$log"
      grep -E '^ +#[0-9]+ .* in .*/(src|tests|cli)/' "$log" | head -n 4; } | sed 's/^ */    /'
  fi
  echo "$line"
  summary+=("$line")
done

echo "---- fuzz summary (${seconds} s per target)"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "failed: ${failed[*]} (logs in $build/logs, reproducers in $build/artifacts)"
  exit 1
fi
