# tap.sh — tiny TAP helpers for the shell interop tests (sourced).
# Every check is executed; a failing one prints its output and the test fails.
set -u
tap_n=0
tap_failed=0

# check "description" command...: runs the command, ok when it exits 0
check () {
  local desc="$1"; shift
  local out
  tap_n=$((tap_n + 1))
  if out=$("$@" 2>&1); then
    echo "ok $tap_n - $desc"
  else
    tap_failed=$((tap_failed + 1))
    echo "not ok $tap_n - $desc"
    printf '%s\n' "$out" | sed 's/^/# /'
  fi
}

# check_output "description" "extended regex" command...: ok when the output matches
check_output () {
  local desc="$1" pattern="$2"; shift 2
  local out
  tap_n=$((tap_n + 1))
  out=$("$@" 2>&1) || true
  if printf '%s\n' "$out" | grep -Eq -- "$pattern"; then
    echo "ok $tap_n - $desc"
  else
    tap_failed=$((tap_failed + 1))
    echo "not ok $tap_n - $desc (no match for /$pattern/)"
    printf '%s\n' "$out" | sed 's/^/# /'
  fi
}

# fails: ok when the command exits non-zero
fails () {
  ! "$@"
}

tap_done () {
  echo "1..$tap_n"
  [ "$tap_failed" -eq 0 ]
}
