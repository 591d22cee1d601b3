#!/bin/bash
# Installation (issue 11 item 3): `meson install` into a DESTDIR puts every part of cardpin
# in its standard place, and the installed programs run from there — cardpin-tool on the
# real stack (a private pcscd and a virtual card), the PAM module loadable with only the
# pam_sm_* entry points, the service and helpdesk tool answering --help.
# usage: check-install.sh BUILD_DIR  (runs inside cardpin-test-stack with a card in reader 0)
. "$(dirname "$0")/../interop/tap.sh"

build="$1"
dest="$CARDPIN_TEST_DIR/destdir"
log="$CARDPIN_TEST_DIR/install.log"
prefix=$(meson introspect "$build" --buildoptions | python3 -c \
  'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
root="$dest$prefix"

check "meson install into a DESTDIR" \
  env DESTDIR="$dest" meson install -C "$build" --no-rebuild --quiet

# find_one NAME [WHERE]: the one installed file of that name (below the DESTDIR)
find_one () { find "$dest" -name "$1" \( -type f -o -type l \) | head -n 1; }
installed () { local f; f=$(find_one "$1"); [ -n "$f" ] && case "$f" in *"$2"*) true ;; *) echo "$1 at $f, not under $2"; false ;; esac; }

check "the app in bin/"                        installed cardpin "$prefix/bin/"
check "cardpin-tool in bin/"                   installed cardpin-tool "$prefix/bin/"
check "the PAM module in a security/ directory" installed pam_cardpin.so "/security/"
check "the PAM helper in libexec/"             installed cardpin-pam-helper "/libexec/"
check "the PAM helper's worker beside it"       installed cardpin-pam-worker "/libexec/"
check "cardpin-tool's online part in libexec/" installed cardpin-tool-online "/libexec/"
check "the unblock service"                    installed cardpin-unblockd "$prefix/"
check "the helpdesk tool"                      installed cardpin-helpdesk "$prefix/"
check "the service's systemd unit"             installed cardpin-unblockd.service "/systemd/system/"
check "the gdm-smartcard pam.d alternative"    installed gdm-smartcard-cardpin-sssd "/pam.d/"
check "the desktop file"                       installed io.github.cardpin.CardPin.desktop "/share/applications/"
check "the AppStream metainfo"                 installed io.github.cardpin.CardPin.metainfo.xml "/share/metainfo/"
check "the GSettings schema"                   installed io.github.cardpin.CardPin.gschema.xml "/share/glib-2.0/schemas/"
check "the app icon"                           installed io.github.cardpin.CardPin.svg "/share/icons/hicolor/scalable/apps/"
check "the symbolic icon"                      installed io.github.cardpin.CardPin-symbolic.svg "/share/icons/hicolor/symbolic/apps/"
check "the translations"                       installed cardpin.mo "/share/locale/"
for page in man1/cardpin-tool.1 man8/pam_cardpin.8 man8/cardpin-unblockd.8 man8/cardpin-helpdesk.8; do
  check "man page $page" installed "$(basename "$page")" "/share/man/$(dirname "$page")/"
done

check "the installed desktop file validates" desktop-file-validate "$(find_one io.github.cardpin.CardPin.desktop)"
check "the installed metainfo validates" appstreamcli validate --no-net "$(find_one io.github.cardpin.CardPin.metainfo.xml)"
schema=$(find_one io.github.cardpin.CardPin.gschema.xml)
schemas=$(dirname "${schema:-/nonexistent/x}")
check "the installed schema compiles" glib-compile-schemas --strict "$schemas"

# The installed programs, run from the DESTDIR
export GSETTINGS_SCHEMA_DIR="$schemas"
tool=$(find_one cardpin-tool)
check_output "installed cardpin-tool --help" "Usage: cardpin-tool COMMAND" "$tool" --help
check_output "installed cardpin-tool reads the virtual card" '"pin_tries_left" : 3' "$tool" status --json
check_output "installed app --help" "Usage" "$(find_one cardpin)" --help
check_output "installed cardpin-unblockd --help" "config" "$(find_one cardpin-unblockd)" --help
check_output "installed cardpin-helpdesk --help" "config" "$(find_one cardpin-helpdesk)" --help
module=$(find_one pam_cardpin.so)
module=${module:-/nonexistent/pam_cardpin.so}
exports () { nm -D --defined-only "$module" | awk '$2 == "T" { print $3 }' | sort | tr '\n' ' '; }
check_output "the installed PAM module exports only pam_sm_*" \
  "^pam_sm_acct_mgmt pam_sm_authenticate pam_sm_chauthtok pam_sm_setcred $" exports
check "the installed PAM module links no GLib" sh -c "ldd '$module' && ! ldd '$module' | grep -q libglib"
check "the installed PAM module loads" python3 -c "import ctypes, sys; ctypes.CDLL(sys.argv[1])" "$module"
helper=$(find_one cardpin-pam-helper)
check "the installed PAM helper is executable" test -x "${helper:-/nonexistent}"

tap_done
