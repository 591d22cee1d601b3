#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A card in a PIN pad reader, as a user with such a reader sees it: the Change PIN page
says to use the reader's keypad and has no PIN entries; pressing its button changes the
PIN with the digits typed on the keypad (a success toast; yubico-piv-tool accepts the
new PIN). A wrong current PIN typed there shows the tries left; Cancel on the keypad
shows a clear error and changes nothing, and the page can be used again. Of the unblock
actions only the PUK's is offered (its PUK and new PIN are typed on the keypad too);
the helpdesk and online unblock stay hidden, as the app does on PIN pad readers.

A new card's Set Up PIN takes the PINs on the keypad too, and its factory PUK is then
replaced on the computer (Change PUK).

Runs inside cardpin-test-stack --pinpad: the readers are tests/stack/ifd-pinpad.c, whose
keypad reads the lines of $CARDPIN_TEST_KEYPAD (one line per PIN entry; none left is
Cancel). The app never sees that file, nor the digits."""

import os
import re
import time

from cardpinui import App, Card, ok, run, sensitive, wait_until

PIN, PUK = '246810', '86427531'
NEW_PIN = '135790'
WRONG_PIN = '975310'
UNBLOCKED_PIN = '592746'
FACTORY_PIN, FACTORY_PUK = '123456', '12345678'
SETUP_PIN, NEW_PUK = '864209', '97531864'
KEYPAD = os.environ['CARDPIN_TEST_KEYPAD']
BUTTON = re.compile(r'^_?Change PIN')
NOTE = re.compile(r'reader has a keypad')


def keypad(*entries):
    """What the person will type on the reader's keypad, one PIN entry per line."""
    with open(KEYPAD, 'w') as f:
        f.write(''.join(e + '\n' for e in entries))


def keypad_used():
    with open(KEYPAD) as f:
        return f.read() == ''


