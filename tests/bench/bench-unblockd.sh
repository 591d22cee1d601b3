#!/bin/bash
# Benchmark (not a test): cardpin-unblockd's responses per second and p50/p99 latency at
# 1, 8 and 32 concurrent TLS keep-alive clients (wrk on loopback, POST
# /v1/unblock/response), next to the raw rate of derive + encrypt in SoftHSM2 measured in
# the same run just before and just after each row, on SQLite and on a private PostgreSQL server
# that is durable (fsync on, synchronous commits) like a production one.
#
# Clients authenticate as deployed clients mostly do: with a device token (Bearer; the
# service looks its hash up in the database on every request). One more line per backend
# gives 32 clients with the account password (HTTP Basic, checked by PAM through
# pam_wrapper + pam_matrix on every request). Every granted response is a durable commit
# of its quota count and audit record before the answer (group commit).
#
# Columns: "% raw" = responses/s over the raw SoftHSM2 rate (the better of 1 and 8
# threads) measured just before and just after that row, the mean of the two. The speed
# of a shared or virtual machine drifts within a minute (seen: by a third); a raw rate
# measured once per backend, a minute from some of its rows, made their ratios swing
# with it. Each "softhsm2 raw" row is one such measurement (its "clients" column: the
# threads of the better rate), printed between the rows it was measured between, once
# the last is known. "cpu us" = the service's CPU time (user + system) per response, next
# to the raw rate's CPU per derive + encrypt (load-independent).
# The machine's load (uptime) is printed with each table: absolute figures on a shared
# machine are inflated by it; the ratios are what counts.
#
# "db us" = the CPU time of the PostgreSQL server's processes per response (they share the
# machine with the service and wrk).
# "cs" = the service's context switches (voluntary + involuntary, all its threads) per
# response: each is a wakeup of a thread, the main cost besides TLS on a small machine.
# "wrk us" = the CPU time of the load generator (wrk, on the same machine) per response.
# "idle" = the share of the machine's processors left idle (or waiting for the disk)
# during the row: where it is well above 0, the row is bound by the latency of a step
# (a commit's fsync) rather than by processing; more clients would raise the rate.
#
# Re-run:  meson test -C _build --benchmark --verbose bench-unblockd
#     or:  CARDPIN_UNBLOCKD=_build/server/cardpin-unblockd \
#          CARDPIN_HELPDESK=_build/server/cardpin-helpdesk \
#          CARDPIN_BENCH_MASTER_KEY=_build/tests/bench/bench-master-key \
#          tests/bench/bench-unblockd.sh [SECONDS]
# CARDPIN_BENCH_BACKENDS="sqlite postgresql" (the default) chooses the backends.
# CARDPIN_BENCH_SERVICE_WRAPPER (opt-in, for profiling) is a command the service is started
# under, e.g. "perf record -e cpu-clock -g -o /tmp/unblockd.perf --": its CPU figures then
# include the wrapper's.
# CARDPIN_BENCH_EXTRA_CONFIG (opt-in, for experiments) is one more line of the service's
# [service] group, e.g. "threads=1"; the default run uses the service's defaults.
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
printf 'Basic %s\n' "$(printf 'alice:bench-password' | base64)" > basic
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
${CARDPIN_BENCH_EXTRA_CONFIG:-}
EOC
}

