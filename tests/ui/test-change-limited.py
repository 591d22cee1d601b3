#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Change the PIN of a card model that allows only one PIN change, as a user does: the
form says how many changes remain as far as this computer knows and, before the last
one, asks the user to confirm it (the button stays insensitive until then); the change
is counted in the user's state directory (the serial and a count, no PIN); the next
visit says that no change remains.

Runs inside cardpin-test-stack (two readers; the test inserts the card)."""

import os
import re

from cardpinui import App, Card, ok, run, sensitive, wait_until

# the change-limited test model of data/change-limited-cards.txt (one change)
LIMITED_ATR = '3B8C80014341524450494E4C494D49541B'
SERIAL = 'C0FFEE00112233445566778899AABBCC'
PIN, NEW_PIN = '246810', '581379'
BUTTON = re.compile(r'^_?Change PIN')
CONFIRM = 'I understand: this is the last change'


def main(desktop, ctx):
    card = Card(0, '--atr', LIMITED_ATR, '--pin-change-limit', '1', '--serial', SERIAL,
                '--subject', 'Mary Jackson', '--pin', PIN, '--puk', '86427531')
    ctx['cards'].append(card)
    app = App(desktop)
    ctx['apps'].append(app)

    app.open_row('Mary Jackson')
    app.open_row('Change PIN')
    app.wait_text(re.compile(r'allows its PIN to be changed only 1 time\. As far as this '
                             r'computer knows, this is the last change'),
                  'the form says this is the last change the card allows')
    check = app.find('check box', CONFIRM, what='a check box "%s"' % CONFIRM)
    button = app.find('push button', BUTTON, what='the form has a "Change PIN" button')
    app.fill('Current PIN', PIN)
    app.fill('New PIN', NEW_PIN)
    app.fill('Confirm New PIN', NEW_PIN)
    ok(not sensitive(button), 'the button stays insensitive until the last change is confirmed')
    app.screenshot('change-pin-last')
    app.click(check)
    wait_until(lambda: sensitive(button), 'the button turns sensitive once confirmed')
    app.click(button)
    app.wait_toast(re.compile(r'PIN changed'), 'a toast says the PIN was changed')
    ok(card.yubico_verify(NEW_PIN), 'yubico-piv-tool -a verify-pin accepts the new PIN')

    # the count: the serial and one change, nothing secret
    path = os.path.join(os.environ['XDG_STATE_HOME'], 'cardpin', 'pin-changes')
    with open(path) as f:
        state = f.read()
    ok(re.search(r'^%s=1$' % SERIAL, state, re.M), 'the change is counted for the serial: '
       + state.replace('\n', ' '))
    ok(PIN not in state and NEW_PIN not in state, 'no PIN is in the state file')
    ok(os.stat(path).st_mode & 0o077 == 0, 'the state file is private to the user')

    # the next visit: no change remains
    app.open_row('Change PIN')
    app.wait_text(re.compile(r'As far as this computer knows, no change remains'),
                  'the form says no change remains')


if __name__ == '__main__':
    run(main)
