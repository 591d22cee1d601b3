#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Unblock online as a user does, against the real unblock service: cardpin-unblockd
with a test CA, its master key in SoftHSM2 and accounts checked by PAM (pam_wrapper +
pam_matrix), set up and started by build-aux/demo-service.sh; the device token goes to a
real Secret Service (gnome-keyring-daemon on the private session bus of
tests/online/keyring-session.sh, which this test runs in).

A wrong password (401) says to check it and leaves the card blocked; the right one with
"Remember This Device" unblocks it (yubico-piv-tool accepts the new PIN) and keeps a
device token in the keyring; the next unblock signs in with it, without a password; a
card registered to another account is refused (403) with what to do next; the card's
daily quota used up gives "too many requests" (429) with what to do next.

Runs inside keyring-session.sh and cardpin-test-stack (two readers)."""

import os
import re
import socket
import subprocess
import time

from cardpinui import App, Card, ok, run, sensitive, wait_until

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
SERVICE = os.path.join(TOP, 'build-aux', 'demo-service.sh')
# the cards as cardpin prints their serials (CHUID GUID)
SERIAL_MINE = 'C0FFEE000000000000000000000001A1'
SERIAL_OTHER = 'C0FFEE000000000000000000000002B2'
WRONG_PASSWORD = 'canary-Wrong-93be1'
NEW_PIN, NEW_PIN2 = '582913', '610374'
WRONG_VERIFY = '00:20:00:80:08:39:37:35:33:31:30:FF:FF'
BUTTON = re.compile(r'^_?Unblock PIN')


def quiet_env():
    # the harness turns the app's debug log on; these tools print on stdout
    return {k: v for k, v in os.environ.items() if k != 'G_MESSAGES_DEBUG'}


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def service(*args):
    r = subprocess.run([SERVICE] + list(args), capture_output=True, text=True,
                       env=quiet_env(), timeout=120)
    ok(r.returncode == 0, 'demo-service.sh %s%s' % (args[0], '' if r.returncode == 0
                                                    else ': ' + r.stderr.strip()))
    return r.stdout.strip()


def block(card):
    card.apdus(WRONG_VERIFY, WRONG_VERIFY, WRONG_VERIFY)
    ok(card.tries() == 0, "the card's PIN is blocked")


def block_again(app, card, holder):
    """Blocks the card's PIN again from another program, then takes the card out and
    puts it back so the app reads it afresh; back to the card list."""
    block(card)
    card.pull()
    card.insert()
    back_to_list(app)


def on_list(app):
    try:
        return bool(app.nodes('label', 'Smart Cards'))
    except Exception:  # the tree changes under our feet
        return False


def back_to_list(app):
    """Back (win.back) until the card list shows."""
    for _ in range(4):
        time.sleep(0.5)
        if on_list(app):
            break
        app.back()
    wait_until(lambda: on_list(app), 'back on the card list')


def open_online(app, holder):
    row = app.find('list item', holder, what='the card of %s is listed' % holder)
    app.wait_text(re.compile(r'^Blocked$'), 'the list says "Blocked"', root=row)
    app.click(row)
    app.wait_text(re.compile(r'^PIN blocked'), 'the card page says the PIN is blocked')
    app.open_row(re.compile(r'^Unblock _?Online'))
    return app.find('push button', BUTTON, what='the page has an "Unblock PIN" button')


def unblock(app, button, pin):
    """Types the new PIN twice and presses "Unblock PIN"."""
    app.fill('New PIN', pin)
    app.fill('Confirm New PIN', pin)
    wait_until(lambda: sensitive(button), 'the button turns sensitive')
    app.click(button)


def main(desktop, ctx):
    user = subprocess.run(['id', '-un'], capture_output=True, text=True).stdout.strip()
    sdir = os.path.join(desktop.tmp, 'service')
    os.environ['CARDPIN_DEMO_PORT'] = str(free_port())
    # two granted unblocks per card and day: the third is "too many requests"
    os.environ['CARDPIN_DEMO_QUOTA_CARD'] = '2'
    key_mine = service('setup', sdir, SERIAL_MINE, user)
    # a card registered to another account
    key_other = service('setup', sdir, SERIAL_OTHER, 'someone-else')
    ok(re.fullmatch(r'[0-9A-Fa-f]{32}', key_mine) and re.fullmatch(r'[0-9A-Fa-f]{32}', key_other),
       'the helpdesk exports both cards\' admin keys')
    url = service('start', sdir)
    ctx['cleanup'].append(lambda: subprocess.run([SERVICE, 'stop', sdir], env=quiet_env()))
    with open(os.path.join(sdir, 'demo-password')) as f:
        password = f.read().strip()

    # the app's settings: the service and its CA, as an administrator sets them
    os.environ['GSETTINGS_BACKEND'] = 'keyfile'
    keyfile = os.path.join(os.environ['XDG_CONFIG_HOME'], 'glib-2.0', 'settings', 'keyfile')
    os.makedirs(os.path.dirname(keyfile))
    with open(keyfile, 'w') as f:
        f.write("[io/github/cardpin/CardPin]\nunblock-server-url='%s'\n"
                "unblock-server-ca='%s'\n" % (url, os.path.join(sdir, 'ca.pem')))

    mine = Card(0, '--serial', SERIAL_MINE, '--admin-key', key_mine, '--subject',
                'Dorothy Vaughan', '-v')
    ctx['cards'].append(mine)
    block(mine)
    app = App(desktop)
    ctx['apps'].append(app)

    # a wrong password: 401, said in words, the card untouched
    button = open_online(app, 'Dorothy Vaughan')
    # the user name is filled in with the login name, which is the account's name here
    app.find('text', 'User Name', what='the page has an entry "User Name"')
    app.screenshot('unblock-online')
    app.fill('Account Password', WRONG_PASSWORD)
    unblock(app, button, NEW_PIN)
    app.wait_text(re.compile(r'did not accept your user name and password\. Check them and '
                             r'try again; your card was not changed'),
                  'a wrong password (401): check it and try again, the card was not changed')
    ok(mine.tries() == 0, 'the PIN is still blocked')

    # the right password, and remember this device
    app.fill('Account Password', password)
    app.open_row(re.compile(r'^_?Remember This Device'), page=False)
    switch = app.nodes('check box', 'Remember This Device', visible=False)
    ok(switch, 'the row\'s switch is named "Remember This Device"')
    wait_until(lambda: switch[0].getState().contains(desktop.atspi.STATE_CHECKED),
               'the switch is on')
    wait_until(lambda: sensitive(button), 'the button is sensitive')
    app.click(button)
    app.wait_toast(re.compile(r'PIN unblocked and set\. This device is remembered'),
                   'a toast says the PIN is unblocked and this device remembered')
    ok(mine.yubico_verify(NEW_PIN), 'yubico-piv-tool -a verify-pin accepts the new PIN')

    # blocked again: the remembered device signs in, no password
    block_again(app, mine, 'Dorothy Vaughan')
    open_online(app, 'Dorothy Vaughan')
    app.wait_text(re.compile(r'This device is remembered'), 'the page says the device is remembered')
    ok(not app.nodes('text', 'Account Password'), 'no password is asked')
    button = app.find('push button', BUTTON)
    unblock(app, button, NEW_PIN2)
    app.wait_toast(re.compile(r'^PIN unblocked and set$'), 'a toast says the PIN is unblocked')
    ok(mine.yubico_verify(NEW_PIN2), 'yubico-piv-tool -a verify-pin accepts the second new PIN')

    # the card's quota for today is used up: 429, with what to do next
    block_again(app, mine, 'Dorothy Vaughan')
    button = open_online(app, 'Dorothy Vaughan')
    unblock(app, button, NEW_PIN)
    app.wait_text(re.compile(r'Too many unblock requests\. Try again (in|later).*call your '
                             r'helpdesk'),
                  'too many requests (429): try again later or call the helpdesk')
    ok(mine.tries() == 0, 'the PIN is still blocked')
    app.screenshot('unblock-online-error')

    # a card registered to another account: 403, with what to do next
    other = Card(1, '--serial', SERIAL_OTHER, '--admin-key', key_other, '--subject',
                 'Someone Else')
    ctx['cards'].append(other)
    block_again(app, other, 'Someone Else')
    button = open_online(app, 'Someone Else')
    if app.nodes('text', 'Account Password'):
        app.fill('Account Password', password)
    unblock(app, button, NEW_PIN)
    app.wait_text(re.compile(r'does not unblock this card for your account.*Call your '
                             r'helpdesk'),
                  'a card of another account (403): call the helpdesk')
    ok(other.tries() == 0, "the other card's PIN is still blocked")

    log = app.log_text()
    ok(all(s not in log for s in (password, WRONG_PASSWORD, NEW_PIN, NEW_PIN2)),
       'no password or PIN is in the app\'s log (G_MESSAGES_DEBUG=all)')


if __name__ == '__main__':
    run(main)
