#!/bin/bash
# README command one: install what is needed, build, start a private pcscd with two
# virtual PIV cards and open the app against them, so every offline flow can be tried
# in the first minute:
#   reader "Virtual PCD 00 00": "Demo Card" — healthy, PIN 123456, PUK 12345678 (the PIV
#                               factory values: the app asks to set up a personal PIN)
#   reader "Virtual PCD 00 01": "Blocked Demo Card" — PIN blocked, PUK 12345678, and an
#                               admin key from a demo helpdesk, so it can be unblocked
#                               with the PUK or with a response code from the helpdesk.
# The demo helpdesk is the real cardpin-helpdesk on a SoftHSM2 token with its own master
# key and SQLite inventory; this script prints the command that answers a challenge.
#
# The cards keep their state in ~/.local/share/cardpin-demo between runs;
#   ./build-aux/demo.sh --reset   starts again with fresh cards and a fresh helpdesk.
# Nothing touches the system's pcscd or SoftHSM2 tokens.
set -euo pipefail
cd "$(dirname "$0")/.."
top="$PWD"

if [ "${1:-}" = "--reset" ]; then
  shift
  rm -rf "${XDG_DATA_HOME:-$HOME/.local/share}/cardpin-demo"
fi

build-aux/install-deps.sh
build-aux/build.sh

dir="${XDG_DATA_HOME:-$HOME/.local/share}/cardpin-demo"
stack="$top/_build/tests/stack/cardpin-test-stack"
helpdesk="$top/_build/server/cardpin-helpdesk"
module="$(pkg-config --variable=p11_module_path p11-kit-1)/opensc-pkcs11.so"
healthy_serial=4341524450494E00000000000000DE30
blocked_serial=4341524450494E00000000000000DE31
healthy="--serial $healthy_serial --subject 'Demo Card' --state '$dir/card.state'"
blocked_base="--serial $blocked_serial --subject 'Blocked Demo Card' --state '$dir/blocked.state'"

# The demo helpdesk and unblock service, once (build-aux/demo-service.sh): the real
# cardpin-unblockd and cardpin-helpdesk on one SQLite database, the master key in a
# SoftHSM2 token of their own, a test CA, and one demo account (your login name, checked
# by PAM through pam_wrapper: no system account is touched). The blocked card is in the
# inventory for that account, and its admin key is the one derived from the master key.
service_dir="$dir/service"
if [ ! -f "$service_dir/blocked-admin-key" ]; then
  rm -rf "$service_dir" "$dir/blocked.state"
  mkdir -p "$dir"
  chmod 700 "$dir"
  (umask 077; build-aux/demo-service.sh setup "$service_dir" "$blocked_serial" "$(id -un)" \
     > "$service_dir.admin-key.tmp")
  mv "$service_dir.admin-key.tmp" "$service_dir/blocked-admin-key"
  # the helpdesk's command, one line to type in another terminal
  cat > "$dir/helpdesk-respond" <<SCRIPT
#!/bin/sh
# The demo helpdesk answers the challenge of the "Blocked Demo Card": type the challenge
# the app shows, read back the response code it prints.
SOFTHSM2_CONF="$service_dir/softhsm2.conf" exec "$helpdesk" --config "$service_dir/unblockd.conf" \\
  respond $blocked_serial --reason "cardpin demo" "\$@"
SCRIPT
  chmod 755 "$dir/helpdesk-respond"
  # block the card's PIN the way a user does: three wrong PINs
  "$stack" --readers 2 --card "1:$blocked_base --admin-key $(cat "$service_dir/blocked-admin-key")" -- \
    sh -c 'for i in 1 2 3; do
             yubico-piv-tool -r "$CARDPIN_TEST_READER1" -a verify-pin -P 999999 >/dev/null 2>&1
           done; true'
fi
blocked="$blocked_base --admin-key $(cat "$service_dir/blocked-admin-key")"

# The online method: the demo service runs while the app is open; the app finds it
# through its settings, a keyfile settings backend in the demo's folder, so the
# desktop's own settings are left alone.
service_url=$(build-aux/demo-service.sh start "$service_dir")
trap 'build-aux/demo-service.sh stop "$service_dir"' EXIT
export GSETTINGS_SCHEMA_DIR="$top/_build/data"
export GSETTINGS_BACKEND=keyfile
export XDG_CONFIG_HOME="$dir/config"
mkdir -p "$XDG_CONFIG_HOME/glib-2.0/settings"
cat > "$XDG_CONFIG_HOME/glib-2.0/settings/keyfile" <<KEYS
[io/github/cardpin/CardPin]
unblock-server-url='$service_url'
unblock-server-ca='$service_dir/ca.pem'
KEYS

cat <<MSG

  Smart Card PIN demo: two virtual cards
  --------------------------------------
  "Demo Card" (reader Virtual PCD 00 00): PIN 123456, PUK 12345678, the PIV factory
      values; set up a personal PIN, change it, change the PUK.
  "Blocked Demo Card" (reader Virtual PCD 00 01): PIN blocked. Unblock it
    - with the PUK 12345678, or
    - with your helpdesk: choose "Unblock with Your Helpdesk", then in another
      terminal run the helpdesk's command and type the challenge the app shows:

          $dir/helpdesk-respond

      Type the response code it prints into the app (a typo is caught before the
      card sees it), or
    - online: choose "Unblock Online"; the demo unblock service at $service_url
      signs in "$(id -un)" with the password $(cat "$service_dir/demo-password")
      (an account of the demo service only).

  Cards keep their state between runs: ./build-aux/demo.sh --reset for fresh ones.
  Close the window to stop the demo stack.

MSG

"$stack" --readers 2 --card "0:$healthy" --card "1:$blocked" \
  -- _build/app/cardpin --module "$module" "$@"
