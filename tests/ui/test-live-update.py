#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Live update (issue 8 item 1): another program spends PIN tries while the window is
open, and the card's row shows the new tries left without a restart, a click or F5;
the window reads the card again because the reader's state changed (the other program
released the card), not by polling the card: with nobody else using it, the card gets
no command at all while the window stays open.

The other program is yubico-piv-tool (-a verify-pin with a wrong PIN), run from this
test; the card answers with a real card's latency, so that the other program holds it
for a moment as it would a real card.

Runs inside cardpin-test-stack (two readers; the test inserts the card)."""

import re
import time

from cardpinui import App, Card, ok, run

SERIAL = '00112233445566778899AABBCCDDEEFF'
PIN = '246810'
# a real card's answer time: yubico-piv-tool holds the card for a few commands
APDU_DELAY_MS = '80'
QUIET_S = 3


def main(desktop, ctx):
    card = Card(0, '--serial', SERIAL, '--subject', 'Ada Lovelace', '--pin', PIN,
                '--apdu-delay-ms', APDU_DELAY_MS, '-v')
    ctx['cards'].append(card)
    app = App(desktop)
    ctx['apps'].append(app)

    row = app.find('list item', 'Ada Lovelace', what="Ada's row is shown")
    app.wait_text('3 tries left', 'the row shows the PIN with all its tries', root=row)

    # nobody uses the card: the open window sends it nothing (no polling of the card)
    mark = card.log_mark()
    time.sleep(QUIET_S)
    sent = card.commands_since(mark, r'.')
    ok(not sent, 'no command reaches the card in %d s while nobody uses it (got %d)'
       % (QUIET_S, len(sent)))

    # another program spends a try: the row follows
    ok(not card.yubico_verify('999999'), 'yubico-piv-tool: a wrong PIN is refused')
    app.wait_text(re.compile(r'^2 tries left$'),
                  'the row shows 2 tries left after another program spent one',
                  root=row, timeout=10)
    ok(card.tries() == 2, 'the card has 2 tries left (opensc-tool)')

    # the window read the card again (after opensc-tool too), then leaves it alone (no
    # loop on its own reads)
    time.sleep(2)
    mark = card.log_mark()
    time.sleep(QUIET_S)
    sent = card.commands_since(mark, r'.')
    ok(not sent, 'after reading the card again the window leaves it alone (got %d '
       'commands in %d s)' % (len(sent), QUIET_S))

    # and once more, down to the last try
    ok(not card.yubico_verify('999999'), 'yubico-piv-tool: a wrong PIN again')
    app.wait_text(re.compile(r'^(Last try|Final try|1 try left)$'),
                  'the row shows the last try', root=row, timeout=10)

    # the card is free for others: the right PIN still works
    ok(card.yubico_verify(PIN), 'yubico-piv-tool verifies the right PIN while the window '
       'is open')


if __name__ == '__main__':
    run(main)
