#!/bin/bash
# cardpin-tool unblock --online, everything that is decided before or without the
# service: options, settings, the PIN policy, an unreachable service, no keyring.
# Runs inside cardpin-test-stack with one virtual card (reader 0) whose PIN is blocked
# here. The exchanges with the real service are in test-unblock-online.
. "$(dirname "$0")/../interop/tap.sh"

tool="$CARDPIN_TOOL"
module="$CARDPIN_OPENSC_MODULE"
reader="Virtual PCD 00 00"
canary_pw='canary-Pw-41c7e2'
# a loopback port with nothing listening
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# no keyring, no session bus: --password-fd must not need one
unset DBUS_SESSION_BUS_ADDRESS

online () { "$tool" unblock --online --reader "$reader" --module "$module" "$@"; }
# password on fd 3, new PIN on fd 4
online_fds () { local pin="$1"; shift; online "$@" --password-fd 3 --new-pin-fd 4 3<<<"$canary_pw" 4<<<"$pin"; }
tries () { "$tool" status --json --module "$module" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["pin_tries_left"])'; }

for _ in 1 2 3; do yubico-piv-tool -r "$reader" -a verify-pin -P 99999999 >/dev/null 2>&1 || true; done
check "the PIN is blocked" test "$(tries)" = 0

check_output "no service configured: says so, exit 1" "not set up.*PUK|helpdesk" \
  bash -c '! "$0" unblock --online --password-fd 3 3<<<x' "$tool"
check_output "only https" "must look like https://" \
  bash -c '! "$0" unblock --online --server http://127.0.0.1:1/ --password-fd 3 3<<<x' "$tool"
check_output "--online and --challenge do not mix" "give one of --puk, --challenge or --online" \
  bash -c '! "$0" unblock --online --challenge' "$tool"
check_output "--server without --online is refused" "go with --online" \
  bash -c '! "$0" unblock --puk --server https://127.0.0.1:1/' "$tool"
check_output "an empty password line is refused" "password read from file descriptor 3 is empty" \
  bash -c '! "$0" unblock --online --server https://127.0.0.1:1/ --password-fd 3 3<<<""' "$tool"
check_output "no password at all is refused" "input ended before a secret was read" \
  bash -c '! "$0" unblock --online --server https://127.0.0.1:1/ --password-fd 3 3</dev/null' "$tool"

# the policy is checked before the service is asked: no connection attempt at all
out=$(online_fds 234567 --server "https://127.0.0.1:$closed/" 2>&1); status=$?
check "a weak new PIN: exit 1" test $status = 1
check_output "a weak new PIN: the policy says why, not the network" "[Rr]un|[Ss]equence|[Cc]hoose" \
  printf '%s\n' "$out"
check "a weak new PIN: nothing about the service" fails grep -q "Cannot reach" <<<"$out"

out=$(online_fds 73920584 --server "https://127.0.0.1:$closed/" 2>&1); status=$?
check "service unreachable: exit 1" test $status = 1
check_output "service unreachable: what to do next" "Cannot reach the unblock service.*helpdesk" \
  printf '%s\n' "$out"
check "the password never appears in the output" fails grep -q "$canary_pw" <<<"$out"
check "the card was released untouched (still blocked)" test "$(tries)" = 0

check_output "an unreadable CA file is named" "certificate authority file /nonexistent/ca.pem" \
  bash -c "$(declare -f online online_fds); tool='$tool' module='$module' reader='$reader' canary_pw='$canary_pw'; ! online_fds 73920584 --server https://127.0.0.1:$closed/ --ca-file /nonexistent/ca.pem"

check_output "forgetting without a keyring: a clear error" "keyring|not remembered" \
  bash -c '! "$0" unblock --online --server https://127.0.0.1:1/ --forget-device' "$tool"

tap_done
