#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Change the PIN with the keyboard alone (issue 8 item 9): Tab to the card, Return to
open it, the action's mnemonic (Alt+C), the form's mnemonics for each entry, Return to
change; Alt+Left goes back. No pointer click, no accessibility action: only key
presses, as a person without a mouse uses the app. yubico-piv-tool then accepts the
new PIN.

Runs inside cardpin-test-stack (two readers; the test inserts the card)."""

import re
import time

from cardpinui import App, Card, focused, ok, run, wait_until

SERIAL = '00112233445566778899AABBCCDDEEFF'
PIN, PUK = '246810', '86427531'
NEW_PIN = '135790'


def chord(app, modifier, key):
    """@modifier (a keysym name such as Alt_L) held while @key is pressed."""
    import gi
    gi.require_version('Gdk', '3.0')
    from gi.repository import Gdk
    keymap = Gdk.Keymap.get_for_display(Gdk.Display.get_default())
    found, keys = keymap.get_entries_for_keyval(Gdk.keyval_from_name(modifier))
    ok(found and keys, 'the X server has a key for %s' % modifier)
    reg = app.atspi.Registry
    reg.generateKeyboardEvent(keys[0].keycode, None, app.atspi.KEY_PRESS)
    time.sleep(0.05)
    app.key(key)
    time.sleep(0.05)
    reg.generateKeyboardEvent(keys[0].keycode, None, app.atspi.KEY_RELEASE)
    time.sleep(0.1)


def tab_to(app, node, what, key='Tab', most=15):
    """Presses @key until @node has the keyboard focus."""
    for _ in range(most):
        if focused(node):
            break
        app.key(key)
        time.sleep(0.1)
    ok(focused(node), what)


def typed(entry):
    """How many characters @entry holds (a PIN entry shows them as bullets)."""
    return entry.queryText().characterCount


def main(desktop, ctx):
    card = Card(0, '--serial', SERIAL, '--subject', 'Ada Lovelace', '--pin', PIN,
                '--puk', PUK, '-v')
    ctx['cards'].append(card)
    app = App(desktop)
    ctx['apps'].append(app)

    row = app.find('list item', 'Ada Lovelace', what="Ada's card is listed")
    tab_to(app, row, 'Tab reaches the card')
    app.key('Return')
    change = app.find('list item', 'Change PIN', what='Return opens the card page')

    chord(app, 'Alt_L', 'c')
    current = app.find('text', 'Current PIN',
                       what='Alt+C (the mnemonic of "Change PIN") opens the change form')
    new = app.find('text', 'New PIN')
    confirm = app.find('text', 'Confirm New PIN')
    time.sleep(0.5)

    # the focus is inside the entry rows (their GtkText has no node of its own): what
    # is typed shows where it is
    app.type_text(PIN)
    wait_until(lambda: typed(current) == len(PIN) and typed(new) == 0,
               'the form opens with the focus in "Current PIN": the PIN goes there', 5)
    chord(app, 'Alt_L', 'n')
    app.type_text(NEW_PIN)
    wait_until(lambda: typed(new) == len(NEW_PIN) and typed(current) == len(PIN),
               'Alt+N moves to "New PIN"', 5)
    chord(app, 'Alt_L', 'o')
    app.type_text(NEW_PIN)
    wait_until(lambda: typed(confirm) == len(NEW_PIN) and typed(new) == len(NEW_PIN),
               'Alt+O moves to "Confirm New PIN"', 5)
    app.key('Return')
    app.wait_toast(re.compile(r'PIN changed'), 'Return changes the PIN: a toast says so')
    ok(card.yubico_verify(NEW_PIN), 'yubico-piv-tool accepts the new PIN')

    # Alt+Left, twice: back to the list of cards
    wait_until(lambda: not app.nodes('text', 'Current PIN'), 'the form closes', 10)
    ok(change is not None, 'the card page is shown again')
    chord(app, 'Alt_L', 'Left')
    wait_until(lambda: not app.nodes('list item', 'Change PIN'),
               'Alt+Left goes back to the list of cards')
    ok(app.nodes('list item', 'Ada Lovelace'), "Ada's card is in the list")


if __name__ == '__main__':
    run(main)
