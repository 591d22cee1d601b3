#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The smart card service (pcscd) is not running: the window says so and what to do,
instead of asking for a card.

Runs inside cardpin-test-stack --no-pcscd (a private namespace with no pcscd)."""

import re

from cardpinui import App, ok, run


def main(desktop, ctx):
    app = App(desktop)
    ctx['apps'].append(app)

    app.wait_text(re.compile(r'\bpcscd\b'), 'the error names the smart card service (pcscd)')
    app.wait_text(re.compile(r'[Ss]ervice'), 'the error says the service is not available')
    app.find('push button', re.compile(r'Try Again'),
             what='a "Try Again" button is offered')
    ok(not app.has_text('Insert your smart card'), 'the window does not ask for a card')
    app.screenshot('no-service')


if __name__ == '__main__':
    run(main)
