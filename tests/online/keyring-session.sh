#!/bin/sh
# keyring-session.sh COMMAND [ARG...] — runs COMMAND with a real Secret Service of its own:
# a private D-Bus session bus (dbus-run-session) and gnome-keyring-daemon unlocked with a
# throw-away password on stdin, in a private HOME and runtime directory. Nothing touches
# the user's session or keyring.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -eu

if [ -z "${CARDPIN_KEYRING_INNER:-}" ]; then
  dir=$(mktemp -d "${TMPDIR:-/tmp}/cardpin-keyring-XXXXXX")
  trap 'rm -rf "$dir"' EXIT
  mkdir -m 700 "$dir/home" "$dir/run"
  # the bus and what it starts (the accessibility registry says on stdout that it runs)
  # write to stderr; only COMMAND writes to stdout (fd 3 inside), which may be TAP
  HOME="$dir/home" XDG_RUNTIME_DIR="$dir/run" XDG_DATA_HOME="$dir/home/.local/share" \
  CARDPIN_KEYRING_INNER=1 \
    dbus-run-session -- "$0" "$@" 3>&1 1>&2
  exit $?
fi

# inside the private bus: the daemon reads the login password from stdin and unlocks
# (creating) the "login" keyring, which is the default collection. G_DEBUG is the tests',
# not the daemon's: fatal-warnings would abort it on its own harmless warnings.
printf 'cardpin-test-keyring' | env -u G_DEBUG gnome-keyring-daemon --foreground --unlock \
  --components=secrets >/dev/null 2>"${CARDPIN_KEYRING_LOG:-/dev/null}" &
daemon=$!
trap 'kill "$daemon" 2>/dev/null || true' EXIT
gdbus wait --session --timeout 20 org.freedesktop.secrets
"$@" 1>&3 3>&-
