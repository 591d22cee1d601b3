#!/bin/bash
# Interop: yubico-piv-tool, an independent PIV client, against the virtual card.
# Runs inside cardpin-test-stack with a fresh card in reader 0.
# Test PINs of the emulated card only; they are not secrets.
. "$(dirname "$0")/tap.sh"

reader="$CARDPIN_TEST_READER0"
module="$CARDPIN_OPENSC_MODULE"
export SOFTHSM2_CONF=/dev/null

ypt () { yubico-piv-tool -r "$reader" "$@"; }

opensc_flags () { pkcs11-tool --module "$module" --list-token-slots 2>&1 | grep "token flags"; }
opensc_login () { pkcs11-tool --module "$module" --slot-index 0 --login --pin "$1" --list-objects; }
cardpin_tries () { "$CARDPIN_TOOL" status --json | tr -d ' \n'; }

check_output "status reads the CHUID and the PIN tries" "PIN tries left:[[:space:]]*3" ypt -a status
check_output "status shows both certificates" "Slot 9c" ypt -a status
check "verify-pin with the right PIN" ypt -a verify-pin -P 123456
check "verify-pin with a wrong PIN fails" fails ypt -a verify-pin -P 999999
check_output "yubico-piv-tool sees 2 tries left" "PIN tries left:[[:space:]]*2" ypt -a status
check_output "cardpin sees the same counter" '"pin_tries_left":2' cardpin_tries
check "a wrong PIN through OpenSC fails" fails opensc_login 999999
check_output "yubico-piv-tool sees OpenSC's wrong try" "PIN tries left:[[:space:]]*1" ypt -a status
check_output "OpenSC flags the final try" "final user PIN try" opensc_flags
check_output "cardpin sees the final try" '"pin_state":"final-try","pin_tries_left":1' cardpin_tries
check "verify-pin resets the counter" ypt -a verify-pin -P 123456
check_output "counter back to 3" "PIN tries left:[[:space:]]*3" ypt -a status

check "change-pin" ypt -a change-pin -P 123456 -N 24681357
check "the old PIN no longer verifies" fails ypt -a verify-pin -P 123456
check "OpenSC logs in with the new PIN" opensc_login 24681357
check "OpenSC refuses the old PIN" fails opensc_login 123456

for i in 1 2 3; do ypt -a verify-pin -P 111111 >/dev/null 2>&1; done
check_output "PIN blocked for yubico-piv-tool" "PIN tries left:[[:space:]]*0" ypt -a status
check_output "PIN blocked for OpenSC" "user PIN locked" opensc_flags
check_output "PIN blocked for cardpin" '"pin_state":"locked","pin_tries_left":0' cardpin_tries
check "the right PIN no longer verifies" fails ypt -a verify-pin -P 24681357
check "unblock-pin with a wrong PUK fails" fails ypt -a unblock-pin -P 87654321 -N 13572468
check_output "cardpin sees the PUK try spent" '"puk_tries_left":2' cardpin_tries
check "unblock-pin with the PUK" ypt -a unblock-pin -P 12345678 -N 13572468
check "the new PIN verifies" ypt -a verify-pin -P 13572468
check_output "counter reset to 3" "PIN tries left:[[:space:]]*3" ypt -a status
check "OpenSC logs in with the unblocked PIN" opensc_login 13572468

tap_done
