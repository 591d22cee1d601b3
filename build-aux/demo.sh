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

cat <<MSG
Demo card in "Virtual PCD 00 00": PIN 123456, PUK 12345678 (the PIV factory
defaults) until you change them. Close the window to stop the demo stack.
MSG

exec _build/tests/stack/cardpin-test-stack --readers 2 \
  --card "0:--serial 4341524450494E00000000000000DE30 --subject 'Demo User' --state '$state_dir/card.state'" \
  -- _build/app/cardpin --module "$module" "$@"
