#!/bin/bash
# test-helpdesk.sh — cardpin-helpdesk on SQLite and on the private PostgreSQL server that
# pg-private.sh runs around this script: card and audit subcommands (output, JSON, exit
# statuses, refusals that change nothing), and the master key in a SoftHSM2 token
# (create, import, respond, export-admin-key) checked against the openssl command line.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
. "$(dirname "$0")/../interop/tap.sh"
# format_code and respond: the code format and the response with openssl, written
# independently of core
. "$(dirname "$0")/../interop/respond.sh"

helpdesk=${CARDPIN_HELPDESK:?CARDPIN_HELPDESK is the cardpin-helpdesk to test}
[ -n "${CARDPIN_TEST_PG_URI:-}" ] || { echo "Bail out! run me through pg-private.sh run"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/test-helpdesk-XXXXXX")
trap 'rm -rf "$work"' EXIT

# status EXPECTED CMD…: ok when CMD exits with EXPECTED
status () {
  local expected=$1; shift
  local rc=0
  "$@" || rc=$?
  [ "$rc" -eq "$expected" ] || { echo "exit $rc, expected $expected"; return 1; }
}

# refused STATUS REGEX CMD…: CMD exits with STATUS and says something matching REGEX
refused () {
  local expected=$1 pattern=$2 out rc=0; shift 2
  out=$("$@" 2>&1) || rc=$?
  echo "$out"
  [ "$rc" -eq "$expected" ] || { echo "exit $rc, expected $expected"; return 1; }
  printf '%s\n' "$out" | grep -Eq -- "$pattern" || { echo "no match for /$pattern/"; return 1; }
}

# json_eq JSON PYTHON-EXPR: the expression over the parsed JSON `j` is true
json_eq () {
  printf '%s' "$1" | python3 -c 'import json,sys; j=json.load(sys.stdin); sys.exit(0 if eval(sys.argv[1]) else 1)' "$2"
}

run_backend () {
  local name=$1 database=$2
  local conf="$work/$name.conf" hd
  printf '[service]\ndatabase=%s\n' "$database" > "$conf"
  hd () { "$helpdesk" --config "$conf" "$@"; }

  check "$name: empty inventory lists as []" json_eq "$(hd card list --json)" 'j == []'
  check "$name: empty audit is []" json_eq "$(hd audit --json)" 'j == []'
  check_output "$name: card add" "Added card 00A1 for alice" hd card add 00A1 alice
  check "$name: second card" hd card add 00B2 bob
  check "$name: card add twice refused (exit 1), saying so" \
    refused 1 "already in the inventory" hd card add 00A1 mallory
  check "$name: malformed serial refused" status 1 hd card add "a b" alice
  check "$name: malformed user refused" status 1 hd card add 00C3 $'x\ty'
  check "$name: … and a user name with a space at its end" status 1 hd card add 00C3 "x "
  check "$name: card disable" hd card disable 00B2
  check "$name: disable unknown card refused (exit 1), saying so" \
    refused 1 "not in the inventory" hd card disable FFFF
  check "$name: card list --json after refusals: exactly the two cards, unchanged" \
    json_eq "$(hd card list --json)" \
    'j == [{"serial": "00A1", "user": "alice", "active": True}, {"serial": "00B2", "user": "bob", "active": False}]'
  check_output "$name: card list (text)" $'^00B2\tbob\tdisabled$' hd card list
  check "$name: audit --json is an array of records with the documented members" \
    json_eq "$(hd audit --json)" \
    'isinstance(j, list) and all({"time","user","method","serial","challenge_sha256","outcome","request_id"} <= set(r) for r in j)'
  check "$name: usage: missing argument (exit 2)" status 2 hd card add 00D4
  check "$name: usage: unknown subcommand (exit 2)" status 2 hd card frob
  check "$name: usage: --json where it does not belong (exit 2)" status 2 hd card add 00D4 dan --json
  check "$name: nothing was added by the refusals" \
    json_eq "$(hd card list --json)" 'len(j) == 2'
}

# The master key: a fresh SoftHSM2 token
softhsm_module=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
mkdir -m 700 "$work/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
  "$work" > "$work/softhsm2.conf"
export SOFTHSM2_CONF=$work/softhsm2.conf
softhsm2-util --init-token --free --label helpdesk-test --so-pin 10293847 --pin 56473829 >/dev/null
printf '56473829\n' > "$work/token-pin"
chmod 600 "$work/token-pin"
master=00112233445566778899AABBCCDDEEFF

# admin_key SERIAL: K_card = AES-128-ECB(master, SHA-256("cardpin-admin-key-v1" || SERIAL)[0..15])
admin_key () {
  printf 'cardpin-admin-key-v1%s' "$1" | openssl dgst -sha256 -binary | head -c 16 |
    openssl enc -aes-128-ecb -K "$master" -nopad | xxd -p | tr -d '\n' | tr a-f A-F
}

run_master_key () {
  local name=$1 database=$2
  local conf="$work/$name-mk.conf" hd challenge code expected out key
  printf '[service]\ndatabase=%s\npkcs11-module=%s\ntoken-label=helpdesk-test\ntoken-pin-file=%s\nmaster-key-label=master-%s\n' \
    "$database" "$softhsm_module" "$work/token-pin" "$name" > "$conf"
  hd () { "$helpdesk" --config "$conf" "$@"; }

  printf 'not hex\n' > "$work/bad.hex"
  check "$name: master-key import of a malformed file refused (exit 1)" \
    status 1 hd master-key import "$work/bad.hex"
  check "$name: master-key import of a missing file refused (exit 1)" \
    status 1 hd master-key import "$work/none.hex"
  check "$name: respond before any master key refused (exit 1)" \
    status 1 hd respond 00A1 <<<"$(format_code 00112233445566778899AABBCCDDEEFF)"
  printf '%s\n' "$master" | tr A-F a-f > "$work/master.hex"
  check_output "$name: master-key import" "Imported the master key" \
    hd master-key import "$work/master.hex"
  check "$name: master-key import again refused (exit 1)" \
    status 1 hd master-key import "$work/master.hex"
  check_output "$name: master-key create refused when the key exists" "already holds" \
    hd master-key create

  key=$(hd export-admin-key 00A1)
  check "$name: export-admin-key: 32 hex digits, equal to openssl's derivation" \
    test "$key" = "$(admin_key 00A1)"
  check "$name: export-admin-key of a malformed serial refused" status 1 hd export-admin-key "a b"

  challenge=0F1E2D3C4B5A69788796A5B4C3D2E1F0
  code=$(format_code "$challenge")
  expected=$(respond "$code" -aes-128-ecb "$(admin_key 00A1)")
  out=$(printf '%s\n' "$code" | hd respond 00A1 --reason "called, identity checked" --operator carol)
  check "$name: respond prints the response code openssl computes" \
    test "$(echo $out)" = "$(echo $expected)"
  out=$(printf '%s\n' "${code,,}" | tr ' ' '-' | hd respond 00A1)
  check "$name: respond accepts lower case and dashes" \
    test "$(echo $out)" = "$(echo $expected)"
  check "$name: respond refuses a wrong checksum (exit 1), saying it is a typo" \
    refused 1 "typo" hd respond 00A1 <<<"${code%????}0000"
  check "$name: respond refuses an empty input (exit 1)" status 1 hd respond 00A1 </dev/null
  check "$name: respond refuses an overlong line (exit 1)" \
    status 1 hd respond 00A1 <<<"$(head -c 5000 /dev/zero | tr '\0' 0)"
  check "$name: respond refuses a card not in the inventory (exit 1)" \
    status 1 hd respond 0NOPE <<<"$code"
  check "$name: respond refuses a disabled card (exit 1)" status 1 hd respond 00B2 <<<"$code"
  check "$name: --reason only where it belongs (exit 2)" status 2 hd card list --reason x
  check "$name: a reason with a line break refused before anything is done (exit 1)" \
    refused 1 "reason" hd respond 00A1 --reason $'two\nlines' </dev/null

  local audit
  audit=$(hd audit --json)
  check "$name: audit: the respond with operator, reason, user, challenge hash" json_eq "$audit" \
    "any(r['method'] == 'helpdesk-respond' and r['outcome'] == 'granted' and r['operator'] == 'carol' and r['reason'] == 'called, identity checked' and r['user'] == 'alice' and r['serial'] == '00A1' and r['challenge_sha256'] == '$(printf '%s' "$challenge" | xxd -r -p | sha256sum | cut -c1-64)' for r in j)"
  check "$name: audit: the operator defaults to the login name" json_eq "$audit" \
    "any(r['method'] == 'helpdesk-respond' and r['outcome'] == 'granted' and r['operator'] == '$(id -un)' and r['reason'] is None for r in j)"
  check "$name: audit: refusals recorded (typo, unknown card, disabled card)" json_eq "$audit" \
    "{'bad-code', 'unknown-card', 'disabled'} <= {r['outcome'] for r in j}"
  check "$name: audit: the export recorded" json_eq "$audit" \
    "any(r['method'] == 'export-admin-key' and r['serial'] == '00A1' for r in j)"
  check "$name: audit: no response and no admin key in it" \
    fails grep -qi -e "${expected%%check*}" -e "$(echo "${expected%%check*}" | tr -d ' ')" -e "$key" <<<"$audit"
}

run_backend sqlite "$work/unblock.sqlite"
check "sqlite: the database file is private (0600)" \
  test "$(stat -c %a "$work/unblock.sqlite")" = 600
run_backend postgresql "$CARDPIN_TEST_PG_URI"
run_master_key sqlite "$work/unblock.sqlite"
check "sqlite: no response or admin key in the database file" \
  fails grep -qi -e "$(admin_key 00A1)" "$work/unblock.sqlite"
# (the master key does not depend on the backend; test-store covers the audit on both)

# hardened first thing (cardpin_process_harden): no core dumps while it waits for a code
hardened () {
  local conf=$1 pid limits= ok=1
  sleep 10 | "$helpdesk" --config "$conf" respond 00A1 >/dev/null 2>&1 &
  pid=$!
  # until it waits for the code (it hardens itself before that), at most 8 s
  for _ in $(seq 80); do
    if [ "$(cat /proc/$pid/comm 2>/dev/null)" = cardpin-helpdes ]; then
      limits=$(grep "Max core file size" /proc/$pid/limits 2>/dev/null)
      if [[ "$limits" =~ ^Max\ core\ file\ size\ +0\ +0\  ]]; then ok=0; break; fi
    fi
    sleep 0.1
  done
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  echo "$limits"
  return $ok
}
check "the helpdesk turns core dumps off at start" hardened "$work/sqlite-mk.conf"

check "no --config: usage error (exit 2)" status 2 "$helpdesk" card list
check "missing configuration file refused (exit 1)" \
  status 1 "$helpdesk" --config "$work/none.conf" card list
printf '[other]\n' > "$work/nogroup.conf"
check_output "configuration without [service] refused" "no group \[service\]" \
  "$helpdesk" --config "$work/nogroup.conf" card list
printf '[service]\nlisten=127.0.0.1:1\n' > "$work/nodb.conf"
check_output "configuration without database refused" "lacks “database”" \
  "$helpdesk" --config "$work/nodb.conf" card list
printf '[service]\ndatabase=postgresql:///x?host=%s/none&user=cardpin&password=CanaryPw1\n' "$work" > "$work/pw.conf"
check "unreachable PostgreSQL refused (exit 1)" status 1 "$helpdesk" --config "$work/pw.conf" card list
check "… without printing the URI's password" \
  fails grep -q CanaryPw1 <("$helpdesk" --config "$work/pw.conf" card list 2>&1)

tap_done
