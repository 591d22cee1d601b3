#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The card is pulled in the middle of the helpdesk (challenge/response) flow: the page
says the challenge is no longer valid and offers to start again; with the card back,
Start Again shows a new challenge; leaving the page releases the card at once, and the
card never saw a response or a RESET RETRY COUNTER.

Runs inside cardpin-test-stack (two readers; the test inserts the card)."""

import re

from cardpinui import App, Card, check, ok, parse_code, run, wait_until

ADMIN_KEY = '000102030405060708090A0B0C0D0E0F'
WRONG_VERIFY = '00:20:00:80:08:39:37:35:33:31:30:FF:FF'
CODE = re.compile(r'(?:[0-9A-F]{4} )+\s*check [0-9A-F]{4}')


def main(desktop, ctx):
    card = Card(0, '--subject', 'Grace Hopper', '--pin', '246810', '--puk', '86427531',
                '--admin-key', ADMIN_KEY, '-v')
    ctx['cards'].append(card)
    card.apdus(WRONG_VERIFY, WRONG_VERIFY, WRONG_VERIFY)
    check(card.tries() == 0, 'three wrong PINs block the PIN')
    mark = card.log_mark()

    app = App(desktop)
    ctx['apps'].append(app)
    app.open_row('Grace Hopper')
    app.open_row('Unblock with Your Helpdesk')
    first = parse_code(app.wait_text(CODE, 'the challenge is shown'))
    ok(first is not None, 'the challenge has a right checksum')

    card.pull()
    app.wait_text(re.compile(r'no longer (valid|works)', re.I),
                  'the page says the challenge is no longer valid')
    ok(not app.has_text(CODE), 'the old challenge is gone from the page')
    again = app.find('push button', re.compile(r'Start Again'),
                     what='the page offers to start again')
    app.screenshot('unblock-helpdesk-removed')

    card.insert()
    app.click(again)
    second = parse_code(app.wait_text(CODE, 'Start Again shows a challenge from the card'))
    ok(second is not None and second != first, 'it is a new challenge')

    # leave the flow: the card is free for other programs at once
    frame = app.window()
    action = frame.queryAction()
    names = [action.getName(i) for i in range(action.nActions)]
    check('win.back' in names, 'the window has a back action')
    action.doAction(names.index('win.back'))
    app.wait_no_text(CODE, 'the flow is left')
    ok(card.tries() == 0, 'another program reads the card at once: the PIN is still blocked')
    ok(not card.commands_since(mark, r'^00 2C '), 'no RESET RETRY COUNTER reached the card')


if __name__ == '__main__':
    run(main)
