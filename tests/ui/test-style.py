#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The app in German and in the dark style, as a German user whose desktop prefers dark
sees it (issue 8 items 9 and 10).

German: the build's own translation (po/de.po compiled by the build) is laid over the
app's locale directory inside the test stack's private mount namespace, so the app binary
is the one a desktop starts, with no switch of its own for tests. The card's state, the
card page, the change form's entries (their accessible names too) and a weak PIN's
reason are German, and the reason still keeps the PIN from the card.

Dark: libadwaita follows the desktop's org.gnome.desktop.interface color-scheme (read
from GSettings when there is no settings portal, as here). With prefer-dark the window
is drawn dark; with the default it is light. Brightness is measured on a screenshot.

Runs inside cardpin-test-stack (two readers; the test inserts the card)."""

import os
import re
import subprocess
import tempfile

from cardpinui import App, Card, diag, ok, run, sensitive

SERIAL = '00112233445566778899AABBCCDDEEFF'
PIN, PUK = '246810', '86427531'

# the German words of po/de.po for what the test looks at
TRIES_3 = re.compile(r'\b3 Versuche übrig\b')
CHANGE_ROW = 'PIN ändern'
CURRENT, NEW, CONFIRM = 'Aktuelle PIN', 'Neue PIN', 'Neue PIN bestätigen'
REPEATED = re.compile(r'^Wählen Sie eine PIN, die nicht aus einem wiederholten Zeichen')


def overlay_build_translations():
    """Lays the build's compiled catalogues (CARDPIN_UI_BUILD_LOCALEDIR, the po/
    directory of the build tree: de/LC_MESSAGES/cardpin.mo) over the app's LOCALEDIR
    (CARDPIN_UI_LOCALEDIR) in this private mount namespace: an overlay on the nearest
    directory that exists, so everything else in it stays visible."""
    target = os.environ['CARDPIN_UI_LOCALEDIR']
    build = os.environ['CARDPIN_UI_BUILD_LOCALEDIR']
    ok(os.path.isfile(os.path.join(build, 'de', 'LC_MESSAGES', 'cardpin.mo')),
       'the build compiled the German catalogue')
    base = target
    while not os.path.isdir(base):
        base = os.path.dirname(base)
    top = tempfile.mkdtemp(prefix='cardpin-ui-locale-')
    below = os.path.join(top, os.path.relpath(target, base), 'de', 'LC_MESSAGES')
    os.makedirs(below)
    subprocess.run(['cp', os.path.join(build, 'de', 'LC_MESSAGES', 'cardpin.mo'), below],
                   check=True)
    subprocess.run(['mount', '-t', 'overlay', 'overlay', '-o',
                    'lowerdir=%s:%s' % (top, base), base], check=True)
    ok(os.path.isfile(os.path.join(target, 'de', 'LC_MESSAGES', 'cardpin.mo')),
       'the German catalogue is where the app looks for it')


def prefer(scheme):
    """The desktop's colour scheme, in the GSettings keyfile the app reads."""
    os.environ['GSETTINGS_BACKEND'] = 'keyfile'
    d = os.path.join(os.environ['XDG_CONFIG_HOME'], 'glib-2.0', 'settings')
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, 'keyfile'), 'w') as f:
        f.write("[org/gnome/desktop/interface]\ncolor-scheme='%s'\n" % scheme)


def brightness(path):
    """Mean luminance (0-255) of a screenshot of the window."""
    import gi
    gi.require_version('GdkPixbuf', '2.0')
    from gi.repository import GdkPixbuf
    p = GdkPixbuf.Pixbuf.new_from_file(path)
    data, stride, n = p.get_pixels(), p.get_rowstride(), p.get_n_channels()
    total = count = 0
    for y in range(0, p.get_height(), 2):
        row = y * stride
        for x in range(0, p.get_width(), 2):
            i = row + x * n
            total += 0.2126 * data[i] + 0.7152 * data[i + 1] + 0.0722 * data[i + 2]
            count += 1
    return total / max(count, 1)


def start(desktop, ctx, scheme, shot):
    """Starts the app with the desktop's colour @scheme; checks that Ada's row says
    her tries in German; returns the app and the mean brightness of its window (the
    screenshot @shot)."""
    prefer(scheme)
    app = App(desktop)
    ctx['apps'].append(app)
    row = app.find('list item', 'Ada Lovelace', what="Ada's card is listed (%s)" % scheme)
    app.wait_text(TRIES_3, 'the row says "3 Versuche übrig" (%s)' % scheme, root=row)
    shade = brightness(app.screenshot(shot))
    diag('mean brightness, %s: %.0f' % (scheme, shade))
    return app, shade


def main(desktop, ctx):
    overlay_build_translations()
    card = Card(0, '--serial', SERIAL, '--subject', 'Ada Lovelace', '--pin', PIN,
                '--puk', PUK, '-v')
    ctx['cards'].append(card)

    # German, light (the default scheme)
    app, light = start(desktop, ctx, 'default', 'cards-de')
    ok(not app.has_text(re.compile(r'tries left')), 'no English tries-left words')
    ok(light > 150, 'the default style is light (mean brightness %.0f)' % light)

    app.open_row('Ada Lovelace')
    app.open_row(CHANGE_ROW)
    for name in (CURRENT, NEW, CONFIRM):
        app.find('text', name, what='the form has an entry named "%s"' % name)
    mark = card.log_mark()
    app.fill(CURRENT, PIN)
    app.fill(NEW, '777777')
    app.wait_text(REPEATED, 'a repeated-digit PIN shows its reason in German')
    app.fill(CONFIRM, '777777')
    button = app.find('push button', re.compile(r'^_?PIN _?ändern'),
                      what='the form has a "PIN ändern" button')
    ok(not sensitive(button), 'the button is insensitive for the weak PIN')
    app.screenshot('change-pin-de')
    ok(card.tries() == 3, 'the card still has 3 PIN tries')
    ok(not card.commands_since(mark, r'00 24 '), 'no CHANGE REFERENCE DATA reached the card')
    app.close()
    ctx['apps'].remove(app)

    # German, dark
    app, dark = start(desktop, ctx, 'prefer-dark', 'cards-dark')
    ok(dark < 90, 'the desktop\'s prefer-dark makes the window dark (mean brightness '
       '%.0f)' % dark)
    app.open_row('Ada Lovelace')
    app.wait_text(TRIES_3, 'the card page says "3 Versuche übrig"')
    card_page = brightness(app.screenshot('card-dark'))
    ok(card_page < 90, 'the card page is dark too (mean brightness %.0f)' % card_page)


if __name__ == '__main__':
    os.environ['CARDPIN_UI_LANGUAGE'] = 'de'
    run(main)
