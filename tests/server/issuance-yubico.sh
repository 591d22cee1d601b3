#!/bin/bash
# issuance-yubico.sh — issuing a card as an administrator would (issue 10 item 4): the
# helpdesk tool exports the card's admin key derived from the master key in a SoftHSM2
# token, yubico-piv-tool puts it on the card with -a set-mgm-key, and the helpdesk's
# offline response to the card's own challenge then unblocks the PIN through
# cardpin-tool. The same for the card's PUK (export-puk, -a change-puk): that PUK, the
# one the service gives for the card, unblocks the PIN through cardpin-tool unblock --puk. Debian 12's yubico-piv-tool 2.2 sets 3DES management keys only, hence
# `export-admin-key --3des` (the same K_card as a two-key 3DES key).
# Runs inside cardpin-test-stack with a fresh card in reader 0.
# Test PINs of the emulated card only; they are not secrets.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
. "$(dirname "$0")/../interop/tap.sh"

helpdesk=${CARDPIN_HELPDESK:?}
tool=${CARDPIN_TOOL:?}
reader="$CARDPIN_TEST_READER0"
work="$CARDPIN_TEST_DIR/issuance"
mkdir -m 700 -p "$work/tokens"

printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
  "$work" > "$work/softhsm2.conf"
export SOFTHSM2_CONF=$work/softhsm2.conf
softhsm2-util --init-token --free --label issuance --so-pin 10293847 --pin 56473829 >/dev/null
printf '56473829\n' > "$work/token-pin"
printf '[service]\ndatabase=%s\npkcs11-module=%s\ntoken-label=issuance\ntoken-pin-file=%s\nmaster-key-label=master\n' \
  "$work/unblock.sqlite" "${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}" "$work/token-pin" \
  > "$work/service.conf"
hd () { "$helpdesk" --config "$work/service.conf" "$@"; }
ypt () { yubico-piv-tool -r "$reader" "$@"; }
p11 () { SOFTHSM2_CONF=/dev/null pkcs11-tool --module "$CARDPIN_OPENSC_MODULE" --slot-index 0 "$@"; }

serial=$("$tool" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["serial"])')
check "cardpin-tool status gives the card's serial" test -n "$serial"
check "master-key create" hd master-key create
check "card add (the serial as cardpin-tool prints it)" hd card add "$serial" alice
key=$(hd export-admin-key "$serial" --3des --reason issuance)
check "export-admin-key --3des: 48 hex digits" test "${#key}" -eq 48
check "export-admin-key without --3des: 32 hex digits" test "$(hd export-admin-key "$serial" | tr -d '\n' | wc -c)" -eq 32
check "--3des only with export-admin-key (exit 2)" fails hd card list --3des
check_output "yubico-piv-tool -a set-mgm-key puts it on the card" "Successfully set new management key" \
  ypt -a set-mgm-key -n "$key"
check "the card's factory management key no longer works" fails ypt -a generate -s 9a -A ECCP256 -o "$work/x.pem"

for i in 1 2 3; do ypt -a verify-pin -P 111111 >/dev/null 2>&1; done
check_output "PIN blocked" '"pin_state" : "locked"' "$tool" status --json

# unblock --challenge answered by the helpdesk tool from the card's own challenge
. "$(dirname "$0")/../interop/respond.sh"
helpdesk_responder () { printf '%s\n' "$1" | hd respond "$serial" --reason "caller verified"; }
check_output "the helpdesk's response to the card's challenge unblocks it" "PIN was unblocked" \
  challenge_unblock "$reader" 24681357 "" helpdesk_responder
check "OpenSC logs in with the new PIN" p11 --login --pin 24681357 --list-objects
check "audit: the export and the response, for alice's card" python3 -c '
import json, subprocess, sys
j = json.loads(subprocess.run(sys.argv[1:], capture_output=True, text=True, check=True).stdout)
methods = [r["method"] for r in j if r["serial"] == "'"$serial"'" and r["outcome"] == "granted"]
sys.exit(0 if "export-admin-key" in methods and "helpdesk-respond" in methods else 1)
' "$helpdesk" --config "$work/service.conf" audit --json
check "the admin key is in no file the helpdesk wrote" fails grep -rqi "$key" "$work/unblock.sqlite"

# the PUK derived from the master key: set at issuance, then it unblocks the PIN
puk=$(hd export-puk "$serial" --reason issuance)
check "export-puk: 8 digits" grep -qx '[0-9]\{8\}' <<<"$puk"
check "export-puk gives the same PUK again" test "$(hd export-puk "$serial")" = "$puk"
check_output "yubico-piv-tool -a change-puk puts it on the card" "Successfully changed the puk code" \
  ypt -a change-puk -P 12345678 -N "$puk"
for i in 1 2 3; do ypt -a verify-pin -P 111111 >/dev/null 2>&1; done
check_output "PIN blocked again" '"pin_state" : "locked"' "$tool" status --json
check "the card's factory PUK no longer works" fails "$tool" unblock --puk --reader "$reader" \
  --puk-fd 3 --new-pin-fd 4 3<<<12345678 4<<<35792468
check_output "the derived PUK unblocks the PIN (cardpin-tool unblock --puk)" "PIN was unblocked" \
  "$tool" unblock --puk --reader "$reader" --puk-fd 3 --new-pin-fd 4 3<<<"$puk" 4<<<35792468
check "OpenSC logs in with that PIN" p11 --login --pin 35792468 --list-objects
check "audit: the PUK exports" python3 -c '
import json, subprocess, sys
j = json.loads(subprocess.run(sys.argv[1:], capture_output=True, text=True, check=True).stdout)
sys.exit(0 if sum(r["method"] == "export-puk" and r["outcome"] == "granted" for r in j) == 2 else 1)
' "$helpdesk" --config "$work/service.conf" audit --json
check "the PUK is in no file the helpdesk wrote" fails grep -rq "$puk" "$work/unblock.sqlite"

tap_done
