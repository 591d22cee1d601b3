#!/usr/bin/env python3
# The shape of core that issue 7 item 10 promises, checked on the sources (TAP):
# cardpin-token.c stays small, no include circle between the token and the unblock
# session, the app does not look into core's GTask, the card fuzzer runs core's own PIV
# operation and admin code, and every public property is documented (gi-docgen).
#
# usage: check-core-layout.py SOURCE_ROOT
import os
import re
import sys

root = sys.argv[1]
results = []


def read(path):
    with open(os.path.join(root, path), encoding='utf-8') as f:
        return f.read()


def check(ok, what):
    results.append((ok, what))


token = read('core/cardpin-token.c')
n = token.count('\n')
check(n < 700, 'core/cardpin-token.c is under 700 lines (%d)' % n)

private = read('core/cardpin-token-private.h')
check('cardpin-unblock-session.h' not in private and
      '_cardpin_unblock_session_new' not in private,
      'cardpin-token-private.h does not reach into the unblock session')
for name in sorted(os.listdir(os.path.join(root, 'core'))):
    if name.startswith('cardpin-token') and name.endswith('.c'):
        text = read('core/' + name)
        check('#include "cardpin-unblock-session.h"' not in text and
              'cardpin_piv_admin_challenge' not in text,
              'core/%s does not include the unblock session' % name)

for name in sorted(os.listdir(os.path.join(root, 'app'))):
    if name.endswith('.c'):
        text = read('app/' + name)
        check(not re.search(r'\bG_IS_TASK\b|\bG_TASK\s*\(|g_task_get_', text),
              'app/%s does not look into a GTask of core' % name)

fuzz = read('tests/fuzz/fuzz-card.c')
check('_cardpin_piv_run_op' in fuzz and 'cardpin_piv_admin_begin' in fuzz and
      'cardpin_piv_admin_complete' in fuzz and 'cardpin_piv_admin_challenge' not in fuzz and
      'cardpin_piv_admin_respond' not in fuzz,
      'fuzz-card runs core\'s PIV operations and admin begin/complete, not a copy')
check('cardpin_piv_admin_begin' in read('core/cardpin-unblock-session.c') and
      'cardpin_piv_admin_complete' in read('core/cardpin-unblock-session.c'),
      'the unblock session uses the same admin begin/complete')

for name in sorted(os.listdir(os.path.join(root, 'core'))):
    if not name.endswith('.c'):
        continue
    text = read('core/' + name)
    for m in re.finditer(r'g_param_spec_\w+\s*\(\s*"([a-z0-9-]+)"', text):
        prop = m.group(1)
        documented = re.search(r'\* \w+:%s:\n' % re.escape(prop), text[:m.start()])
        check(documented is not None, 'core/%s: property "%s" is documented' % (name, prop))

# issue 7 item 12: cardpin-tool split into dispatch, status and the PIN commands, with one
# change_secret(kind) for the PIN and the PUK, and no PIN policy of its own
cli = read('app/cardpin-cli.c')
check(os.path.exists(os.path.join(root, 'app/cardpin-cli-status.c')) and
      os.path.exists(os.path.join(root, 'app/cardpin-cli-pin.c')),
      'cardpin-tool has app/cardpin-cli-status.c and app/cardpin-cli-pin.c')
check(not re.search(r'cardpin_token_(change|unblock|setup)|json_builder|'
                    r'cardpin_manager_new', cli),
      'app/cardpin-cli.c only dispatches (no status or PIN operation code)')
pin = read('app/cardpin-cli-pin.c') if os.path.exists(
    os.path.join(root, 'app/cardpin-cli-pin.c')) else ''
check(len(re.findall(r'^change_secret \(', pin, re.M)) == 1 and
      len(re.findall(r'\bcardpin_token_change_pin\b', pin)) == 1 and
      len(re.findall(r'\bcardpin_token_change_puk\b', pin)) == 1,
      'one change_secret(kind) changes both the PIN and the PUK')
for name in sorted(os.listdir(os.path.join(root, 'app'))):
    if name.startswith('cardpin-cli') and name.endswith('.c'):
        text = read('app/' + name)
        n = text.count('\n')
        check(n < 700, 'app/%s is under 700 lines (%d)' % (name, n))

print('1..%d' % len(results))
for i, (ok, what) in enumerate(results, 1):
    print('%s %d - %s' % ('ok' if ok else 'not ok', i, what))
sys.exit(0 if all(ok for ok, _ in results) else 1)
