#!/bin/bash
# Interop (issue 7 item 14): an administrator personalises the virtual card with
# yubico-piv-tool as they would a real card — a new management key, a key pair generated
# on the card, a certificate issued for it by a CA (made with the openssl command line:
# yubico-piv-tool 2.2's own selfsign-certificate is broken with OpenSSL 3) and imported,
# a new CHUID — and OpenSC, cardpin and the admin challenge/response unblock then see the
# personalised card.
# Runs inside cardpin-test-stack with a fresh card in reader 0 (started with -v).
# Test PINs and keys of the emulated card only; they are not secrets.
. "$(dirname "$0")/tap.sh"

reader="$CARDPIN_TEST_READER0"
module="$CARDPIN_OPENSC_MODULE"
tool="$CARDPIN_TOOL"
work="$CARDPIN_TEST_DIR/personalise"
mkdir -p "$work"
export SOFTHSM2_CONF=/dev/null
new_key=112233445566778899AABBCCDDEEFF001122334455667788

ypt () { yubico-piv-tool -r "$reader" "$@"; }
p11 () { pkcs11-tool --module "$module" --slot-index 0 "$@"; }

make_certificate () {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=Test Issuing CA" \
    -keyout "$work/ca.key" -out "$work/ca.pem" -days 30 &&
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/throwaway.key" \
    -subj "/CN=Issued Holder" -out "$work/req.pem" &&
  openssl x509 -req -in "$work/req.pem" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
    -CAcreateserial -force_pubkey "$work/pub.pem" -days 30 -out "$work/cert.pem"
}

# signs with the card's 9A key through OpenSC and verifies with the issued certificate
sign_and_verify () {
  printf 'personalised card\n' > "$work/data" &&
  p11 --login --pin 123456 --sign --id 01 -m ECDSA-SHA256 --signature-format openssl \
    --input-file "$work/data" --output-file "$work/sig" &&
  openssl x509 -in "$work/cert.pem" -pubkey -noout > "$work/certpub.pem" &&
  openssl dgst -sha256 -verify "$work/certpub.pem" -signature "$work/sig" "$work/data"
}

chuid_guid () { ypt -a status | awk '/^CHUID:/ { print toupper(substr($2, index($2, "3410") + 4, 32)) }'; }
cardpin_serial () { "$tool" status --json | sed -n 's/.*"serial" : "\([0-9A-F]*\)".*/\1/p'; }

check_output "set-mgm-key with the factory key" "Successfully set new management key" \
  ypt -a set-mgm-key -n "$new_key"
check "the factory key no longer authenticates" fails ypt -a generate -s 9a -A ECCP256 -o "$work/x.pem"
check "generate an EC key in 9a with the new key" \
  ypt --key="$new_key" -a generate -s 9a -A ECCP256 -o "$work/pub.pem"
check_output "the public key is P-256" "ASN1 OID: prime256v1" openssl pkey -pubin -in "$work/pub.pem" -text -noout
check "a CA issues a certificate for the card's key" make_certificate
check "import-certificate into 9a" \
  ypt --key="$new_key" -a import-certificate -s 9a -i "$work/cert.pem"
check_output "yubico-piv-tool sees the issued certificate" "Subject DN:[[:space:]]*CN=Issued Holder" \
  ypt -a status
check_output "... in an EC slot" "Algorithm:[[:space:]]*ECCP256" ypt -a status
check_output "OpenSC lists the issued certificate" "CN=Issued Holder" p11 --list-objects --type cert
check "the card signs with the generated key; the certificate verifies it" sign_and_verify

old_serial=$(cardpin_serial)
check_output "set-chuid" "Successfully set new CHUID" ypt --key="$new_key" -a set-chuid
new_guid=$(chuid_guid)
check "the CHUID changed" test -n "$new_guid" -a "$new_guid" != "$old_serial"
check_output "cardpin prints the new CHUID's GUID as the serial" "^$new_guid\$" cardpin_serial

# The new management key is the admin key of the challenge/response unblock
. "$(dirname "$0")/respond.sh"
for i in 1 2 3; do ypt -a verify-pin -P 111111 >/dev/null 2>&1; done
check_output "PIN blocked" "PIN tries left:[[:space:]]*0" ypt -a status
check_output "cardpin unblocks with a response computed from the new management key" \
  "PIN was unblocked" unblock_challenge "$reader" -des-ede3 "$new_key" 24681357
check "OpenSC logs in with the new PIN" p11 --login --pin 24681357 --list-objects

tap_done
