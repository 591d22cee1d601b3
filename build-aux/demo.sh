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
hd="$dir/helpdesk"
stack="$top/_build/tests/stack/cardpin-test-stack"
helpdesk="$top/_build/server/cardpin-helpdesk"
module="$(pkg-config --variable=p11_module_path p11-kit-1)/opensc-pkcs11.so"
healthy_serial=4341524450494E00000000000000DE30
blocked_serial=4341524450494E00000000000000DE31
healthy="--serial $healthy_serial --subject 'Demo Card' --state '$dir/card.state'"
blocked_base="--serial $blocked_serial --subject 'Blocked Demo Card' --state '$dir/blocked.state'"

# The demo helpdesk, once: a SoftHSM2 token of its own with the master key, the blocked
# card in its inventory, and the card's admin key derived from the master key.
if [ ! -f "$hd/admin-key" ]; then
  rm -rf "$hd" "$dir/blocked.state"
  mkdir -p "$hd/tokens"
  chmod 700 "$dir" "$hd"
  printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$hd" > "$hd/softhsm2.conf"
  export SOFTHSM2_CONF="$hd/softhsm2.conf"
  (umask 077; openssl rand -hex 8 > "$hd/token-pin")
  # a throw-away token for the demo: softhsm2-util takes its PINs on the command line
  softhsm2-util --init-token --free --label cardpin-demo \
    --so-pin "$(openssl rand -hex 8)" --pin "$(cat "$hd/token-pin")" >/dev/null
  cat > "$hd/unblockd.conf" <<CONF
[service]
database=$hd/helpdesk.db
pkcs11-module=/usr/lib/softhsm/libsofthsm2.so
token-label=cardpin-demo
token-pin-file=$hd/token-pin
master-key-label=cardpin-demo-master
CONF
  H=("$helpdesk" --config "$hd/unblockd.conf")
  "${H[@]}" master-key create >/dev/null
  "${H[@]}" card add "$blocked_serial" "$(id -un)" >/dev/null
  (umask 077; "${H[@]}" export-admin-key "$blocked_serial" --reason "cardpin demo" \
     > "$hd/admin-key")
  # the helpdesk's command, one line to type in another terminal
  cat > "$dir/helpdesk-respond" <<SCRIPT
#!/bin/sh
# The demo helpdesk answers the challenge of the "Blocked Demo Card": type the challenge
# the app shows, read back the response code it prints.
SOFTHSM2_CONF="$hd/softhsm2.conf" exec "$helpdesk" --config "$hd/unblockd.conf" \\
  respond $blocked_serial --reason "cardpin demo" "\$@"
SCRIPT
  chmod 755 "$dir/helpdesk-respond"
  # block the card's PIN the way a user does: three wrong PINs
  "$stack" --readers 2 --card "1:$blocked_base --admin-key $(cat "$hd/admin-key")" -- \
    sh -c 'for i in 1 2 3; do
             yubico-piv-tool -r "$CARDPIN_TEST_READER1" -a verify-pin -P 999999 >/dev/null 2>&1
           done; true'
fi
blocked="$blocked_base --admin-key $(cat "$hd/admin-key")"

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
      card sees it).

  Cards keep their state between runs: ./build-aux/demo.sh --reset for fresh ones.
  Close the window to stop the demo stack.

MSG

exec "$stack" --readers 2 --card "0:$healthy" --card "1:$blocked" \
  -- _build/app/cardpin --module "$module" "$@"
