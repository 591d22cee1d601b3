#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Change the PIN as a user does: the card page shows the tries left; a wrong current
PIN shows the tries left and what the next failure does; a weak new PIN shows its
reason while it is typed and never reaches the card; then the right PIN changes it,
yubico-piv-tool accepts the new PIN, and no PIN is in the app's log.

Runs inside cardpin-test-stack (two readers; the test inserts the card)."""

import re

from cardpinui import App, Card, ok, run, sensitive, wait_until

SERIAL = '00112233445566778899AABBCCDDEEFF'
PIN, PUK = '246810', '86427531'
NEW_PIN = '135790'
WRONG_PIN = '975310'
BUTTON = re.compile(r'^_?Change PIN')


def main(desktop, ctx):
    card = Card(0, '--serial', SERIAL, '--subject', 'Ada Lovelace', '--pin', PIN,
                '--puk', PUK, '-v')
    ctx['cards'].append(card)
    app = App(desktop)
    ctx['apps'].append(app)

    app.open_row('Ada Lovelace')
    app.wait_text(re.compile(r'\b3 tries left\b'), 'the card page shows 3 PIN tries left')
    app.wait_text(re.compile(re.escape(SERIAL)), 'the card page shows the serial')
    app.screenshot('card')

    app.open_row('Change PIN')
    app.find('text', 'Current PIN', what='the form has an entry named "Current PIN"')
    app.find('text', 'New PIN', what='the form has an entry named "New PIN"')
    app.find('text', 'Confirm New PIN', what='the form has an entry named "Confirm New PIN"')
    button = app.find('push button', BUTTON, what='the form has a "Change PIN" button')
    ok(not sensitive(button), 'the button is insensitive while the form is empty')
    app.screenshot('change-pin')

    # a weak new PIN: its reason shows while typing, nothing reaches the card
    before = set(app.texts())
    mark = card.log_mark()
    app.fill('Current PIN', PIN)
    app.fill('New PIN', '123456')
    reason = wait_until(lambda: [t for t in app.texts() if t not in before],
                        'a reason appears as the weak new PIN is typed')
    ok(True, 'the reason: ' + reason[0])
    app.fill('New PIN', '777777')
    other = wait_until(lambda: [t for t in app.texts() if t not in before and t != reason[0]],
                       'another reason replaces it for a repeated digit')
    ok(True, 'the reason: ' + other[0])
    app.fill('New PIN', '123456')
    app.fill('Confirm New PIN', '123456')
    app.key('Return')
    ok(not sensitive(button), 'the button stays insensitive for a weak PIN')
    app.screenshot('change-pin-weak')
    ok(card.tries() == 3, 'the card still has 3 PIN tries')
    ok(not card.commands_since(mark, r'00 24 '), 'no CHANGE REFERENCE DATA reached the card')
    ok(not card.commands_since(mark, r'00 20 00 80 -> (9000|63C[0-2]|6983)'),
       'no PIN was verified on the card')

    # a wrong current PIN: the tries left and what the next failure does
    app.fill('Current PIN', WRONG_PIN)
    app.fill('New PIN', NEW_PIN)
    app.fill('Confirm New PIN', NEW_PIN)
    wait_until(lambda: sensitive(button), 'the button turns sensitive for a good new PIN')
    app.click(button)
    app.wait_text(re.compile(r'\b2 tries left\b'), 'a wrong current PIN shows 2 tries left')
    ok(card.tries() == 2, 'the card has 2 PIN tries left')
    app.screenshot('change-pin-wrong')

    # the right one
    app.fill('Current PIN', PIN)
    wait_until(lambda: sensitive(button), 'the button is sensitive again')
    app.click(button)
    app.wait_toast(re.compile(r'PIN changed'), 'a toast says the PIN was changed')
    app.screenshot('pin-changed')
    ok(card.yubico_verify(NEW_PIN), 'yubico-piv-tool -a verify-pin accepts the new PIN')
    ok(card.tries() == 3, 'the card has 3 PIN tries again')

    log = app.log_text()
    ok(NEW_PIN not in log and PIN not in log and WRONG_PIN not in log,
       'no PIN is in the app\'s log (G_MESSAGES_DEBUG=all)')


if __name__ == '__main__':
    run(main)
