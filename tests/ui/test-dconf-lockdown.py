#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Central configuration (issue 11 item 2) in the app: the administrator's defaults and
locks in a real dconf database (dconf compile + a dconf profile, not the memory backend)
are obeyed. With only the PUK allowed and a minimum of 8 characters locked, the card
page of a blocked card offers the PUK and not the helpdesk, and a 6-digit new PIN is
refused with the locked minimum before the card is touched.

Runs inside cardpin-test-stack (two readers; the test inserts the card)."""

import os
import re
import subprocess

from cardpinui import App, Card, ok, run, sensitive, wait_until

PIN, PUK = '246810', '86427531'
SHORT_PIN, LONG_PIN = '592746', '59274613'
WRONG_VERIFY = '00:20:00:80:08:39:37:35:33:31:30:FF:FF'
BUTTON = re.compile(r'^_?Unblock PIN')


def locked_dconf(tmp):
    """What the README tells an administrator to write under /etc/dconf/db/site.d"""
    site = os.path.join(tmp, 'dconf')
    os.makedirs(os.path.join(site, 'site.d', 'locks'))
    with open(os.path.join(site, 'site.d', '00-cardpin'), 'w') as f:
        f.write("[io/github/cardpin/CardPin]\n"
                "allowed-unblock-methods=['puk']\n"
                "pin-min-length=uint32 8\n")
    with open(os.path.join(site, 'site.d', 'locks', 'cardpin'), 'w') as f:
        f.write('/io/github/cardpin/CardPin/allowed-unblock-methods\n'
                '/io/github/cardpin/CardPin/pin-min-length\n')
    # the harness turns the app's debug log on; these tools' stdout is TAP's
    quiet = {k: v for k, v in os.environ.items() if k != 'G_MESSAGES_DEBUG'}
    subprocess.run(['dconf', 'compile', os.path.join(site, 'site'), os.path.join(site, 'site.d')],
                   check=True, env=quiet, stdout=subprocess.DEVNULL)
    with open(os.path.join(site, 'profile'), 'w') as f:
        f.write('user-db:user\nfile-db:%s\n' % os.path.join(site, 'site'))
    os.environ['GSETTINGS_BACKEND'] = 'dconf'
    os.environ['DCONF_PROFILE'] = os.path.join(site, 'profile')
    quiet = {k: v for k, v in os.environ.items() if k != 'G_MESSAGES_DEBUG'}
    out = subprocess.run(['gsettings', 'writable', 'io.github.cardpin.CardPin', 'pin-min-length'],
                         capture_output=True, text=True, env=quiet).stdout.strip()
    ok(out == 'false', 'the dconf database locks pin-min-length (gsettings writable: %s)' % out)


def main(desktop, ctx):
    locked_dconf(desktop.tmp)
    card = Card(0, '--subject', 'Ada Lovelace', '--pin', PIN, '--puk', PUK, '-v')
    ctx['cards'].append(card)
    card.apdus(WRONG_VERIFY, WRONG_VERIFY, WRONG_VERIFY)
    ok(card.tries() == 0, 'the card\'s PIN is blocked')

    app = App(desktop)
    ctx['apps'].append(app)
    row = app.find('list item', 'Ada Lovelace', what='the blocked card is listed')
    app.click(row)
    app.wait_text(re.compile(r'[Bb]locked'), 'the card page says the PIN is blocked')
    app.find('list item', re.compile(r'^Unblock with the _?PUK'),
             what='the allowed method is offered: "Unblock with the PUK"')
    ok(not app.nodes('list item', re.compile(r'Helpdesk')),
       'the method the administrator left out is not offered (no helpdesk row)')

    app.open_row(re.compile(r'^Unblock with the _?PUK'))
    button = app.find('push button', BUTTON, what='the form has an "Unblock PIN" button')
    app.fill('PUK', PUK)
    app.fill('New PIN', SHORT_PIN)
    app.fill('Confirm New PIN', SHORT_PIN)
    app.wait_text(re.compile(r'at least 8|\b8 to 8 digits|\b8 digits'),
                  'a 6-digit new PIN: the form says the locked minimum of 8')
    ok(not sensitive(button), 'the button stays insensitive, nothing reaches the card')
    ok(card.tries(0x81) == 3 and card.tries() == 0, 'the card is untouched (PUK 3 tries)')

    app.fill('New PIN', LONG_PIN)
    app.fill('Confirm New PIN', LONG_PIN)
    wait_until(lambda: sensitive(button), 'an 8-digit new PIN makes the button sensitive')
    app.click(button)
    app.wait_toast(re.compile(r'PIN unblocked'), 'a toast says the PIN is unblocked')
    ok(card.yubico_verify(LONG_PIN), 'yubico-piv-tool -a verify-pin accepts the new PIN')


if __name__ == '__main__':
    run(main)
