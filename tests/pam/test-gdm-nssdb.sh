#!/bin/sh
# cardpin-gdm-nssdb creates an NSS database with p11-kit-proxy, and a second run changes
# nothing (TAP)
set -u
script=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
echo "1..3"

if sh "$script" "$dir/nssdb" >"$dir/out" 2>&1; then echo "ok 1 creates the database"; else echo "not ok 1 creates the database"; cat "$dir/out" | sed 's/^/# /'; fi
if modutil -dbdir "sql:$dir/nssdb" -list 2>/dev/null | grep -q "library name: .*p11-kit-proxy.so"; then
  echo "ok 2 p11-kit-proxy is registered"
else
  echo "not ok 2 p11-kit-proxy is registered"
fi
before=$(modutil -dbdir "sql:$dir/nssdb" -list 2>/dev/null | grep -c "p11-kit-proxy")
sh "$script" "$dir/nssdb" >"$dir/out2" 2>&1
after=$(modutil -dbdir "sql:$dir/nssdb" -list 2>/dev/null | grep -c "p11-kit-proxy")
if [ "$before" = "$after" ] && grep -q "already" "$dir/out2"; then
  echo "ok 3 a second run changes nothing"
else
  echo "not ok 3 a second run changes nothing"
fi
