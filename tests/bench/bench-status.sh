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

runs="${1:-${CARDPIN_BENCH_RUNS:-9}}"
delays="${CARDPIN_BENCH_DELAYS:-0 20}"
reader="$CARDPIN_TEST_READER0"
module="$CARDPIN_OPENSC_MODULE"
log="$CARDPIN_TEST_DIR/bench-card.log"
tool="${CARDPIN_TOOL:?set CARDPIN_TOOL to the cardpin-tool executable}"
export SOFTHSM2_CONF=/dev/null

apdus () { grep -c '^vcard: ' "$log" || true; }

bench_name=bench-status
# shellcheck source=bench-card.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench-card.sh"

cpu_file="$CARDPIN_TEST_DIR/bench-times"

# CPU of the children waited for so far, in microseconds (bash's `times`, no fork)
children_cpu_us () {
  local line u s
  line=$(tail -n 1 "$1")
  u=${line%% *}; s=${line##* }
  awk -v u="$u" -v s="$s" 'function t(x) { split(x, p, "m"); sub("s", "", p[2]); return (p[1] * 60 + p[2]) * 1e6 }
    BEGIN { printf "%d\n", t(u) + t(s) }'
}

# one run: prints "<apdus> <wall µs> <CPU µs>" (CPU: user + system of the client)
measure () {
  local before after t0 t1 c0 c1
  before=$(apdus)
  times > "$cpu_file.0"
  t0=$EPOCHREALTIME
  "$@" >/dev/null 2>&1 || true
  t1=$EPOCHREALTIME
  times > "$cpu_file.1"
  after=$(apdus)
  c0=$(children_cpu_us "$cpu_file.0")
  c1=$(children_cpu_us "$cpu_file.1")
  echo "$((after - before)) $(( ${t1/./} - ${t0/./} )) $((c1 - c0))"
}

median_ms () {
  printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2; printf "%.1f\n", m / 1e3}'
}

# The clients take turns, run after run, so that the machine's load (CI shares its cores)
# weighs on each alike. Sets A[client,delay] (APDUs of the last run), M[...] (median
# wall ms) and C[...] (median CPU ms).
declare -A A M C
names=(cardpin yubico pkcs11)
run_client () {
  case $1 in
    cardpin) measure "$tool" status --module "$module" ;;
    yubico) measure yubico-piv-tool -r "$reader" -a status ;;
    pkcs11) measure pkcs11-tool --module "$module" -L ;;
    help) measure "$tool" --help ;;
  esac
}
for d in $delays; do
  start_card "$d"
  declare -A W=() U=()
  for n in "${names[@]}"; do run_client "$n" >/dev/null; done   # warm-up (caches)
  for ((i = 0; i < runs; i++)); do
    for n in "${names[@]}"; do
      read -r a w u < <(run_client "$n")
      A[$n,$d]=$a
      W[$n]+="$w "
      U[$n]+="$u "
    done
  done
  for n in "${names[@]}"; do
    # shellcheck disable=SC2086
    M[$n,$d]=$(median_ms ${W[$n]})
    # shellcheck disable=SC2086
    C[$n,$d]=$(median_ms ${U[$n]})
  done
  stop_card
done
[ "${A[cardpin,${delays%% *}]}" -gt 0 ] || { echo "bench-status: no APDUs in $log" >&2; exit 1; }
hw=() hu=()
for ((i = 0; i < runs; i++)); do
  read -r _ w u < <(run_client help)
  hw+=("$w"); hu+=("$u")
done
help_ms=$(median_ms "${hw[@]}")
help_cpu=$(median_ms "${hu[@]}")

echo "Status of one virtual PIV card, $runs runs each, the clients in turn (median wall"
echo "time and median CPU time, user + system, in ms)"
echo
hdr='| client                       |'; sep='|------------------------------|'
for d in $delays; do hdr+=" APDUs @${d}ms | wall @${d}ms | CPU @${d}ms |"; sep+='-------------|-------------|------------|'; done
echo "$hdr"; echo "$sep"
label=([0]="cardpin-tool status --module" [1]="yubico-piv-tool -a status" [2]="pkcs11-tool -L (OpenSC)")
for k in 0 1 2; do
  n=${names[$k]}; row=$(printf '| %-28s |' "${label[$k]}")
  for d in $delays; do row+=$(printf ' %11s | %11s | %10s |' "${A[$n,$d]}" "${M[$n,$d]}" "${C[$n,$d]}"); done
  echo "$row"
done
echo
for d in $delays; do
  awk -v d="$d" -v c="${M[cardpin,$d]}" -v y="${M[yubico,$d]}" -v p="${M[pkcs11,$d]}" \
    -v cc="${C[cardpin,$d]}" -v yc="${C[yubico,$d]}" -v pc="${C[pkcs11,$d]}" \
    -v ca="${A[cardpin,$d]}" -v ya="${A[yubico,$d]}" -v pa="${A[pkcs11,$d]}" \
    'BEGIN { printf "@%sms  wall cardpin/yubico %.2f  cardpin/pkcs11-tool %.2f   CPU cardpin/yubico %.2f  cardpin/pkcs11-tool %.2f   APDUs cardpin/yubico %.2f  cardpin/pkcs11-tool %.2f\n", d, c/y, c/p, cc/yc, cc/pc, ca/ya, ca/pa }'
done
echo "cardpin-tool --help: $help_ms ms wall, $help_cpu ms CPU"
echo
echo "APDUs: commands the card received in the last run (GET RESPONSE included)."
echo "Goal (issue 7 item 13): APDUs and wall time at most yubico-piv-tool's, wall time at"
echo "most half of pkcs11-tool's, at every delay."
echo "Re-run: meson test -C _build --benchmark --verbose bench-status"
