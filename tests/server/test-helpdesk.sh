#!/bin/bash
# test-helpdesk.sh — cardpin-helpdesk's card and audit subcommands on SQLite and on the
# private PostgreSQL server that pg-private.sh runs around this script: output, JSON,
# exit statuses, refusals that change nothing.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
. "$(dirname "$0")/../interop/tap.sh"

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
  check "$name: card add twice refused (exit 1)" status 1 hd card add 00A1 mallory
  check_output "$name: … with a message" "already in the inventory" hd card add 00A1 mallory
  check "$name: malformed serial refused" status 1 hd card add "a b" alice
  check "$name: malformed user refused" status 1 hd card add 00C3 "x y"
  check "$name: card disable" hd card disable 00B2
  check "$name: disable unknown card refused" status 1 hd card disable FFFF
  check_output "$name: … saying so" "not in the inventory" hd card disable FFFF
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

run_backend sqlite "$work/unblock.sqlite"
check "sqlite: the database file is private (0600)" \
  test "$(stat -c %a "$work/unblock.sqlite")" = 600
run_backend postgresql "$CARDPIN_TEST_PG_URI"

check "no --config: usage error (exit 2)" status 2 "$helpdesk" card list
check "missing configuration file refused (exit 1)" \
  status 1 "$helpdesk" --config "$work/none.conf" card list
printf '[other]\n' > "$work/nogroup.conf"
check_output "configuration without [service] refused" "no \[service\] group" \
  "$helpdesk" --config "$work/nogroup.conf" card list
printf '[service]\nlisten=127.0.0.1:1\n' > "$work/nodb.conf"
check_output "configuration without database refused" "does not set “database”" \
  "$helpdesk" --config "$work/nodb.conf" card list
printf '[service]\ndatabase=postgresql:///x?host=%s/none&user=cardpin&password=CanaryPw1\n' "$work" > "$work/pw.conf"
check "unreachable PostgreSQL refused (exit 1)" status 1 "$helpdesk" --config "$work/pw.conf" card list
check "… without printing the URI's password" \
  fails grep -q CanaryPw1 <("$helpdesk" --config "$work/pw.conf" card list 2>&1)

tap_done
