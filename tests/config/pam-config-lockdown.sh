#!/bin/bash
# Central configuration (issue 11 item 2), login screen: the values an administrator
# locks in dconf for the desktop, written in /etc/cardpin/cardpin.conf for the PAM helper
# (here through the module's config= argument), are obeyed at the login screen:
# only the allowed method is offered and a new PIN shorter than the minimum is refused
# before anything reaches the card. pamtester is the PAM client (pam_wrapper).
# usage: pam-config-lockdown.sh PAM_CARDPIN HELPER PAM_WRAPPER_LIB PAM_PERMIT
# Runs inside cardpin-test-stack with a fresh card in reader 0.
# Test PINs of the emulated card only; they are not secrets.
. "$(dirname "$0")/../interop/tap.sh"

module=$1 helper=$2 wrapper=$3 permit=$4
reader="$CARDPIN_TEST_READER0"
work="$CARDPIN_TEST_DIR/pam-config"
mkdir -p "$work/services"
export SOFTHSM2_CONF=/dev/null

# The same keys as the dconf database of dconf-lockdown.sh
cat > "$work/cardpin.conf" <<'KEYS'
[cardpin]
allowed-unblock-methods=['puk']
pin-min-length=uint32 8
KEYS
printf 'auth [success=ok ignore=ignore default=die] %s helper=%s config=%s module=%s\nauth required %s\n' \
  "$module" "$helper" "$work/cardpin.conf" "$CARDPIN_OPENSC_MODULE" "$permit" > "$work/services/gdm-smartcard"

ypt () { yubico-piv-tool -r "$reader" "$@"; }
# pamtester with answers on stdin, one per prompt; prints the conversation
login_screen () {
  printf '%s\n' "$@" | LD_PRELOAD="$wrapper" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$work/services" \
    pamtester -v gdm-smartcard "" authenticate 2>&1
}

for i in 1 2 3; do ypt -a verify-pin -P 111111 >/dev/null 2>&1; done
check_output "PIN blocked" "PIN tries left:[[:space:]]*0" ypt -a status

out=$(login_screen 12345678 135790 135790 135790 135790 135790 135790)
printf '%s\n' "$out" > "$work/short.log"
check_output "only the allowed method: the PUK is asked, no choice of methods" "PUK" cat "$work/short.log"
check "no helpdesk challenge is shown" fails grep -q "check [0-9A-F]\{4\}" "$work/short.log"
check_output "a 6-digit new PIN is refused with the locked minimum" "at least 8" cat "$work/short.log"
check_output "the card was not touched: PIN still blocked, PUK tries 3" "PIN tries left:[[:space:]]*0" ypt -a status
check_output "... PUK counter untouched" '"puk_tries_left" : 3' "$CARDPIN_TOOL" status --json

out=$(login_screen 12345678 13579024 13579024)
printf '%s\n' "$out" > "$work/ok.log"
check_output "an 8-digit new PIN is set through the PUK" "unblocked" cat "$work/ok.log"
check "yubico-piv-tool verifies it" ypt -a verify-pin -P 13579024

cat "$work/short.log" "$work/ok.log" >&2
tap_done
