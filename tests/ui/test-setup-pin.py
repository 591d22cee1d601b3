#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Set up a new PIV card still on its factory PIN and PUK as a user does: the card page
offers "Set Up PIN"; the form asks for the current PIN and PUK and a new PIN and a new
PUK, each twice, with the PUK's rule from core ("Use exactly 8 digits"); the button
stays insensitive until the PUK part holds too; a wrong current PUK changes nothing
(core verifies both before it changes either); then the right one sets both, and
yubico-piv-tool accepts the new PIN and the new PUK.

Runs inside cardpin-test-stack (two readers; the test inserts the card)."""

import re

from cardpinui import App, Card, ok, run, sensitive, wait_until

FACTORY_PIN, FACTORY_PUK = '123456', '12345678'
NEW_PIN, NEW_PUK = '582947', '73920461'
WRONG_PUK = '11223344'
BUTTON = re.compile(r'^_?Set Up PIN')


def main(desktop, ctx):
    card = Card(0, '--subject', 'Katherine Johnson', '-v')
    ctx['cards'].append(card)
    app = App(desktop)
    ctx['apps'].append(app)

    app.open_row('Katherine Johnson')
    app.open_row('Set Up PIN')
    for name in ('Current PIN', 'New PIN', 'Confirm New PIN', 'Current PUK', 'New PUK',
                 'Confirm New PUK'):
        app.find('text', name, what='the form has an entry named "%s"' % name)
    button = app.find('push button', BUTTON, what='the form has a "Set Up PIN" button')
    # the PUK's rule from core: PIV PUKs have exactly 8 characters (digits here)
    app.wait_text(re.compile(r'^Use exactly 8 (digits|characters)\. '),
                  'the new PUK\'s rule says "Use exactly 8 …"')
    ok(not app.has_text(re.compile(r'\b(\d+) to \1\b')), 'no rule says "8 to 8"')
    app.screenshot('setup-pin')

    # the PIN part alone is not enough
    app.fill('Current PIN', FACTORY_PIN)
    app.fill('New PIN', NEW_PIN)
    app.fill('Confirm New PIN', NEW_PIN)
    app.fill('Current PUK', FACTORY_PUK)
    ok(not sensitive(button), 'the button stays insensitive without the new PUK')
    app.fill('New PUK', NEW_PUK)
    app.fill('Confirm New PUK', NEW_PUK[:-1] + '0')
    ok(not sensitive(button), 'the button stays insensitive while the PUKs differ')
    app.fill('Confirm New PUK', NEW_PUK)
    wait_until(lambda: sensitive(button), 'the button turns sensitive when all holds')

    # a wrong current PUK: nothing changes, not even the PIN
    app.fill('Current PUK', WRONG_PUK)
    wait_until(lambda: sensitive(button), 'the button is sensitive with another PUK')
    mark = card.log_mark()
    app.click(button)
    app.wait_text(re.compile(r'\b2 tries left\b'), 'a wrong PUK shows the PUK tries left')
    ok(card.tries(0x81) == 2, 'the card counted one wrong PUK')
    ok(not card.commands_since(mark, r'00 24 00 80 -> 9000'),
       'the PIN was not changed with a wrong PUK')
    ok(card.yubico_verify(FACTORY_PIN), 'the factory PIN still works')

    # the right PUK: both set
    app.fill('Current PUK', FACTORY_PUK)
    wait_until(lambda: sensitive(button), 'the button is sensitive again')
    app.click(button)
    app.wait_toast(re.compile(r'PIN and PUK are set'), 'a toast says the PIN and PUK are set')
    ok(card.yubico_verify(NEW_PIN), 'yubico-piv-tool -a verify-pin accepts the new PIN')
    ok(card.yubico_unblock(NEW_PUK, NEW_PIN),
       'yubico-piv-tool -a unblock-pin accepts the new PUK')
    ok(card.tries(0x81) == 3, 'the PUK has 3 tries again')
    ok(card.yubico_verify(NEW_PIN), 'the new PIN still works after the unblock')

    log = app.log_text()
    ok(all(s not in log for s in (NEW_PIN, NEW_PUK, WRONG_PUK, FACTORY_PUK)),
       'no PIN or PUK is in the app\'s log (G_MESSAGES_DEBUG=all)')


if __name__ == '__main__':
    run(main)
