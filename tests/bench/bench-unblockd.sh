#!/bin/bash
# Benchmark (not a test): cardpin-unblockd's responses per second and p50/p99 latency at
# 1, 8 and 32 concurrent TLS keep-alive clients (wrk on loopback, POST with HTTP Basic
# checked by PAM), next to the raw rate of derive + encrypt in SoftHSM2 measured in the
# same run, on SQLite and on a private PostgreSQL server.
#
# Re-run:  meson test -C _build --benchmark --verbose bench-unblockd
#     or:  CARDPIN_UNBLOCKD=_build/server/cardpin-unblockd \
#          CARDPIN_HELPDESK=_build/server/cardpin-helpdesk \
#          CARDPIN_BENCH_MASTER_KEY=_build/tests/bench/bench-master-key \
#          tests/bench/bench-unblockd.sh [SECONDS]
set -euo pipefail

seconds="${1:-${CARDPIN_BENCH_SECONDS:-10}}"
here="$(cd "$(dirname "$0")" && pwd)"
unblockd="${CARDPIN_UNBLOCKD:?set CARDPIN_UNBLOCKD}"
helpdesk="${CARDPIN_HELPDESK:?set CARDPIN_HELPDESK}"
rawbench="${CARDPIN_BENCH_MASTER_KEY:?set CARDPIN_BENCH_MASTER_KEY}"
module=/usr/lib/softhsm/libsofthsm2.so
pam_modules=$(pkg-config --variable=modules pam_wrapper)
pam_wrapper="$(dirname "$pam_modules")/libpam_wrapper.so"
serial=C0FFEE00000000000000000000BE4C11

dir=$(mktemp -d "${TMPDIR:-/tmp}/cardpin-bench-XXXXXX")
service_pid=
pg_dir=
cleanup () {
  [ -n "$service_pid" ] && kill "$service_pid" 2>/dev/null && wait "$service_pid" || true
  if [ -n "$pg_dir" ]; then
    "$here/../server/pg-private.sh" stop "$pg_dir" >/dev/null 2>&1 || true
    rm -rf "$pg_dir"
  fi
  rm -rf "$dir"
}
trap cleanup EXIT
cd "$dir"

# TLS: a test CA and a server certificate for 127.0.0.1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
  -out ca.pem -days 2 -subj "/CN=cardpin bench CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > srv.ext
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key -out srv.csr \
  -subj /CN=127.0.0.1 2>/dev/null
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
  -extfile srv.ext -out srv.pem 2>/dev/null

# SoftHSM2 token
mkdir tokens
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
  "$dir/tokens" > softhsm2.conf
export SOFTHSM2_CONF="$dir/softhsm2.conf"
softhsm2-util --init-token --free --label cardpin-bench --so-pin 10293847 --pin 56473829 \
  >/dev/null
printf '56473829\n' > token-pin
chmod 600 token-pin

# PAM: pam_wrapper + pam_matrix
mkdir pam.d
printf 'auth required %s passdb=%s\naccount required %s passdb=%s\n' \
  "$pam_modules/pam_matrix.so" "$dir/passdb" "$pam_modules/pam_matrix.so" "$dir/passdb" \
  > pam.d/cardpin-bench
printf 'alice:bench-password:cardpin-bench\n' > passdb
printf 'Basic %s\n' "$(printf 'alice:bench-password' | base64)" > auth
export CARDPIN_BENCH_AUTH_FILE="$dir/auth" CARDPIN_BENCH_SERIAL="$serial"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
write_config () {
  cat > unblockd.conf <<EOC
[service]
listen=127.0.0.1:$port
tls-certificate=$dir/srv.pem
tls-key=$dir/srv.key
database=$1
pkcs11-module=$module
token-label=cardpin-bench
token-pin-file=$dir/token-pin
master-key-label=cardpin-master
pam-service=cardpin-bench
quota-card-per-day=1000000
quota-user-per-day=1000000
EOC
}

start_service () {
  LD_PRELOAD="$pam_wrapper" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$dir/pam.d" \
    "$unblockd" --config unblockd.conf 2>"$dir/unblockd-$1.log" &
  service_pid=$!
  for ((w = 0; w < 100; w++)); do
    curl -sf --cacert ca.pem "https://127.0.0.1:$port/v1/health" >/dev/null && return 0
    sleep 0.1
  done
  echo "the service did not start:" >&2
  cat "$dir/unblockd-$1.log" >&2
  exit 1
}

stop_service () {
  kill -TERM "$service_pid"
  wait "$service_pid"
  service_pid=
}

write_config "$dir/unblock.sqlite"
"$helpdesk" --config unblockd.conf master-key create >/dev/null
"$helpdesk" --config unblockd.conf card add "$serial" alice >/dev/null

printf '%-11s %8s %12s %9s %9s %8s\n' backend clients "responses/s" "p50 ms" "p99 ms" errors
raw1=$("$rawbench" "$module" cardpin-bench token-pin cardpin-master "$seconds" 1 | awk '{print $2}')
rawn=$("$rawbench" "$module" cardpin-bench token-pin cardpin-master "$seconds" 8 | awk '{print $2}')
printf '%-11s %8s %12s %9s %9s %8s\n' softhsm2 1 "$raw1" - - 0
printf '%-11s %8s %12s %9s %9s %8s\n' softhsm2 8 "$rawn" - - 0

run_backend () {
  local name=$1
  start_service "$name"
  for clients in 1 8 32; do
    threads=$(( clients < 4 ? clients : 4 ))
    line=$(wrk -t "$threads" -c "$clients" -d "${seconds}s" --timeout 10s \
             -s "$here/bench-unblockd.lua" "https://127.0.0.1:$port/v1/unblock/response" \
           | grep '^RESULT')
    read -r _ _ rate p50 p99 errors <<<"$line"
    printf '%-11s %8s %12s %9s %9s %8s\n' "$name" "$clients" "$rate" "$p50" "$p99" "$errors"
  done
  stop_service
}

run_backend sqlite

pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/cardpin-bench-pg-XXXXXX")
uri=$(cd / && "$here/../server/pg-private.sh" start "$pg_dir")
write_config "$uri"
"$helpdesk" --config unblockd.conf card add "$serial" alice >/dev/null
run_backend postgresql
