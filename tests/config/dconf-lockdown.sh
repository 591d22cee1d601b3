#!/bin/bash
# Central configuration (issue 11 item 2): an administrator's dconf defaults and locks,
# in a real dconf database (`dconf compile` + a dconf profile, not the memory backend),
# obeyed by cardpin-tool. Runs inside cardpin-test-stack with a fresh card in reader 0.
# Test PINs of the emulated card only; they are not secrets.
. "$(dirname "$0")/../interop/tap.sh"

reader="$CARDPIN_TEST_READER0"
tool="$CARDPIN_TOOL"
site="$CARDPIN_TEST_DIR/dconf"
export SOFTHSM2_CONF=/dev/null

# What docs/administrators.md tells an administrator to write under /etc/dconf/db/site.d
mkdir -p "$site/site.d/locks" "$site/home"
cat > "$site/site.d/00-cardpin" <<'KEYS'
[io/github/cardpin/CardPin]
pin-min-length=uint32 8
allowed-unblock-methods=['puk', 'offline']
KEYS
printf '%s\n' /io/github/cardpin/CardPin/pin-min-length \
  /io/github/cardpin/CardPin/allowed-unblock-methods > "$site/site.d/locks/cardpin"
dconf compile "$site/site" "$site/site.d"
printf 'user-db:user\nfile-db:%s\n' "$site/site" > "$site/profile"

export GSETTINGS_BACKEND=dconf DCONF_PROFILE="$site/profile" XDG_CONFIG_HOME="$site/home"
export XDG_RUNTIME_DIR="$site/home"
schema=io.github.cardpin.CardPin

ypt () { yubico-piv-tool -r "$reader" "$@"; }
change () { "$tool" change --reader "$reader" --pin-fd 3 --new-pin-fd 4 3<<<"$1" 4<<<"$2" 2>&1; }

check_output "gsettings reads the administrator's default" "^uint32 8$" gsettings get $schema pin-min-length
check_output "and the lock: the user cannot change it" "^false$" gsettings writable $schema pin-min-length
check "gsettings set is refused" fails gsettings set $schema pin-min-length 4
check_output "a 6-digit new PIN is refused by the locked policy" "at least 8" fails change 123456 135790
check_output "the card was not touched (3 tries left, PIN unchanged)" "PIN tries left:[[:space:]]*3" ypt -a status
check "the old PIN still verifies" ypt -a verify-pin -P 123456
check "an 8-digit new PIN is accepted" change 123456 13579024
check "yubico-piv-tool verifies the new PIN" ypt -a verify-pin -P 13579024
for i in 1 2 3; do ypt -a verify-pin -P 111111 >/dev/null 2>&1; done
check_output "PIN blocked" "PIN tries left:[[:space:]]*0" ypt -a status
check_output "unblock --puk is allowed: it asks and unblocks" "PIN was unblocked" \
  "$tool" unblock --puk --reader "$reader" --puk-fd 3 --new-pin-fd 4 3<<<12345678 4<<<24681357
for i in 1 2 3; do ypt -a verify-pin -P 111111 >/dev/null 2>&1; done
printf '[io/github/cardpin/CardPin]\nallowed-unblock-methods=[%s]\n' "'online'" > "$site/site.d/10-online-only"
dconf compile "$site/site" "$site/site.d"
check_output "with only online allowed, unblock --puk is refused" "does not allow unblocking with the PUK" \
  fails "$tool" unblock --puk --reader "$reader" --puk-fd 3 --new-pin-fd 4 3<<<12345678 4<<<24681357
check_output "... and unblock --challenge too, before any challenge is shown" \
  "does not allow unblocking with a response code" fails "$tool" unblock --challenge --reader "$reader" --new-pin-fd 4 4<<<24681357
check_output "the PUK's counter was not touched" '"puk_tries_left" : 3' "$tool" status --json
rm "$site/site.d/10-online-only"
dconf compile "$site/site" "$site/site.d"
check_output "online unblock is refused: the locked methods leave it out" "administrator does not allow online" \
  fails "$tool" unblock --online --server https://127.0.0.1:9 --user nobody --password-fd 3 \
  --new-pin-fd 4 3<<<pw 4<<<13579024

tap_done
