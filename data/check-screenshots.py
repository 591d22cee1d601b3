#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks that every screenshot the metainfo and the README show is in data/screenshots/
as a real PNG of a window (the UI tests take them: tests/ui/update-screenshots.sh).
Prints TAP. Usage: check-screenshots.py SOURCE_ROOT"""

import os
import re
import struct
import sys
import xml.etree.ElementTree as ET

root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else '.')
shots = os.path.join(root, 'data', 'screenshots')
tree = ET.parse(os.path.join(root, 'data', 'io.github.cardpin.CardPin.metainfo.xml.in'))
metainfo = [os.path.basename(e.text.strip()) for e in tree.iter('image')]
with open(os.path.join(root, 'README.md'), encoding='utf-8') as f:
    readme = re.findall(r'data/screenshots/([\w.-]+\.png)', f.read())

checks = [('the metainfo shows at least one screenshot', bool(metainfo)),
          ('the README shows at least one screenshot', bool(readme))]
for name in sorted(set(metainfo) | set(readme)):
    path = os.path.join(shots, name)
    good = False
    if os.path.isfile(path):
        with open(path, 'rb') as f:
            head = f.read(24)
        if head[:8] == b'\x89PNG\r\n\x1a\n' and head[12:16] == b'IHDR':
            w, h = struct.unpack('>II', head[16:24])
            good = 360 <= w <= 4096 and 200 <= h <= 4096
    checks.append(('data/screenshots/%s is a PNG of a window' % name, good))

print('1..%d' % len(checks))
for i, (what, good) in enumerate(checks, 1):
    print('%s %d - %s' % ('ok' if good else 'not ok', i, what))
sys.exit(0 if all(g for _, g in checks) else 1)
