#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The card list: two cards at once with holder, serial and tries left as visible text;
a card pulled and inserted again while the window is open; no card at all.

Runs inside cardpin-test-stack (two readers, no card: the test inserts them)."""

import re

from cardpinui import App, Card, ok, run, wait_until

SERIAL_A = '00112233445566778899AABBCCDDEEFF'
SERIAL_B = 'C0FFEE00C0FFEE00C0FFEE00C0FFEE01'
WRONG_VERIFY = '00:20:00:80:08:39:39:39:39:39:39:FF:FF'


def row_of(app, holder):
    return app.find('list item', holder, what='the row of %s is shown' % holder)


def main(desktop, ctx):
    ada = Card(0, '--serial', SERIAL_A, '--subject', 'Ada Lovelace')
    ctx['cards'].append(ada)
    grace = Card(1, '--serial', SERIAL_B, '--subject', 'Grace Hopper')
    ctx['cards'].append(grace)
    # another program spent one of Grace's tries before the app starts
    ok(grace.apdus(WRONG_VERIFY)[-1] == 0x63C2, 'a wrong PIN leaves Grace 2 tries')

    app = App(desktop)
    ctx['apps'].append(app)

    # both cards, each with its holder, serial and tries left as visible text
    row_a = row_of(app, 'Ada Lovelace')
    row_b = row_of(app, 'Grace Hopper')
    app.wait_text(re.compile(re.escape(SERIAL_A)), root=row_a)
    app.wait_text(re.compile(re.escape(SERIAL_B)), root=row_b)
    app.wait_text(re.compile(r'\b2 tries left\b'), "Grace's row says 2 tries left",
                  root=row_b)
    ok(not app.has_text(re.compile(r'tries left|Last try|Blocked'), root=row_a)
       or app.has_text(re.compile(r'\b3 tries left\b'), root=row_a),
       "Ada's row does not claim fewer than 3 tries")
    ok(len(app.nodes('list item', re.compile('Lovelace|Hopper'))) == 2,
       'exactly two card rows')
    app.screenshot('cards')

    # Grace pulls her card: her row goes, Ada's stays
    grace.pull()
    wait_until(lambda: not app.nodes('list item', 'Grace Hopper'),
               "Grace's row goes when her card is pulled")
    ok(len(app.nodes('list item', 'Ada Lovelace')) == 1, "Ada's row stays")

    # and inserts it again: the row is back with the card's state
    grace.insert()
    row_b = row_of(app, 'Grace Hopper')
    app.wait_text(re.compile(r'\b2 tries left\b'), 'the card inserted again shows '
                  'its 2 tries left', root=row_b)

    # both pulled: the window asks for a card
    ada.pull()
    grace.pull()
    app.wait_text('Insert your smart card', 'with no card the window asks for one')
    app.screenshot('no-card')


if __name__ == '__main__':
    run(main)
