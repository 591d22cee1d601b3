#!/bin/bash
# Installs the Debian 12 packages cardpin needs to build, test and run its demo.
# Runs apt-get only when something is missing; uses sudo when not root.
set -euo pipefail

packages=(
  # build
  gcc pkg-config meson ninja-build gettext appstream desktop-file-utils groff-base
  libglib2.0-dev libglib2.0-dev-bin libgtk-4-dev libadwaita-1-dev
  libp11-kit-dev libpcsclite-dev libssl-dev libjson-glib-dev
  libsecret-1-dev libsoup-3.0-dev libsqlite3-dev libpam0g-dev
  glib-networking
  # the real card stack (only the card itself is emulated)
  pcscd vsmartcard-vpcd opensc opensc-pkcs11 p11-kit
  # tests
  softhsm2 yubico-piv-tool openssl xxd curl python3 xvfb xauth dbus gnome-keyring
  libpam-wrapper libpamtest0-dev pamtester
  # the login screen: GNOME 43 needs an NSS database with p11-kit-proxy (modutil)
  libnss3-tools p11-kit-modules
  # bench-pam: the helper's peak memory (GNU time)
  time
  # central configuration tests: a real dconf database
  dconf-cli dconf-service
  # the helpdesk side: a real PostgreSQL server for the storage tests, wrk for the benchmark
  libpq-dev postgresql wrk
  # UI tests through the accessibility tree
  at-spi2-core python3-pyatspi python3-dogtail gir1.2-gtk-3.0
  # ui-style: the desktop's colour scheme (org.gnome.desktop.interface)
  gsettings-desktop-schemas
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
echo "Installing: ${missing[*]}"
"${sudo[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
