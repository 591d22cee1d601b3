#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Unblock with the helpdesk (offline challenge/response) as a user does: the challenge
is visible text in the DESIGN.md format (groups, then "check XXXX") with its right
checksum; a response with a typo is flagged in place and never reaches the card (no
second GENERAL AUTHENTICATE or RESET RETRY COUNTER; afterwards the admin key has all
its tries); the right response,
computed here from the admin key with openssl, and a new PIN twice unblock the card;
yubico-piv-tool accepts the new PIN.

Runs inside cardpin-test-stack (two readers; the test inserts the card)."""

import re

from cardpinui import (App, Card, check, format_code, ok, openssl_response, parse_code,
                       run, sensitive, wait_until)

SERIAL = '4341524450494E00000000000000DE31'
ADMIN_KEY = '000102030405060708090A0B0C0D0E0F'
PIN, PUK = '246810', '86427531'
NEW_PIN = '318264'
WRONG_VERIFY = '00:20:00:80:08:39:37:35:33:31:30:FF:FF'
CODE = re.compile(r'(?:[0-9A-F]{4} )+\s*check [0-9A-F]{4}')


def typo(digits):
    """One wrong hex digit in the middle: what a person mishears."""
    i = len(digits) // 2
    wrong = '0' if digits[i] != '0' else '1'
    return digits[:i] + wrong + digits[i + 1:]


def spoken(code):
    """The code as typed from what the helpdesk reads: the groups, then the four check
    characters (without the word 'check')."""
    return code.replace('   check ', ' ')


def main(desktop, ctx):
    card = Card(0, '--serial', SERIAL, '--subject', 'Grace Hopper', '--pin', PIN,
                '--puk', PUK, '--admin-key', ADMIN_KEY, '--admin-tries', '3', '-v')
    ctx['cards'].append(card)
    sws = card.apdus(WRONG_VERIFY, WRONG_VERIFY, WRONG_VERIFY)
    check(card.tries() == 0, 'three wrong PINs block the PIN (%s)'
          % ' '.join('%04X' % w for w in sws))
    admin_tries = card.tries(0x9B)

    app = App(desktop)
    ctx['apps'].append(app)
    app.open_row('Grace Hopper')
    app.wait_text(re.compile(r'[Bb]locked'), 'the card page says the PIN is blocked')
    app.open_row('Unblock with Your Helpdesk')

    challenge_text = app.wait_text(CODE, 'the challenge is shown as groups and "check XXXX"')
    challenge = parse_code(challenge_text)
    ok(challenge is not None and len(challenge) == 32,
       'the challenge is 16 bytes and its checksum is right: ' + challenge_text)
    app.find('push button', re.compile(r'Copy'), what='a copy button is offered')
    app.screenshot('unblock-helpdesk')

    response = openssl_response('-aes-128-ecb', ADMIN_KEY, challenge)
    good = format_code(response)
    bad = spoken(format_code(typo(response)))[:-4] + good[-4:]   # the right check, a typo
    ok(parse_code(good) == response, 'the test computed the response: ' + good)

    # a typo: flagged in place, the button stays off, nothing reaches the card
    mark = card.log_mark()
    before = set(app.texts())
    app.fill('Response from the Helpdesk', bad)
    app.fill('New PIN', NEW_PIN)
    app.fill('Confirm New PIN', NEW_PIN)
    flagged = wait_until(lambda: [t for t in app.texts() if t not in before
                                  and re.search(r'typo|[Cc]heck|match|wrong|again', t)],
                         'the typo is flagged next to the response')
    ok(True, 'the flag: ' + ' | '.join(flagged))
    button = app.find('push button', re.compile(r'^_?Unblock PIN'),
                      what='the form has an "Unblock PIN" button')
    ok(not sensitive(button), 'the button stays insensitive with a typo')
    app.key('Return')
    app.screenshot('unblock-helpdesk-typo')
    ok(not card.commands_since(mark, r'^00 (87|2C) '),
       'no response or RESET RETRY COUNTER reached the card')

    # the right response
    app.fill('Response from the Helpdesk', spoken(good))
    wait_until(lambda: sensitive(button), 'the button turns sensitive for the right response')
    app.click(button)
    app.wait_toast(re.compile(r'PIN unblocked'), 'a toast says the PIN is unblocked')
    ok(card.yubico_verify(NEW_PIN), 'yubico-piv-tool -a verify-pin accepts the new PIN')
    ok(card.tries() == 3, 'the PIN has 3 tries again')
    ok(card.tries(0x9B) == admin_tries, "the typo cost the admin key no try (%d left)"
       % admin_tries)
    log = app.log_text()
    ok(NEW_PIN not in log and response not in log and good not in log,
       "neither the PIN nor the response is in the app's log (G_MESSAGES_DEBUG=all)")


if __name__ == '__main__':
    run(main)
