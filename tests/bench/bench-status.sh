#!/bin/bash
# Benchmark (not a test): APDUs exchanged and median wall time of a status read by
# cardpin-tool, yubico-piv-tool and OpenSC's pkcs11-tool on the same virtual card,
# answering at once and with a real card's latency (--apdu-delay-ms).
#
# Re-run:  meson test -C _build --benchmark --verbose bench-status
#     or:  CARDPIN_TOOL=_build/app/cardpin-tool \
#          _build/tests/stack/cardpin-test-stack -- tests/bench/bench-status.sh [RUNS]
# Needs CARDPIN_TOOL (the cardpin-tool executable); runs inside cardpin-test-stack,
# and starts the card in reader 0 itself (same state file for every delay).
set -euo pipefail

runs="${1:-${CARDPIN_BENCH_RUNS:-5}}"
delays="${CARDPIN_BENCH_DELAYS:-0 20}"
reader="$CARDPIN_TEST_READER0"
module="$CARDPIN_OPENSC_MODULE"
log="$CARDPIN_TEST_DIR/bench-card.log"
tool="${CARDPIN_TOOL:?set CARDPIN_TOOL to the cardpin-tool executable}"
export SOFTHSM2_CONF=/dev/null
card_pid=

apdus () { grep -c '^vcard: ' "$log" || true; }

card_present () { opensc-tool --reader 0 --atr >/dev/null 2>&1; }

start_card () {
  "$CARDPIN_VIRTUAL_CARD" --port "$CARDPIN_TEST_PORT0" --state "$CARDPIN_TEST_STATE0" \
    -v --apdu-delay-ms "$1" 2>"$log" &
  card_pid=$!
  for ((w = 0; w < 100; w++)); do card_present && return 0; sleep 0.1; done
  echo "bench-status: the card did not show in reader 0" >&2; exit 1
}

stop_card () {
  kill "$card_pid" 2>/dev/null || true
  wait "$card_pid" 2>/dev/null || true
  for ((w = 0; w < 100; w++)); do card_present || return 0; sleep 0.1; done
}
trap stop_card EXIT

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

# prints "<apdus> <median ms>"
bench () {
  local apdu_count=0 times=() a t
  measure "$@" >/dev/null   # warm-up (OpenSC's first run fills caches)
  for ((i = 0; i < runs; i++)); do
    read -r a t < <(measure "$@")
    apdu_count=$a
    times+=("$t")
  done
  printf '%s ' "$apdu_count"
  printf '%s\n' "${times[@]}" | sort -n | awk '{v[NR]=$1} END {m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2; printf "%.1f\n", m / 1e6}'
}

declare -A A M
names=(cardpin yubico pkcs11)
for d in $delays; do
  start_card "$d"
  read -r A[cardpin,$d] M[cardpin,$d] < <(bench "$tool" status --module "$module")
  read -r A[yubico,$d] M[yubico,$d] < <(bench yubico-piv-tool -r "$reader" -a status)
  read -r A[pkcs11,$d] M[pkcs11,$d] < <(bench pkcs11-tool --module "$module" -L)
  stop_card
done
[ "${A[cardpin,${delays%% *}]}" -gt 0 ] || { echo "bench-status: no APDUs in $log" >&2; exit 1; }
read -r _ help_ms < <(bench "$tool" --help)

echo "Status of one virtual PIV card, $runs runs each (median wall time, ms)"
echo
hdr='| client                       |'; sep='|------------------------------|'
for d in $delays; do hdr+=" APDUs @${d}ms | median @${d}ms |"; sep+='-------------|---------------|'; done
echo "$hdr"; echo "$sep"
label=([0]="cardpin-tool status --module" [1]="yubico-piv-tool -a status" [2]="pkcs11-tool -L (OpenSC)")
for k in 0 1 2; do
  n=${names[$k]}; row=$(printf '| %-28s |' "${label[$k]}")
  for d in $delays; do row+=$(printf ' %11s | %13s |' "${A[$n,$d]}" "${M[$n,$d]}"); done
  echo "$row"
done
echo
for d in $delays; do
  awk -v d="$d" -v c="${M[cardpin,$d]}" -v y="${M[yubico,$d]}" -v p="${M[pkcs11,$d]}" \
    -v ca="${A[cardpin,$d]}" -v ya="${A[yubico,$d]}" -v pa="${A[pkcs11,$d]}" \
    'BEGIN { printf "@%sms  time cardpin/yubico %.2f  cardpin/pkcs11-tool %.2f   APDUs cardpin/yubico %.2f  cardpin/pkcs11-tool %.2f\n", d, c/y, c/p, ca/ya, ca/pa }'
done
echo "cardpin-tool --help: $help_ms ms"
echo
echo "APDUs: commands the card received in the last run (GET RESPONSE included)."
echo "Re-run: meson test -C _build --benchmark --verbose bench-status"
