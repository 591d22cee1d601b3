#!/bin/bash
# README command one: install what is needed, build, start a private pcscd with a
# virtual PIV card, and open the app against it. The card keeps its state (PIN, tries)
# in ~/.local/share/cardpin-demo between runs; delete that folder for a new card.
set -euo pipefail
cd "$(dirname "$0")/.."
build-aux/install-deps.sh
build-aux/build.sh

state_dir="${XDG_DATA_HOME:-$HOME/.local/share}/cardpin-demo"
mkdir -p "$state_dir"
module="$(pkg-config --variable=p11_module_path p11-kit-1)/opensc-pkcs11.so"

serial=4341524450494E00000000000000DE30

# The online unblock method: a local unblock service (SQLite + SoftHSM2) with one demo
# account, the login name, checked by PAM through pam_wrapper (no system account is
# touched). The card gets the admin key the service derives for its serial when it is
# made; a card saved by an older demo keeps the factory key (delete the folder).
service_dir="$state_dir/service"
admin_key=$(build-aux/demo-service.sh setup "$service_dir" "$serial" "$(id -un)")
service_url=$(build-aux/demo-service.sh start "$service_dir")
trap 'build-aux/demo-service.sh stop "$service_dir"' EXIT

# The app finds the service through its settings: a keyfile settings backend in the
# demo's folder, so the desktop's own settings are left alone.
export GSETTINGS_SCHEMA_DIR="$PWD/_build/data"
export GSETTINGS_BACKEND=keyfile
export XDG_CONFIG_HOME="$state_dir/config"
mkdir -p "$XDG_CONFIG_HOME/glib-2.0/settings"
cat > "$XDG_CONFIG_HOME/glib-2.0/settings/keyfile" <<KEYS
[io/github/cardpin/CardPin]
unblock-server-url='$service_url'
unblock-server-ca='$service_dir/ca.pem'
KEYS

cat <<MSG
Demo card in "Virtual PCD 00 00": PIN 123456, PUK 12345678 (the PIV factory
defaults) until you change them. Close the window to stop the demo stack.
Online unblock: the demo service at $service_url signs in "$(id -un)" with the
password $(cat "$service_dir/demo-password") (a demo account of the service only).
MSG

_build/tests/stack/cardpin-test-stack --readers 2 \
  --card "0:--serial $serial --subject 'Demo User' --admin-key $admin_key --state '$state_dir/card.state'" \
  -- _build/app/cardpin --module "$module" "$@"
