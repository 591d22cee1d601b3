#!/bin/sh
# pg-private.sh — a private PostgreSQL server for tests, in a folder of its own
#
#   pg-private.sh start DIR   initdb + pg_ctl start in DIR; prints the postgresql:// URI
#   pg-private.sh stop DIR    stops it (DIR stays; the caller removes it)
#   pg-private.sh restart DIR stops and starts it again, its data kept
#   pg-private.sh run CMD ARG…  starts one in a new temporary folder, runs CMD with
#                             CARDPIN_TEST_PG_URI (the URI) and CARDPIN_TEST_PG_SOCKET (the
#                             socket folder) set, then stops it and removes the folder
#                             whatever CMD did; exits with CMD's status
#
# The server listens on a Unix socket in DIR only (no TCP port, so parallel tests never
# collide), trusts local connections of the role "cardpin", and runs without fsync: it
# is a test server. PG_PRIVATE_DURABLE=1 makes it durable (fsync, synchronous commits),
# as a production server is: for benchmarks. As root, PostgreSQL runs as the user "postgres" (or "nobody"), since
# it refuses to run as root.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -eu

usage() {
  echo "usage: $0 start DIR | stop DIR" >&2
  exit 2
}

[ $# -ge 2 ] || usage
action=$1

if [ "$action" = run ]; then
  shift
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/cardpin-pg-XXXXXX")
  cleanup() {
    "$0" stop "$tmp" || true
    rm -rf "$tmp"
  }
  trap cleanup EXIT
  trap 'exit 129' HUP
  trap 'exit 130' INT
  trap 'exit 143' TERM
  CARDPIN_TEST_PG_URI=$("$0" start "$tmp")
  CARDPIN_TEST_PG_SOCKET=$tmp/socket
  export CARDPIN_TEST_PG_URI CARDPIN_TEST_PG_SOCKET
  status=0
  "$@" || status=$?
  exit $status
fi

[ $# -eq 2 ] || usage
dir=$(cd "$2" && pwd)

bindir=${PG_BINDIR:-}
if [ -z "$bindir" ]; then
  for candidate in /usr/lib/postgresql/*/bin; do
    [ -x "$candidate/initdb" ] && bindir=$candidate
  done
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "$0: PostgreSQL's initdb was not found; install the Debian package postgresql" >&2
  exit 1
fi

if [ "$(id -u)" = 0 ]; then
  if id postgres >/dev/null 2>&1; then owner=postgres; else owner=nobody; fi
  as_owner() { runuser -u "$owner" -- "$@"; }
else
  owner=$(id -un)
  as_owner() { "$@"; }
fi

case "$action" in
start)
  mkdir -p "$dir/data" "$dir/socket"
  if [ "$(id -u)" = 0 ]; then
    chown "$owner" "$dir/data" "$dir/socket"
    # the server's user must reach its folders inside the caller's (private) folder
    chmod o+x "$dir"
  fi
  as_owner "$bindir/initdb" -D "$dir/data" -U cardpin -A trust -E UTF8 --locale=C \
    --no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  touch "$dir/server.log"
  [ "$(id -u)" = 0 ] && chown "$owner" "$dir/server.log"
  durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  [ "${PG_PRIVATE_DURABLE:-}" = 1 ] && durability="-c fsync=on -c synchronous_commit=on"
  as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-k $dir/socket -c listen_addresses= $durability -c max_connections=100" \
    start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
  echo "postgresql:///postgres?host=$dir/socket&user=cardpin"
  ;;
stop)
  [ -d "$dir/data" ] || exit 0
  as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
  ;;
restart)
  as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w -t 60 \
    restart >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
  ;;
*)
  usage
  ;;
esac
