#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser of untrusted input (libFuzzer; docs/benchmarks.md,
# Fuzzing). Builds the fuzz preset (clang, address+undefined) when needed, then runs each target
# for SECONDS, one after another, starting from its seeds in tests/fuzz/corpus/<target>/.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]    default: 60 s each, every target
#
#   FUZZ_WORK=DIR   new inputs and findings (crash-*, timeout-*, leak-*, oom-*) go to
#                   DIR/<target>/ (default /tmp/htap-fuzz), never into the repository
#   FUZZ_MERGE=1    afterwards, add to tests/fuzz/corpus/<target>/ the new inputs that reach
#                   coverage its seeds do not (libFuzzer -merge=1): the seeds stay minimal
#   FUZZ_NICE=N     niceness of the fuzzers (default 10: the machine is shared)
#
# Prints per target the runs, executions per second, coverage (cov: edges, ft: features), the
# corpus (inputs/bytes), what was found and the wall-clock time of the run (the time limit, plus
# loading the seeds and the final statistics); exits 1 when anything was found, 2 on bad usage.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
seconds="${1:-60}"
shift || true
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "usage: tests/fuzz/run.sh [SECONDS] [TARGET...]" >&2; exit 2; }
all=(fuzz_scenario fuzz_profile fuzz_snapshot fuzz_sample fuzz_conninfo fuzz_viewquery fuzz_masking)
targets=("${@:-${all[@]}}")
work="${FUZZ_WORK:-/tmp/htap-fuzz}"
nice="${FUZZ_NICE:-10}"

# Per target: dictionary and the longest input worth trying (snapshots and samples are the big
# documents; a conninfo is a line).
declare -A dict=([fuzz_scenario]=scenario [fuzz_profile]=profile [fuzz_snapshot]=snapshot [fuzz_sample]=sample
    [fuzz_conninfo]=conninfo [fuzz_viewquery]=sql [fuzz_masking]=sql)
declare -A maxlen=([fuzz_scenario]=8192 [fuzz_profile]=8192 [fuzz_snapshot]=65536 [fuzz_sample]=16384
    [fuzz_conninfo]=1024 [fuzz_viewquery]=4096 [fuzz_masking]=4096)
for t in "${targets[@]}"; do
    [ -n "${dict[$t]:-}" ] || { echo "run.sh: no target $t (targets: ${all[*]})" >&2; exit 2; }
done

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

cd "$root"
if [ ! -f build-fuzz/CMakeCache.txt ]; then
    say "Configuring (fuzz)"
    cmake --preset fuzz >/dev/null
fi
say "Building (fuzz)"
nice -n "$nice" cmake --build --preset fuzz -j 2 >/dev/null

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:symbolize=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

found=0
rows=()
for t in "${targets[@]}"; do
    dir="$work/$t"
    mkdir -p "$dir/corpus" "$dir/findings"
    log="$dir/fuzz.log"
    touch "$dir/started" # findings of this run are the files newer than it
    say "Fuzzing $t for $seconds s (log: $log)"
    started=$(date +%s)
    set +e
    nice -n "$nice" "build-fuzz/bin/$t" "$dir/corpus" "tests/fuzz/corpus/$t" \
        -dict="tests/fuzz/dict/${dict[$t]}.dict" -max_len="${maxlen[$t]}" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$dir/findings/" -print_final_stats=1 </dev/null >"$log" 2>&1
    rc=$?
    set -e
    wall=$(($(date +%s) - started))
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    status=$(grep -E '^#[0-9]+' "$log" | tail -1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$status")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$status")
    corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<<"$status")
    count() { find "$dir/findings" -name "$1-*" -newer "$dir/started" | wc -l; }
    # The timeout is wall-clock time: on a shared machine a niced fuzzer can be starved past it.
    # A timeout input is run again; one that then finishes within 2 s is moved aside as not
    # reproduced (and said so), not counted. The run still stopped there.
    note=""
    for f in $(find "$dir/findings" -name 'timeout-*' -newer "$dir/started"); do
        if timeout 5 "build-fuzz/bin/$t" -timeout=2 -runs=1 "$f" >"$dir/rerun.log" 2>&1; then
            mv "$f" "$dir/findings/unreproduced-$(basename "$f")"
            note="stopped by a timeout that did not reproduce ($dir/findings/unreproduced-$(basename "$f"))"
        fi
    done
    crashes=$(count crash) timeouts=$(count timeout) leaks=$(count leak) ooms=$(count oom)
    [ "$rc" -eq 0 ] || [ -n "$note" ] || note="exit $rc"
    if [ $((crashes + timeouts + leaks + ooms)) -gt 0 ] || [ "$note" = "exit $rc" ]; then
        found=1
        grep -m1 -E '^==[0-9]+==ERROR|^SUMMARY|invariant broken|runtime error' "$log" >&2 || true
    fi
    rows+=("$(printf '%-15s %10s %8s %6s %7s %10s %7s %8s %5s %4s %6s %s' "$t" "${runs:-?}" "${speed:-?}" "${cov:-?}" \
        "${ft:-?}" "${corp:-?}" "$crashes" "$timeouts" "$leaks" "$ooms" "${wall}s" "$note")")
    if [ "${FUZZ_MERGE:-0}" = 1 ] && [ "$rc" -eq 0 ]; then
        say "Merging new coverage of $t into tests/fuzz/corpus/$t"
        nice -n "$nice" "build-fuzz/bin/$t" -merge=1 "tests/fuzz/corpus/$t" "$dir/corpus" \
            -max_len="${maxlen[$t]}" -timeout=10 -rss_limit_mb=2048 </dev/null >"$dir/merge.log" 2>&1
    fi
done

printf '\n%-15s %10s %8s %6s %7s %10s %7s %8s %5s %4s %6s\n' target runs exec/s cov ft corpus crashes timeouts leaks ooms wall
printf '%s\n' "${rows[@]}"
[ "$found" -eq 0 ] || echo "findings in $work/<target>/findings/ (reproduce: build-fuzz/bin/<target> FILE)" >&2
exit "$found"
