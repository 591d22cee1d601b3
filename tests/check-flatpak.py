#!/usr/bin/env python3
"""Checks the Flatpak manifest (issue 11 item 1), printing TAP.

The GNOME runtime cannot be downloaded on the build machines, so flatpak-builder does
not run here; this checks what can be checked without it: the manifest is JSON, names
the app id the desktop file, metainfo and schema use, asks for the pcsc socket, the
network, Wayland with X11 fallback and nothing broader, pins every source with sha256,
bundles a pcsc-lite client of 2.4.1 or newer (without pcscd) and registers OpenSC's
PKCS#11 module with the bundled p11-kit.

usage: check-flatpak.py MANIFEST SOURCE_ROOT
"""
import json
import os
import re
import sys

APP_ID = "io.github.cardpin.CardPin"
# what the app needs, and nothing broader: PC/SC to the host's pcscd, HTTPS to the
# unblock service, a display (Wayland, X11 only as fallback; ipc and dri go with them)
NEEDED = {"--socket=pcsc", "--share=network", "--socket=wayland", "--socket=fallback-x11"}
ALLOWED = NEEDED | {"--share=ipc", "--device=dri"}

n = 0
failed = 0


def check(ok, what, detail=""):
    global n, failed
    n += 1
    print(("ok %d - %s" if ok else "not ok %d - %s") % (n, what))
    if not ok:
        failed += 1
        for line in str(detail).splitlines():
            print("# " + line)


def version_tuple(text):
    return tuple(int(x) for x in text.split("."))


def main():
    manifest_path, root = sys.argv[1], sys.argv[2]
    try:
        with open(manifest_path, encoding="utf-8") as f:
            manifest = json.load(f)
        check(True, "the manifest is JSON")
    except ValueError as e:
        check(False, "the manifest is JSON", e)
        print("1..%d" % n)
        return 1

    app_id = manifest.get("app-id") or manifest.get("id")
    check(app_id == APP_ID, "app id is " + APP_ID, app_id)
    for name in ("data/io.github.cardpin.CardPin.desktop.in",
                 "data/io.github.cardpin.CardPin.metainfo.xml.in",
                 "data/io.github.cardpin.CardPin.gschema.xml"):
        check(os.path.exists(os.path.join(root, name)), "the data file %s of that id exists" % name)

    check(manifest.get("runtime") == "org.gnome.Platform" and manifest.get("sdk") == "org.gnome.Sdk",
          "a GNOME runtime and SDK")
    runtime = str(manifest.get("runtime-version", "0"))
    check(re.fullmatch(r"\d+", runtime) is not None and int(runtime) >= 48,
          "a current GNOME runtime (48 or newer)", runtime)

    args = manifest.get("finish-args", [])
    check(len(args) == len(set(args)), "no finish-arg twice", args)
    missing = NEEDED - set(args)
    check(not missing, "finish-args give pcsc, network, Wayland and fallback X11", missing)
    broader = set(args) - ALLOWED
    check(not broader, "no finish-arg broader than needed", broader)
    check(not any(a.startswith(("--filesystem", "--device=all", "--socket=system-bus",
                                "--socket=session-bus", "--talk-name", "--system-talk-name"))
                  for a in args), "no file system, device or bus access")

    modules = {m["name"]: m for m in manifest.get("modules", []) if isinstance(m, dict)}
    check(list(modules)[-1:] == ["cardpin"], "cardpin is built last, on the bundled libraries")

    for name, module in modules.items():
        for source in module.get("sources", []):
            kind = source.get("type")
            if kind == "dir":
                check(name == "cardpin" and source.get("path") == "..",
                      "%s: only cardpin itself is a local directory" % name, source)
                continue
            ok = (kind in ("archive", "file") and
                  re.fullmatch(r"[0-9a-f]{64}", source.get("sha256", "")) is not None and
                  source.get("url", "").startswith("https://"))
            check(ok, "%s: source pinned by sha256 over https" % name, source)

    pcsc = modules.get("pcsc-lite", {})
    urls = [s.get("url", "") for s in pcsc.get("sources", [])]
    match = [re.search(r"pcsc-lite-(\d+\.\d+\.\d+)\.tar", u) for u in urls]
    version = match[0].group(1) if match and match[0] else "0.0.0"
    check(version_tuple(version) >= (2, 4, 1), "bundled pcsc-lite client is 2.4.1 or newer", version)
    check("/sbin" in pcsc.get("cleanup", []), "pcscd itself is left out of the bundle")
    check("-Dipcdir=/run/pcscd" in pcsc.get("config-opts", []),
          "the client looks for the host's pcscd where --socket=pcsc puts it")

    p11 = modules.get("p11-kit", {})
    check("-Dmodule_config=/app/share/p11-kit/modules" in p11.get("config-opts", []),
          "the bundled p11-kit reads module configuration from the bundle")
    opensc = modules.get("opensc", {})
    post = " ".join(opensc.get("post-install", []))
    check("/app/share/p11-kit/modules/opensc.module" in post and
          "module: /app/lib/pkcs11/opensc-pkcs11.so" in post,
          "OpenSC's PKCS#11 module is registered with the bundled p11-kit", post)
    check("--with-pcsc-provider=libpcsclite.so.1" in opensc.get("config-opts", []),
          "OpenSC uses the bundled pcsc-lite client")

    # the cardpin module's options exist in meson_options.txt
    with open(os.path.join(root, "meson_options.txt"), encoding="utf-8") as f:
        options = set(re.findall(r"option\('([^']+)'", f.read()))
    cardpin_opts = modules.get("cardpin", {}).get("config-opts", [])
    unknown = [o for o in cardpin_opts if o.startswith("-D") and o[2:].split("=")[0] not in options]
    check(not unknown, "cardpin's config-opts are options of this project", unknown)

    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