start_service () {
  LD_PRELOAD="$pam_wrapper" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$dir/pam.d" \
    ${CARDPIN_BENCH_SERVICE_WRAPPER:-} "$unblockd" --config unblockd.conf \
    2>"$dir/unblockd-$1.log" &
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

# bench-master-key on the benchmark's token: SECONDS THREADS [PAUSE-US]; its one line
raw_bench () {
  "$rawbench" "$module" cardpin-bench token-pin cardpin-master "$@"
}

# The raw rate of derive + encrypt in the token, 1 and 8 threads, for half the rows'
# seconds each: the better, its threads and its CPU per response, added to raw_rows
measure_raw () {
  local one eight best threads=1 cpu raw_seconds=$(( seconds > 7 ? seconds / 2 : 3 ))
  one=$(raw_bench "$raw_seconds" 1)
  eight=$(raw_bench "$raw_seconds" 8)
  best=$(field "$one" 2)
  cpu=$(field "$one" 8)
  if [ "$(field "$eight" 2)" -gt "$best" ]; then
    best=$(field "$eight" 2)
    cpu=$(field "$eight" 8)
    threads=8
  fi
  raw_rows+=("$threads|$best|$cpu")
}
field () { awk -v n="$2" '{print $n}' <<<"$1"; }
format='%-11s %-6s %7s %12s %8s %8s %7s %6s %7s %6s %5s %6s %5s\n'
row () {
  # shellcheck disable=SC2059
  printf "$format" "$1" "$auth_name" "$2" "$3" "$4" "$5" "$6" "$7" "$8" "${9:--}" "${10:--}" \
    "${11:--}" "${12:--}"
}

# $1 over $2 (0 when $2 is 0), printed with the format $3
per_response () {
  awk -v v="$1" -v n="$2" -v f="$3" 'BEGIN { printf f, (n > 0) ? v / n : 0 }'
}

# $1 CPU ticks in microseconds
ticks_us () {
  echo $(( $1 * 1000000 / hz ))
}
hz=$(getconf CLK_TCK)

# CPU ticks of the private PostgreSQL server's processes so far (0 without one)
db_ticks () {
  local postmaster
  if [ -z "$pg_dir" ] || [ ! -f "$pg_dir/data/postmaster.pid" ]; then
    echo 0
    return
  fi
  postmaster=$(head -1 "$pg_dir/data/postmaster.pid")
  for p in $postmaster $(pgrep -P "$postmaster"); do
    awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || true
  done | awk '{ n += $1 } END { print n + 0 }'
}

# the machine's CPU ticks so far: "idle+iowait total"
cpu_ticks () {
  awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print $5 + $6, t; exit }' /proc/stat
}

