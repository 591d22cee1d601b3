#!/bin/bash
# Cross-checks (issue 3 item 11): cardpin's PIN operations seen by independent tools.
# - a PIN changed by cardpin-tool verifies with yubico-piv-tool;
# - an admin challenge/response unblock answered with a response computed by the
#   openssl command line from the known admin key (checksum by an independent
#   implementation of the DESIGN.md CRC) is accepted, and OpenSC's pkcs11-tool then
#   logs in with the new PIN;
# - a response code with a typo is refused before the card sees it, and asked again.
# Runs inside cardpin-test-stack: reader 0 holds an AES-128 admin-key card, reader 1 a
# 3DES one, both started with -v (their logs count the APDUs). Test PINs and keys of the
# emulated cards only.
. "$(dirname "$0")/tap.sh"

module="$CARDPIN_OPENSC_MODULE"
tool="$CARDPIN_TOOL"
export SOFTHSM2_CONF=/dev/null
aes_key=00112233445566778899AABBCCDDEEFF
des_key=0102030405060708090A0B0C0D0E0F101112131415161718

ypt () { local r="$1"; shift; yubico-piv-tool -r "$r" "$@"; }
# the PKCS#11 slot ID of a reader, from "Slot 1 (0x13): Virtual PCD 00 01"
slot_of () { pkcs11-tool --module "$module" -L 2>/dev/null | awk -v r="$1" '/^Slot/ && index($0, r) { gsub(/[():]/, "", $3); print $3; exit }'; }
opensc_login () { pkcs11-tool --module "$module" --slot "$(slot_of "$1")" --login --pin "$2" --list-objects; }

. "$(dirname "$0")/respond.sh"

count_ga () { grep -c '^vcard: 00 87' "$CARDPIN_TEST_DIR/card-$1.log" || true; }

r0="$CARDPIN_TEST_READER0"
r1="$CARDPIN_TEST_READER1"

# --- change with cardpin, verify with yubico-piv-tool
check "cardpin-tool change" \
  "$tool" change --reader "$r0" --pin-fd 3 --new-pin-fd 4 3<<<123456 4<<<24681357
check "yubico-piv-tool verifies the new PIN" ypt "$r0" -a verify-pin -P 24681357
check "yubico-piv-tool refuses the old PIN" fails ypt "$r0" -a verify-pin -P 123456
check "the new PIN verifies again (counter reset)" ypt "$r0" -a verify-pin -P 24681357
# prints the tool's words and its exit status on one line
weak_change () {
  local out status
  out=$("$tool" change --reader "$r0" --pin-fd 3 --new-pin-fd 4 3<<<24681357 4<<<345678 2>&1)
  status=$?
  echo "$out exit status $status" | tr '\n' ' '
}
check_output "a weak new PIN (a run) is refused by the policy" "run of digits.*exit status 1" \
  weak_change
check "and the card keeps its PIN" ypt "$r0" -a verify-pin -P 24681357

# --- block it, then unblock with the challenge and an openssl-computed response
for i in 1 2 3; do ypt "$r0" -a verify-pin -P 111111 >/dev/null 2>&1; done
check_output "PIN blocked" '"pin_state":"locked"' sh -c "'$tool' status --json | tr -d ' \n'"

ga_before=$(count_ga 0)
check_output "a typo in the response code is refused, then the right code unblocks" \
  "typo|mistyped|checksum" unblock_challenge "$r0" -aes-128-ecb "$aes_key" 13572468 typo
check "the typo never reached the card: only the challenge and one response did" \
  test "$(( $(count_ga 0) - ga_before ))" -eq 2
check "pkcs11-tool (OpenSC) logs in with the new PIN" opensc_login "$r0" 13572468
check "yubico-piv-tool verifies it too" ypt "$r0" -a verify-pin -P 13572468

check "a wrong response (valid checksum) is refused" \
  fails unblock_challenge "$r0" -aes-128-ecb "FFEEDDCCBBAA99887766554433221100" 11223344
check "and changes nothing" ypt "$r0" -a verify-pin -P 13572468

# --- 3DES admin key
for i in 1 2 3; do ypt "$r1" -a verify-pin -P 111111 >/dev/null 2>&1; done
check "unblock --challenge with an openssl-computed 3DES response" \
  unblock_challenge "$r1" -des-ede3 "$des_key" 97531864
check "pkcs11-tool logs in with the new PIN on the 3DES card" opensc_login "$r1" 97531864

tap_done
