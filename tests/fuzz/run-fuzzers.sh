#!/bin/sh
# Runs every libFuzzer target defined in tests/fuzz/meson.build for a fixed time and
# prints executions, executions per second and crashes per target.
#
# usage: tests/fuzz/run-fuzzers.sh [SECONDS [BUILDDIR]]
#   SECONDS   time per target (default 300)
#   BUILDDIR  its own build directory (default _build-fuzz in the source tree);
#             set up with clang, ASan + UBSan and -Dfuzzing=true when missing
#
# Corpora grow in BUILDDIR/fuzz-corpus/<target> (seeded from tests/fuzz/corpus/<target>);
# crash, leak and timeout inputs land in BUILDDIR/fuzz-artifacts/<target>/. Exits 1 when
# any target found a crash.
set -eu

duration=${1:-300}
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
builddir=${2:-$srcdir/_build-fuzz}

case $duration in
  ''|*[!0-9]*) echo "usage: $0 [SECONDS [BUILDDIR]]" >&2; exit 2 ;;
esac

if [ ! -f "$builddir/build.ninja" ]; then
  # fuzzer-no-link puts coverage instrumentation into libcardpin too
  CC=clang CFLAGS="-fsanitize=fuzzer-no-link" \
    meson setup "$builddir" "$srcdir" \
      -Dbuildtype=debugoptimized \
      -Db_sanitize=address,undefined -Db_lundef=false \
      -Dfuzzing=true -Dapp=false >"$builddir.setup.log" 2>&1 || {
        cat "$builddir.setup.log" >&2
        exit 1
      }
  rm -f "$builddir.setup.log"
fi

# every executable defined in tests/fuzz/meson.build
targets=$(meson introspect --targets "$builddir" | python3 -c '
import json, os, sys
for t in json.load(sys.stdin):
    if t["type"] == "executable" and os.path.normpath(t["defined_in"]).endswith(os.path.join("tests", "fuzz", "meson.build")):
        print(t["name"], t["filename"][0])
')
if [ -z "$targets" ]; then
  echo "no fuzz targets found in $builddir (configured with -Dfuzzing=true?)" >&2
  exit 1
fi

names=$(echo "$targets" | cut -d' ' -f1)
# shellcheck disable=SC2086
ninja -C "$builddir" $(echo "$targets" | while read -r _ file; do
  realpath --relative-to="$builddir" "$file"; done) >/dev/null

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}"
export G_DEBUG="${G_DEBUG:-fatal-warnings}"

results=""
failed=0
for name in $names; do
  file=$(echo "$targets" | awk -v n="$name" '$1 == n { print $2 }')
  corpus="$builddir/fuzz-corpus/$name"
  artifacts="$builddir/fuzz-artifacts/$name"
  log="$builddir/fuzz-logs/$name.log"
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  if [ -d "$srcdir/tests/fuzz/corpus/$name" ]; then
    cp -n "$srcdir/tests/fuzz/corpus/$name"/* "$corpus"/ 2>/dev/null || true
  fi
  set -- -max_total_time="$duration" -print_final_stats=1 -artifact_prefix="$artifacts/"
  if [ -f "$srcdir/tests/fuzz/$name.dict" ]; then
    set -- "$@" -dict="$srcdir/tests/fuzz/$name.dict"
  fi
  before=$(find "$artifacts" -type f | wc -l)
  echo "running $name for ${duration}s (log: $log)" >&2
  status=0
  "$file" "$@" "$corpus" >"$log" 2>&1 || status=$?
  after=$(find "$artifacts" -type f | wc -l)
  crashes=$((after - before))
  if [ "$status" -ne 0 ] && [ "$crashes" -eq 0 ]; then
    crashes=1   # died without writing an input (e.g. out of memory in setup)
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
  [ "$crashes" -gt 0 ] && failed=1
  results="$results$name ${execs:-?} ${rate:-?} ${cov:-?} $crashes
"
done

printf '%-16s %14s %10s %8s %8s\n' target executions exec/s coverage crashes
printf '%s' "$results" | while read -r name execs rate cov crashes; do
  printf '%-16s %14s %10s %8s %8s\n' "$name" "$execs" "$rate" "$cov" "$crashes"
done
exit "$failed"
