#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks po/POTFILES.in against the sources.

Fails when a source file with translatable strings is not listed, or when a listed
file does not exist (xgettext would fail on it). Prints TAP.

Usage: check-potfiles.py SOURCE_ROOT           (the test)
       check-potfiles.py --update SOURCE_ROOT  (rewrites POTFILES.in from the sources)
"""

import os
import re
import sys

# Directories whose sources end up in front of users; tests are not translated.
SCANNED_DIRS = ('app', 'core', 'data', 'greeter-plugin', 'server')

C_MARKERS = re.compile(r'(?<![A-Za-z0-9_])(?:_|N_|C_|NC_|g_dngettext|ngettext|g_dpgettext2)\s*\(')
UI_MARKER = re.compile(r'translatable\s*=\s*"yes"')
C_COMMENT = re.compile(r'/\*.*?\*/|//[^\n]*', re.S)
C_STRING = re.compile(r'"(?:\\.|[^"\\\n])*"')


def c_needs_translation(text):
    # Drop comments and string contents so "_(" in prose does not count.
    text = C_COMMENT.sub(' ', text)
    text = C_STRING.sub('""', text)
    return C_MARKERS.search(text) is not None


def needs_translation(path):
    name = os.path.basename(path)
    if name.endswith(('.desktop.in', '.metainfo.xml.in', '.appdata.xml.in', '.gschema.xml')):
        return True
    with open(path, encoding='utf-8', errors='replace') as f:
        text = f.read()
    if name.endswith(('.c', '.h')):
        return c_needs_translation(text)
    if name.endswith('.ui'):
        return UI_MARKER.search(text) is not None
    return False


HEADER = ('# Files with translatable strings. The test \'potfiles\' keeps this complete;\n'
          '# regenerate with: po/check-potfiles.py --update .\n')


def scan(root):
    found = []
    for top in SCANNED_DIRS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(('.', '_')))
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                if needs_translation(path):
                    found.append(os.path.relpath(path, root))
    return found


def main():
    args = sys.argv[1:]
    update = '--update' in args
    args = [a for a in args if a != '--update']
    root = os.path.abspath(args[0] if args else os.path.join(os.path.dirname(__file__), '..'))
    potfiles = os.path.join(root, 'po', 'POTFILES.in')
    found = scan(root)

    if update:
        with open(potfiles, 'w', encoding='utf-8') as f:
            f.write(HEADER + ''.join(p + '\n' for p in found))
        return 0

    listed = []
    with open(potfiles, encoding='utf-8') as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith('#'):
                listed.append(line)

    failures = 0
    print('1..3')

    missing = [p for p in found if p not in listed]
    if missing:
        failures += 1
        print('not ok 1 - every file with translatable strings is in po/POTFILES.in')
        for p in missing:
            print('# not listed: ' + p)
    else:
        print('ok 1 - every file with translatable strings is in po/POTFILES.in')

    gone = [p for p in listed if not os.path.isfile(os.path.join(root, p))]
    if gone:
        failures += 1
        print('not ok 2 - every file in po/POTFILES.in exists')
        for p in gone:
            print('# does not exist: ' + p)
    else:
        print('ok 2 - every file in po/POTFILES.in exists')

    dups = sorted({p for p in listed if listed.count(p) > 1})
    if dups:
        failures += 1
        print('not ok 3 - no file is listed twice')
        for p in dups:
            print('# listed twice: ' + p)
    else:
        print('ok 3 - no file is listed twice')

    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
