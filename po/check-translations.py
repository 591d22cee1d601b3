#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks every translation in po/LINGUAS. Prints TAP.

For each language: `msgfmt -c --check-accelerators=_` accepts it (header, plural forms,
printf formats and mnemonics match their msgids), and no message is untranslated or
fuzzy. With --sources it also merges the language with a template made from the
current sources (xgettext over po/POTFILES.in) and fails on any message the
translation lacks: run it before a release.

Usage: check-translations.py SOURCE_ROOT [--sources]
"""

import os
import re
import subprocess
import sys
import tempfile


def languages(root):
    with open(os.path.join(root, 'po', 'LINGUAS'), encoding='utf-8') as f:
        return [w for line in f if not line.startswith('#') for w in line.split()]


def statistics(po):
    r = subprocess.run(['msgfmt', '-c', '--check-accelerators=_', '--statistics',
                        '-o', os.devnull, po], capture_output=True, text=True)
    return r.returncode, r.stderr.strip()


def fresh_template(root, tmp):
    pot = os.path.join(tmp, 'cardpin.pot')
    with open(os.path.join(root, 'po', 'POTFILES.in'), encoding='utf-8') as f:
        files = [l.strip() for l in f if l.strip() and not l.startswith('#')]
    r = subprocess.run(['xgettext', '--from-code=UTF-8', '--add-comments',
                        '--keyword=_', '--keyword=N_', '--keyword=C_:1c,2',
                        '--keyword=NC_:1c,2', '--keyword=g_dngettext:2,3',
                        '--keyword=ngettext:1,2', '--flag=g_dngettext:2:pass-c-format',
                        '--flag=g_strdup_printf:1:c-format', '-o', pot] + files,
                       cwd=root, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    return pot


def main():
    args = sys.argv[1:]
    sources = '--sources' in args
    args = [a for a in args if a != '--sources']
    root = os.path.abspath(args[0] if args else os.path.join(os.path.dirname(__file__), '..'))
    langs = languages(root)
    n = 0
    failed = 0
    plan = len(langs) * (3 if sources else 2)
    print('1..%d' % max(plan, 1))
    if not langs:
        print('not ok 1 - po/LINGUAS names at least one translation')
        return 1
    tmp = tempfile.mkdtemp(prefix='cardpin-po-')
    pot = fresh_template(root, tmp) if sources else None
    for lang in langs:
        po = os.path.join(root, 'po', lang + '.po')
        code, stats = statistics(po)
        n += 1
        if code == 0:
            print('ok %d - msgfmt -c --check-accelerators accepts %s.po' % (n, lang))
        else:
            failed += 1
            print('not ok %d - msgfmt -c --check-accelerators accepts %s.po' % (n, lang))
            for line in stats.splitlines():
                print('# ' + line)
        n += 1
        complete = code == 0 and not re.search(r'fuzzy|untranslated', stats)
        print('%s %d - %s.po has no untranslated or fuzzy message (%s)'
              % ('ok' if complete else 'not ok', n, lang, stats.splitlines()[-1] if stats else ''))
        failed += not complete
        if sources:
            merged = os.path.join(tmp, lang + '.po')
            subprocess.run(['msgmerge', '--quiet', '--no-fuzzy-matching', '-o', merged, po, pot],
                           check=True)
            code, stats = statistics(merged)
            n += 1
            complete = code == 0 and not re.search(r'fuzzy|untranslated', stats)
            print('%s %d - %s.po covers every string of the current sources (%s)'
                  % ('ok' if complete else 'not ok', n, lang, stats))
            failed += not complete
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
