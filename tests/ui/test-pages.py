#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The card's Details and Certificates pages as a user reads them: the reader, serial
and the card's secrets with their tries left; the certificates with their subject and
which PIN protects each key (the signature key asks for the PIN at every signature),
and that cardpin never caches a PIN.

Runs inside cardpin-test-stack (two readers; the test inserts the card)."""

import re

from cardpinui import App, Card, ok, run

SERIAL = '00112233445566778899AABBCCDDEEFF'
WRONG_VERIFY = '00:20:00:80:08:39:37:35:33:31:30:FF:FF'


def main(desktop, ctx):
    card = Card(0, '--serial', SERIAL, '--subject', 'Ada Lovelace', '--pin', '246810',
                '--puk', '86427531', '--admin-key', '000102030405060708090A0B0C0D0E0F')
    ctx['cards'].append(card)
    ok(card.apdus(WRONG_VERIFY)[-1] == 0x63C2, 'one wrong PIN: 2 tries left')
    app = App(desktop)
    ctx['apps'].append(app)
    app.open_row('Ada Lovelace')

    app.open_row('Details')
    app.wait_text(re.compile(re.escape(SERIAL)), 'Details shows the serial')
    app.wait_text(re.compile(r'Virtual PCD 00 00'), 'Details shows the reader')
    app.wait_text('Secrets', 'Details has the table of secrets')
    app.wait_text(re.compile(r'PUK'), 'the PUK is one of the secrets')
    app.wait_text(re.compile(r'^2 tries left$'), "the PIN's 2 tries left are shown")
    app.wait_text(re.compile(r'^3 tries left$'), "the PUK's 3 tries left are shown")
    # PIV management keys have no retry counter that standard PIV reads: said in words
    app.wait_text('Not reported by the card',
                  "the administration key's tries: not reported by the card")
    ok(not app.has_text('Unknown'), 'no secret says "Unknown"')
    app.wait_text('Challenge/response key (PIV card management key)',
                  "the administration key's kind")
    app.wait_text('Administrator', "the administration key's role")
    app.wait_text('Unblock only', "the PUK's role")
    app.screenshot('details')
    app.back()

    app.open_row('Certificates')
    app.wait_text(re.compile(r'Ada Lovelace'), "a certificate's subject names the holder")
    app.wait_text(re.compile(r'never caches a PIN'),
                  'the page says cardpin never caches a PIN or holds the card')
    app.wait_text(re.compile(r'asked again for every signature'),
                  'the signature key asks for the PIN at every signature')
    app.screenshot('certificates')
    # the page holds nothing: another program uses the card while it is open
    ok(card.yubico_verify('246810'), 'yubico-piv-tool verifies the PIN while the page is open')


if __name__ == '__main__':
    run(main)
