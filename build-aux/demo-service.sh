#!/bin/bash
# The demo's local online unblock service (build-aux/demo.sh): cardpin-unblockd on SQLite
# with its master key in a private SoftHSM2 token, a test CA made by openssl, and one
# demo account checked by PAM (pam_wrapper + pam_matrix, no system account touched).
#
#   demo-service.sh setup DIR SERIAL USER   once: CA, token, master key, account, card;
#                                           prints the card's admin key (32 hex digits)
#   demo-service.sh start DIR               starts the service in the background (pid in
#                                           DIR/unblockd.pid, log in DIR/unblockd.log);
#                                           prints its URL once it answers
#   demo-service.sh stop DIR                SIGTERM, waits for it
#
# Environment: CARDPIN_DEMO_PORT (default 18443), CARDPIN_DEMO_QUOTA_CARD (unblocks per
# card and day, default 10), CARDPIN_UNBLOCKD and CARDPIN_HELPDESK (the programs, default
# those in _build).
#
# Everything lives in DIR. The demo password is in DIR/demo-password (demo only).
set -euo pipefail

build="$(cd "$(dirname "$0")/.." && pwd)/_build"
# the tests (tests/ui/test-online.py) name the built programs; the demo uses _build's
unblockd="${CARDPIN_UNBLOCKD:-$build/server/cardpin-unblockd}"
helpdesk="${CARDPIN_HELPDESK:-$build/server/cardpin-helpdesk}"
module=/usr/lib/softhsm/libsofthsm2.so
pam_modules=$(pkg-config --variable=modules pam_wrapper)
pam_wrapper="$(dirname "$pam_modules")/libpam_wrapper.so"

usage () { echo "usage: $0 setup DIR SERIAL USER | start DIR | stop DIR" >&2; exit 2; }
[ $# -ge 2 ] || usage
action=$1
dir=$2
export SOFTHSM2_CONF="$dir/softhsm2.conf"

case "$action" in
setup)
  [ $# -eq 4 ] || usage
  serial=$3
  user=$4
  mkdir -p "$dir"
  chmod 700 "$dir"
  cd "$dir"
  if [ ! -f ca.pem ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
      -out ca.pem -days 3650 -subj "/CN=cardpin demo CA" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
      2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > srv.ext
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key \
      -out srv.csr -subj /CN=127.0.0.1 2>/dev/null
    openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile srv.ext -out srv.pem 2>/dev/null
  fi
  if [ ! -d tokens ]; then
    mkdir tokens
    printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
      "$dir/tokens" > softhsm2.conf
    pin=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
    softhsm2-util --init-token --free --label cardpin-demo --so-pin "$pin$pin" \
      --pin "$pin" >/dev/null
    printf '%s\n' "$pin" > token-pin
    chmod 600 token-pin
  fi
  if [ ! -f passdb ]; then
    mkdir -p pam.d
    printf 'auth required %s passdb=%s\naccount required %s passdb=%s\n' \
      "$pam_modules/pam_matrix.so" "$dir/passdb" "$pam_modules/pam_matrix.so" "$dir/passdb" \
      > pam.d/cardpin-demo
    printf 'demo-%s\n' "$(od -An -N3 -tx1 /dev/urandom | tr -d ' ')" > demo-password
    printf '%s:%s:cardpin-demo\n' "$user" "$(cat demo-password)" > passdb
    chmod 600 passdb demo-password
  fi
  cat > unblockd.conf <<EOC
[service]
listen=127.0.0.1:${CARDPIN_DEMO_PORT:-18443}
tls-certificate=$dir/srv.pem
tls-key=$dir/srv.key
database=$dir/unblock.sqlite
pkcs11-module=$module
token-label=cardpin-demo
token-pin-file=$dir/token-pin
master-key-label=cardpin-demo-master
pam-service=cardpin-demo
quota-card-per-day=${CARDPIN_DEMO_QUOTA_CARD:-10}
quota-user-per-day=10
EOC
  "$helpdesk" --config unblockd.conf master-key create >/dev/null 2>&1 || true
  "$helpdesk" --config unblockd.conf card add "$serial" "$user" >/dev/null 2>&1 || true
  "$helpdesk" --config unblockd.conf export-admin-key "$serial"
  ;;
start)
  cd "$dir"
  LD_PRELOAD="$pam_wrapper" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$dir/pam.d" \
    "$unblockd" --config unblockd.conf >>unblockd.log 2>&1 &
  echo $! > unblockd.pid
  url="https://127.0.0.1:${CARDPIN_DEMO_PORT:-18443}/"
  for ((w = 0; w < 100; w++)); do
    if curl -sf --cacert ca.pem "${url}v1/health" >/dev/null; then
      echo "$url"
      exit 0
    fi
    kill -0 "$(cat unblockd.pid)" 2>/dev/null || break
    sleep 0.1
  done
  echo "$0: the demo unblock service did not start; see $dir/unblockd.log" >&2
  exit 1
  ;;
stop)
  if [ -f "$dir/unblockd.pid" ]; then
    pid=$(cat "$dir/unblockd.pid")
    kill -TERM "$pid" 2>/dev/null && while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    rm -f "$dir/unblockd.pid"
  fi
  ;;
*)
  usage
  ;;
esac
