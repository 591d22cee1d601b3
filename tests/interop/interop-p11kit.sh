#!/bin/bash
# Interop: through p11-kit's proxy module, OpenSC's PKCS#11 module lists the virtual
# card's token with its two certificates and signs with key 9A after C_Login; the
# signature verifies against the certificate read from the card.
# Runs inside cardpin-test-stack with a fresh card in reader 0.
. "$(dirname "$0")/tap.sh"

work="$CARDPIN_TEST_DIR/p11kit"
mkdir -p "$work"
proxy="$(dirname "$CARDPIN_OPENSC_MODULE")/../p11-kit-proxy.so"
[ -e "$proxy" ] || proxy="$(dirname "$CARDPIN_OPENSC_MODULE")/p11-kit-proxy.so"
[ -e "$proxy" ] || proxy=/usr/lib/x86_64-linux-gnu/p11-kit-proxy.so
# an empty SoftHSM2 configuration: only the card's token matters here
printf 'directories.tokendir = %s\n' "$work" > "$work/softhsm2.conf"
export SOFTHSM2_CONF="$work/softhsm2.conf"

p11 () { pkcs11-tool --module "$proxy" --token-label "$label" "$@"; }

check_output "p11-kit lists OpenSC's module with the card's token" \
  "token:" p11-kit list-modules
label=$(p11-kit list-modules 2>/dev/null | awk '/opensc-pkcs11/ {m=1} m && /token:/ {sub(/^[[:space:]]*token:[[:space:]]*/, ""); print; exit}')
check "the token has a label" test -n "$label"
check_output "the token shows the card's serial (last 16 GUID digits)" "serial num *: *8899aabbccc0ffee" \
  pkcs11-tool --module "$proxy" --list-token-slots
certs=$(p11 --list-objects --type cert 2>&1 | grep -c "Certificate Object")
check "two certificates (9A and 9C)" test "$certs" -eq 2
check_output "the 9A certificate has the chosen subject" "CN ?= ?Interop Tester" \
  sh -c "pkcs11-tool --module '$proxy' --token-label '$label' --read-object --type cert --id 01 | openssl x509 -inform DER -noout -subject"

head -c 1000 /dev/urandom > "$work/data"
check "sign with 9A after C_Login" \
  p11 --login --pin 123456 --sign --id 01 --mechanism SHA256-RSA-PKCS \
      --input-file "$work/data" --output-file "$work/sig"
p11 --read-object --type cert --id 01 --output-file "$work/cert.der" >/dev/null 2>&1
openssl x509 -inform DER -in "$work/cert.der" -pubkey -noout > "$work/pub.pem" 2>/dev/null
check_output "the signature verifies with the card's certificate" "Verified OK" \
  openssl dgst -sha256 -verify "$work/pub.pem" -signature "$work/sig" "$work/data"
check "signing without login is refused" \
  fails p11 --sign --id 01 --mechanism SHA256-RSA-PKCS --input-file "$work/data" \
            --output-file "$work/sig2"
check "a wrong PIN is refused" fails p11 --login --pin 000000 --list-objects
check "a second wrong PIN is refused" fails p11 --login --pin 000000 --list-objects
check_output "and the counter is down to its final try" "final user PIN try" \
  pkcs11-tool --module "$proxy" --list-token-slots
check "the right PIN still logs in" p11 --login --pin 123456 --list-objects

tap_done
