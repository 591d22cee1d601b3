#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Unblock a blocked PIN with the PUK as a user does: the list and the card page say
the PIN is blocked; a wrong PUK shows the PUK tries left and what the next failure
does; the right PUK and a new PIN twice unblock it, and yubico-piv-tool accepts the
new PIN.

Runs inside cardpin-test-stack (two readers; the test inserts the card)."""

import re

from cardpinui import App, Card, ok, run, sensitive, wait_until

PIN, PUK = '246810', '86427531'
NEW_PIN = '592746'
WRONG_PUK = '11223344'
WRONG_VERIFY = '00:20:00:80:08:39:37:35:33:31:30:FF:FF'
BUTTON = re.compile(r'^_?Unblock PIN')


def main(desktop, ctx):
    card = Card(0, '--subject', 'Grace Hopper', '--pin', PIN, '--puk', PUK, '-v')
    ctx['cards'].append(card)
    # three wrong PINs from another program block it
    sws = card.apdus(WRONG_VERIFY, WRONG_VERIFY, WRONG_VERIFY)
    ok(sws[1:] == [0x63C2, 0x63C1, 0x63C0] and card.tries() == 0,
       'three wrong PINs block the card\'s PIN (%s)' % ' '.join('%04X' % w for w in sws))

    app = App(desktop)
    ctx['apps'].append(app)
    row = app.find('list item', 'Grace Hopper', what='the blocked card is listed')
    # the core's words (issue 8 item 1)
    app.wait_text(re.compile(r'^Blocked$'), 'the list says "Blocked"', root=row)
    app.click(row)
    app.wait_text(re.compile(r'[Bb]locked'), 'the card page says the PIN is blocked')
    ok(not app.nodes('list item', 'Change PIN'),
       'a blocked PIN cannot be changed (no "Change PIN")')
    app.screenshot('card-blocked')

    app.open_row('Unblock with the PUK')
    app.find('text', 'PUK', what='the form has an entry named "PUK"')
    app.find('text', 'New PIN', what='the form has an entry named "New PIN"')
    button = app.find('push button', BUTTON, what='the form has an "Unblock PIN" button')
    app.screenshot('unblock-puk')

    # a wrong PUK: the PUK tries left
    app.fill('PUK', WRONG_PUK)
    app.fill('New PIN', NEW_PIN)
    app.fill('Confirm New PIN', NEW_PIN)
    wait_until(lambda: sensitive(button), 'the button turns sensitive')
    app.click(button)
    app.wait_text(re.compile(r'\b2 tries left\b'), 'a wrong PUK shows 2 PUK tries left')
    ok(card.tries(0x81) == 2, 'the card has 2 PUK tries left')
    ok(card.tries(0x80) == 0, 'the PIN is still blocked')

    # the right PUK
    app.fill('PUK', PUK)
    wait_until(lambda: sensitive(button), 'the button is sensitive again')
    app.click(button)
    app.wait_toast(re.compile(r'PIN unblocked'), 'a toast says the PIN is unblocked')
    ok(card.yubico_verify(NEW_PIN), 'yubico-piv-tool -a verify-pin accepts the new PIN')
    ok(card.tries(0x80) == 3, 'the PIN has 3 tries again')

    log = app.log_text()
    ok(all(s not in log for s in (PUK, WRONG_PUK, NEW_PIN)),
       'no PUK or PIN is in the app\'s log (G_MESSAGES_DEBUG=all)')


if __name__ == '__main__':
    run(main)
