#!/bin/bash
# Benchmark (not a test): APDUs exchanged and median wall time of a status read by
# cardpin-tool, yubico-piv-tool and OpenSC's pkcs11-tool on the same virtual card.
#
# Re-run:  meson test -C _build --benchmark --verbose bench-status
#     or:  _build/tests/stack/cardpin-test-stack --card 0:-v -- tests/bench/bench-status.sh [RUNS]
# Needs CARDPIN_TOOL (the cardpin-tool executable); runs inside cardpin-test-stack.
set -euo pipefail

runs="${1:-${CARDPIN_BENCH_RUNS:-15}}"
reader="$CARDPIN_TEST_READER0"
module="$CARDPIN_OPENSC_MODULE"
log="$CARDPIN_TEST_DIR/card-0.log"
tool="${CARDPIN_TOOL:?set CARDPIN_TOOL to the cardpin-tool executable}"
export SOFTHSM2_CONF=/dev/null

apdus () { grep -c '^vcard: ' "$log" || true; }

# one run: prints "<apdus> <nanoseconds>"
measure () {
  local before after t0 t1
  before=$(apdus)
  t0=$(date +%s%N)
  "$@" >/dev/null 2>&1 || true
  t1=$(date +%s%N)
  after=$(apdus)
  echo "$((after - before)) $((t1 - t0))"
}

bench () {
  local name="$1"; shift
  local apdu_count=0 times=() a t
  measure "$@" >/dev/null   # warm-up (OpenSC's first run fills caches)
  for ((i = 0; i < runs; i++)); do
    read -r a t < <(measure "$@")
    apdu_count=$a
    times+=("$t")
  done
  local median
  median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{v[NR]=$1} END {m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2; printf "%.1f", m / 1e6}')
  printf '| %-44s | %6s | %10s |\n' "$name" "$apdu_count" "$median"
}

# the APDU count comes from the card's log: it must log them (-v)
"$tool" status --module "$module" >/dev/null 2>&1 || true
[ "$(apdus)" -gt 0 ] || { echo "bench-status: start the card with -v (no APDUs in $log)" >&2; exit 1; }

echo "Status of one virtual PIV card, $runs runs each (median wall time)"
echo
printf '| %-44s | %6s | %10s |\n' "client" "APDUs" "median ms"
printf '|%s|%s|%s|\n' "----------------------------------------------" "--------" "------------"
bench "cardpin-tool status (only the card's module)" "$tool" status --module "$module"
bench "cardpin-tool status (all p11-kit modules)" "$tool" status
bench "yubico-piv-tool -a status" yubico-piv-tool -r "$reader" -a status
bench "pkcs11-tool -L (OpenSC)" pkcs11-tool --module "$module" -L
echo
echo "APDUs: commands the card received in the last run (GET RESPONSE included)."
echo "Re-run: meson test -C _build --benchmark --verbose bench-status"
