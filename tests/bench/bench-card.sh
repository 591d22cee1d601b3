# bench-card.sh — sourced by the benchmarks that run inside cardpin-test-stack: the
# virtual card in reader 0, started at a given APDU delay and stopped again (same state
# file every time). Set `log` (the card's APDU log) and `bench_name` before sourcing.
card_pid=

card_present () { opensc-tool --reader 0 --atr >/dev/null 2>&1; }

# start_card DELAY_MS: the card answers every command after DELAY_MS
start_card () {
  "$CARDPIN_VIRTUAL_CARD" --port "$CARDPIN_TEST_PORT0" --state "$CARDPIN_TEST_STATE0" \
    -v --apdu-delay-ms "$1" 2>"$log" &
  card_pid=$!
  for ((w = 0; w < 100; w++)); do card_present && return 0; sleep 0.1; done
  echo "$bench_name: the card did not show in reader 0" >&2; exit 1
}

stop_card () {
  kill "$card_pid" 2>/dev/null || true
  wait "$card_pid" 2>/dev/null || true
  for ((w = 0; w < 100; w++)); do card_present || return 0; sleep 0.1; done
}
trap stop_card EXIT