# context switches of all the service's threads so far
switches () {
  { cat "/proc/$service_pid"/task/*/status 2>/dev/null || true; } |
    awk '/^(non)?voluntary_ctxt_switches/ { n += $2 } END { print n + 0 }'
}

# wrk with the Authorization header of the file $1 at $2 clients; one row
run_wrk () {
  local clients=$2 threads cpu0 cpu1 cs0 cs1 db0 db1 db line n rate p50 p99 errors
  local idle0 total0 idle1 total1 wrk_user wrk_sys TIMEFORMAT='%3U %3S'
  threads=$(( clients < 4 ? clients : 4 ))
  cp "$1" auth
  cs0=$(switches)
  db0=$(db_ticks)
  read -r idle0 total0 < <(cpu_ticks)
  cpu0=$(awk '{print $14 + $15}' "/proc/$service_pid/stat")
  { time wrk -t "$threads" -c "$clients" -d "${seconds}s" --timeout 10s \
      -s "$here/bench-unblockd.lua" "https://127.0.0.1:$port/v1/unblock/response" \
      > wrk.out ; } 2> wrk.time
  cpu1=$(awk '{print $14 + $15}' "/proc/$service_pid/stat")
  read -r idle1 total1 < <(cpu_ticks)
  cs1=$(switches)
  db1=$(db_ticks)
  line=$(grep '^RESULT' wrk.out)
  # bash prints the times with the locale's decimal separator
  read -r wrk_user wrk_sys < <(tr , . < wrk.time)
  read -r _ n rate p50 p99 errors <<<"$line"
  db=-
  if [ "$backend" = postgresql ]; then
    db=$(per_response "$(ticks_us $((db1 - db0)))" "$n" '%.0f')
  fi
  # printed by print_rows(), once the raw rate after is known
  rows+=("$auth_name|$clients|$rate|$p50|$p99|$errors|$(
         per_response "$(ticks_us $((cpu1 - cpu0)))" "$n" '%.0f')|$db|$(
         per_response $((cs1 - cs0)) "$n" '%.1f')|$(
         per_response "$(awk -v u="$wrk_user" -v s="$wrk_sys" \
                           'BEGIN { printf "%.0f", (u + s) * 1e6 }')" "$n" '%.0f')|$(
         per_response $((100 * (idle1 - idle0))) $((total1 - total0)) '%.0f%%')")
}

# The raw rate measured $1-th (raw_rows)
raw_rate () {
  local threads rate cpu
  IFS='|' read -r threads rate cpu <<<"${raw_rows[$1]}"
  echo "$rate"
}
print_raw_row () {
  local threads rate cpu auth_name=raw
  IFS='|' read -r threads rate cpu <<<"${raw_rows[$1]}"
  row softhsm2 "$threads" "$rate" - - 0 - "$cpu"
}
# The rows run_wrk() kept, each with "% raw" over the mean of the raw rates measured just
# before and just after it (raw_rows i and i + 1), between them
print_rows () {
  local i=0 raw line auth_name clients rate p50 p99 errors cpu db cs wrk_cpu idle
  for line in "${rows[@]}"; do
    IFS='|' read -r auth_name clients rate p50 p99 errors cpu db cs wrk_cpu idle <<<"$line"
    raw=$(( ($(raw_rate "$i") + $(raw_rate $((i + 1)))) / 2 ))
    print_raw_row "$i"
    row "$backend" "$clients" "$rate" "$p50" "$p99" "$errors" \
      "$(awk -v r="$rate" -v raw="$raw" 'BEGIN { printf "%.0f%%", 100 * r / raw }')" \
      "$cpu" "$db" "$cs" "$wrk_cpu" "$idle"
    i=$((i + 1))
  done
  print_raw_row "$i"
}

run_backend () {
  backend=$1
  echo
  echo "$backend; load: $(uptime | sed 's/.*load average/load average/')"
  # shellcheck disable=SC2059
  printf "$format" backend auth clients "responses/s" "p50 ms" "p99 ms" errors "% raw" \
    "cpu us" "db us" cs "wrk us" idle
  raw_rows=()
  rows=()
  start_service "$backend"
  # a device token, issued once with the password
  token=$(curl -sf --cacert ca.pem -H "Authorization: $(cat basic)" -X POST \
            -H 'Content-Type: application/json' -d '{}' \
            "https://127.0.0.1:$port/v1/devices" |
          python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
  printf 'Bearer %s\n' "$token" > bearer
  for clients in 1 8 32; do
    measure_raw
    auth_name=token
    run_wrk bearer "$clients"
  done
  measure_raw
  auth_name=basic
  run_wrk basic 32
  measure_raw
  stop_service
  print_rows
}

backends="${CARDPIN_BENCH_BACKENDS:-sqlite postgresql}"
write_config "$dir/unblock.sqlite"
"$helpdesk" --config unblockd.conf master-key create >/dev/null
if [[ " $backends " == *" sqlite "* ]]; then
  "$helpdesk" --config unblockd.conf card add "$serial" alice >/dev/null
  run_backend sqlite
fi

if [[ " $backends " == *" postgresql "* ]]; then
  pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/cardpin-bench-pg-XXXXXX")
  uri=$(cd / && PG_PRIVATE_DURABLE=1 "$here/../server/pg-private.sh" start "$pg_dir")
  write_config "$uri"
  "$helpdesk" --config unblockd.conf card add "$serial" alice >/dev/null
  run_backend postgresql
fi

# The CPU of a call of the token made after its thread slept: one thread of the raw
# benchmark, pausing before each response. The service's token thread sleeps whenever its
# queue is empty, so some of its calls pay this; the raw rate, a tight loop, never does.
# On a machine where this grows much with the pause (a virtual one whose processors lose
# their caches while idle), "% raw" at few clients is low for that reason.
echo
echo "softhsm2 raw, 1 thread, a pause before each response"
pause_format='%-11s %12s %7s\n'
# shellcheck disable=SC2059
printf "$pause_format" "pause us" "responses/s" "cpu us"
for pause in 0 200 1000; do
  line=$(raw_bench 2 1 "$pause")
  # shellcheck disable=SC2059
  printf "$pause_format" "$pause" "$(field "$line" 2)" "$(field "$line" 8)"
done
