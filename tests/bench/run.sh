#!/usr/bin/env bash
# Runs the benchmarks against the sandbox and prints their figures. Each prints a baseline
# measured in the same run and the ratio to it; none of them asserts anything.
#   tests/bench/run.sh [seconds-per-monitor-run]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="$root/build/bin"
[ -x "$bin/htapctl" ] && [ -x "$bin/bench_chart_redraw" ] || { echo "build first: installer/setup.sh build" >&2; exit 1; }
"$bin/htapctl" sandbox start >/dev/null
echo "== collector cost (htapctl bench monitor)"
"$bin/htapctl" bench monitor --seconds "${1:-30}"
echo
echo "== chart redraw (bench_chart_redraw)"
QT_QPA_PLATFORM=offscreen "$bin/bench_chart_redraw" 2>/dev/null