def main(desktop, ctx):
    ok(os.environ['CARDPIN_TEST_READER0'].startswith('Virtual PIN Pad'),
       'the stack\'s reader is a PIN pad reader')
    card = Card(0, '--subject', 'Ada Lovelace', '--pin', PIN, '--puk', PUK, '-v')
    ctx['cards'].append(card)
    # a second card whose PIN another program has blocked
    blocked = Card(1, '--subject', 'Grace Hopper', '--pin', PIN, '--puk', PUK)
    ctx['cards'].append(blocked)
    ok(blocked.apdus(*['00:20:00:80:08:39:37:35:33:31:30:FF:FF'] * 3)[1:] ==
       [0x63C2, 0x63C1, 0x63C0], 'three wrong PINs from another program block Grace\'s PIN')
    app = App(desktop)
    ctx['apps'].append(app)

    app.open_row('Ada Lovelace')
    app.wait_text(re.compile(r'\b3 tries left\b'), 'the card page shows 3 PIN tries left')
    ok(app.nodes('list item', 'Change PIN'), 'the card page offers "Change PIN"')
    ok(not app.nodes('list item', 'Unblock with Your Helpdesk') and
       not app.nodes('list item', 'Unblock Online'),
       'the helpdesk and online unblock are hidden on a PIN pad reader')
    app.wait_text(re.compile(r'helpdesk or online, put the card in a reader without a keypad'),
                  'the page says where the helpdesk unblock works')
    app.screenshot('pinpad-card')

    app.open_row('Change PIN')
    note = app.wait_text(NOTE, 'the page says the reader has a keypad')
    ok('keypad' in note and 'button' in note, 'it says what to do: ' + note)
    ok(not app.nodes('text', 'Current PIN') and not app.nodes('text', 'New PIN') and
       not app.nodes('text', 'Confirm New PIN'), 'the page has no PIN entries')
    button = app.find('push button', BUTTON, what='the page has a "Change PIN" button')
    ok(sensitive(button), 'the button is sensitive without anything typed in the app')
    app.screenshot('pinpad-change-pin')

    # a wrong current PIN typed on the keypad: the tries left, the PIN unchanged
    keypad(WRONG_PIN, NEW_PIN, NEW_PIN)
    app.click(button)
    app.wait_text(re.compile(r'\b2 tries left\b'), 'a wrong PIN on the keypad shows 2 tries left')
    ok(keypad_used(), 'the reader asked for the current PIN, the new one and its confirmation')
    ok(card.tries() == 2, 'the card has 2 PIN tries left')

    # Cancel on the keypad: a clear error; nothing reached the card; the page works on
    mark = card.log_mark()
    keypad()
    wait_until(lambda: sensitive(button), 'the button is sensitive again', quiet=True)
    app.click(button)
    app.wait_text(re.compile(r'cancelled'), 'Cancel on the keypad shows that it was cancelled')
    wait_until(lambda: sensitive(button), 'the button is sensitive after the Cancel (no '
               'spinner left running)')
    ok(not card.commands_since(mark, r'00 24 '), 'no CHANGE REFERENCE DATA reached the card')
    app.screenshot('pinpad-cancelled')

    # the digits on the keypad change the PIN
    keypad(PIN, NEW_PIN, NEW_PIN)
    app.click(button)
    app.wait_toast(re.compile(r'PIN changed'), 'a toast says the PIN was changed')
    ok(keypad_used(), 'the keypad was read')
    ok(card.yubico_verify(NEW_PIN), 'yubico-piv-tool -a verify-pin accepts the new PIN')
    ok(card.tries() == 3, 'the card has 3 PIN tries again')

    # a blocked PIN: the PUK and the new PIN typed on the keypad unblock it
    app.back()
    app.open_row('Grace Hopper')
    app.wait_text(re.compile(r'[Bb]locked'), 'the card page says the PIN is blocked')
    ok(not app.nodes('list item', 'Change PIN'), 'a blocked PIN cannot be changed')
    ok(not app.nodes('list item', 'Unblock with Your Helpdesk'),
       'the helpdesk unblock stays hidden')
    app.wait_text(re.compile(r'reader without a keypad'),
                  'the blocked card\'s page says where the helpdesk unblock works')
    # the row is at the window's bottom edge: scroll the page down with the wheel first
    app.find('list item', 'Unblock with the PUK')
    w = app.window().queryComponent().getExtents(app.atspi.WINDOW_COORDS)
    ox, oy = app.screen_origin()
    app.atspi.Registry.generateMouseEvent(ox + w.width // 2, oy + w.height // 2, 'abs')
    for _ in range(5):
        app.atspi.Registry.generateMouseEvent(ox + w.width // 2, oy + w.height // 2, 'b5c')
        time.sleep(0.05)
    time.sleep(0.3)
    app.open_row('Unblock with the PUK')
    note = app.wait_text(NOTE, 'the unblock page says the reader has a keypad')
    ok('PUK' in note, 'it says to type the PUK there: ' + note)
    ok(not app.nodes('text', 'PUK') and not app.nodes('text', 'New PIN'),
       'the unblock page has no entries')
    app.screenshot('pinpad-unblock-puk')
    keypad(PUK, UNBLOCKED_PIN, UNBLOCKED_PIN)
    app.press(re.compile(r'^_?Unblock PIN'))
    app.wait_toast(re.compile(r'PIN unblocked'), 'a toast says the PIN is unblocked')
    ok(keypad_used(), 'the reader asked for the PUK and the new PIN twice')
    ok(blocked.yubico_verify(UNBLOCKED_PIN),
       'yubico-piv-tool accepts the PIN set on the keypad')
    ok(blocked.tries() == 3, 'the PIN has 3 tries again')

    # a new card on its factory values: Set Up PIN on the keypad, then the factory PUK
    # replaced on the computer (the keypad takes PINs only)
    app.back()
    blocked.pull()
    os.remove(blocked.state)
    fresh = Card(1, '--subject', 'Alan Turing')
    ctx['cards'].append(fresh)
    app.open_row('Alan Turing')
    app.open_row('Set Up PIN')
    app.wait_text(NOTE, 'the set-up page says the reader has a keypad')
    ok(not app.nodes('text', 'Current PIN') and not app.nodes('text', 'Current PUK'),
       'the set-up page has no entries')
    keypad(FACTORY_PIN, SETUP_PIN, SETUP_PIN)
    app.press(re.compile(r'^_?Set Up PIN'))
    app.wait_toast(re.compile(r'personal PIN is set.*factory PUK'),
                   'a toast says the PIN is set and the factory PUK should be changed')
    ok(keypad_used(), 'the reader asked for the factory PIN and the new PIN twice')
    ok(fresh.yubico_verify(SETUP_PIN), 'yubico-piv-tool accepts the PIN set on the keypad')
    app.open_row('Change PUK')
    app.fill('Current PUK', FACTORY_PUK)
    app.fill('New PUK', NEW_PUK)
    app.fill('Confirm New PUK', NEW_PUK)
    app.press(re.compile(r'^_?Change PUK'))
    app.wait_toast(re.compile(r'PUK changed'), 'the PUK typed on the computer is changed')
    ok(fresh.yubico_unblock(NEW_PUK, SETUP_PIN), 'yubico-piv-tool takes the new PUK')

    log = app.log_text()
    ok(all(s not in log for s in (PIN, PUK, NEW_PIN, WRONG_PIN, UNBLOCKED_PIN, SETUP_PIN,
                                   NEW_PUK)),
       'no PIN or PUK is in the app\'s log (G_MESSAGES_DEBUG=all)')


if __name__ == '__main__':
    run(main)
