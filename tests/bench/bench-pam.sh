#!/bin/bash
# Benchmark (not a test): the login-screen PAM stack on a healthy card, with and without
# pam_cardpin.so in front, at 0 and 20 ms APDU delay (--apdu-delay-ms); and the helper's
# peak memory.
#
# The stack without the module stands for GDM's smart-card stack: its card module's work
# is a PKCS#11 login through OpenSC (what pam_sss's p11_child and pam_pkcs11 do), run by
# pam_exec. The stack with the module has
#   auth [success=ok ignore=ignore default=die] pam_cardpin.so
# in front of it. pamtester is the PAM client, pam_wrapper reads the service files.
#
# Re-run:  meson test -C _build --benchmark --verbose bench-pam
#     or:  CARDPIN_PAM_MODULE=_build/greeter-plugin/pam_cardpin.so \
#          CARDPIN_PAM_HELPER=_build/greeter-plugin/cardpin-pam-helper \
#          _build/tests/stack/cardpin-test-stack -- tests/bench/bench-pam.sh [RUNS]
set -euo pipefail

runs="${1:-${CARDPIN_BENCH_RUNS:-9}}"
delays="${CARDPIN_BENCH_DELAYS:-0 20}"
module="${CARDPIN_PAM_MODULE:?set CARDPIN_PAM_MODULE to pam_cardpin.so}"
helper="${CARDPIN_PAM_HELPER:?set CARDPIN_PAM_HELPER to cardpin-pam-helper}"
wrapper="${CARDPIN_PAM_WRAPPER:-$(dirname "$(pkg-config --variable=modules pam_wrapper)")/libpam_wrapper.so}"
secdir="${CARDPIN_PAM_SECURITY_DIR:-/lib/x86_64-linux-gnu/security}"
opensc="$CARDPIN_OPENSC_MODULE"
dir="$CARDPIN_TEST_DIR/bench-pam"
log="$CARDPIN_TEST_DIR/bench-pam-card.log"
mkdir -p "$dir/pam.d"

bench_name=bench-pam
# shellcheck source=bench-card.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench-card.sh"

# the card module's work: a PKCS#11 login with the (throw-away, factory) test PIN
card_login="auth required $secdir/pam_exec.so quiet /usr/bin/pkcs11-tool --module $opensc --login --pin 123456 --list-objects"
# the helper under GNU time, for its peak memory (fd 3, the socket, is inherited)
cat > "$dir/helper-timed" <<EOS
#!/bin/sh
exec /usr/bin/time -a -o "$dir/helper-rss" -f %M "$helper" "\$@"
EOS
chmod +x "$dir/helper-timed"
printf '%s\n' "$card_login" > "$dir/pam.d/without"
printf 'auth required %s/pam_permit.so\n' "$secdir" > "$dir/pam.d/permit"
printf 'auth [success=ok ignore=ignore default=die] %s helper=%s module=%s\n%s\n' \
  "$module" "$helper" "$opensc" "$card_login" > "$dir/pam.d/with"
printf 'auth [success=ok ignore=ignore default=die] %s helper=%s module=%s\nauth required %s/pam_permit.so\n' \
  "$module" "$helper" "$opensc" "$secdir" > "$dir/pam.d/alone"
printf 'auth [success=ok ignore=ignore default=die] %s helper=%s module=%s\n' \
  "$module" "$dir/helper-timed" "$opensc" > "$dir/pam.d/timed"

# one run of service $1: sets T (nanoseconds); stops the benchmark when pamtester fails
# where it must not (the "timed" stack has no module that lets anyone in)
measure () {
  local t0 t1 rc=0
  t0=$(date +%s%N)
  LD_PRELOAD="$wrapper" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$dir/pam.d" \
    pamtester "$1" cardpin-bench authenticate </dev/null >"$dir/out" 2>&1 || rc=$?
  t1=$(date +%s%N)
  if [ "$rc" != 0 ] && [ "$1" != timed ]; then
    echo "bench-pam: the stack \"$1\" failed:" >&2; cat "$dir/out" >&2; exit 1
  fi
  T=$((t1 - t0))
}
median () { sort -n | awk '{v[NR]=$1} END {m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2; printf "%.1f\n", m / 1e6}'; }
# sets MED (median ms of $runs runs of service $1)
bench () {
  local times=()
  measure "$1"   # warm-up
  for ((i = 0; i < runs; i++)); do measure "$1"; times+=("$T"); done
  MED=$(printf '%s\n' "${times[@]}" | median)
}
# sets N (APDUs the card received during one run of service $1)
apdus_of () {
  local before after
  before=$(grep -c '^vcard: ' "$log" || true)
  measure "$1"
  after=$(grep -c '^vcard: ' "$log" || true)
  N=$((after - before))
}

declare -A M A
for d in $delays; do
  start_card "$d"
  bench without; M[without,$d]=$MED
  bench with; M[with,$d]=$MED
  bench alone; M[alone,$d]=$MED
  bench permit; M[permit,$d]=$MED
  apdus_of alone; A[alone,$d]=$N
  stop_card
done
start_card 0
rm -f "$dir/helper-rss"
for ((i = 0; i < 3; i++)); do measure timed; done
stop_card
rss=$(sort -n "$dir/helper-rss" | tail -1)

echo "GDM-like smart-card PAM stack on a healthy virtual PIV card, $runs runs each (median wall time, ms)"
echo
hdr='| stack                                              |'; sep='|----------------------------------------------------|'
for d in $delays; do hdr+=" @${d}ms |"; sep+='--------|'; done
echo "$hdr"; echo "$sep"
for s in without with alone permit; do
  case $s in
    without) label="card module only (PKCS#11 login through OpenSC)";;
    with) label="pam_cardpin.so, then the card module";;
    alone) label="pam_cardpin.so alone (then pam_permit)";;
    permit) label="pam_permit alone (pamtester, pam_wrapper)";;
  esac
  row=$(printf '| %-50s |' "$label")
  for d in $delays; do row+=$(printf ' %6s |' "${M[$s,$d]}"); done
  echo "$row"
done
echo
for d in $delays; do
  awk -v d="$d" -v w="${M[with,$d]}" -v o="${M[without,$d]}" -v a="${A[alone,$d]}" \
    -v m="${M[alone,$d]}" -v p="${M[permit,$d]}" \
    'BEGIN { printf "@%sms  with/without %.2f   module alone: +%.1f ms over pam_permit, %d APDUs\n", d, w/o, m-p, a }'
done
echo "cardpin-pam-helper peak memory (max RSS, healthy card): $rss KiB"
echo
echo "Re-run: meson test -C _build --benchmark --verbose bench-pam"
