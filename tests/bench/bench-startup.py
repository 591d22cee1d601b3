#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Benchmark (not a test): time from starting the app (no arguments, as a desktop does)
to the first card state painted, under Xvfb with a virtual card answering at once and
with a real card's latency (--apdu-delay-ms), and the app's resident memory then.

"Painted" is when the card row's state words (e.g. "PIN OK") are in the window's
accessibility tree: GTK puts a label's new text there as it queues the frame that draws
it. This script polls the tree; the mean time one poll took is printed, so the figures
hold to about that much. Goal: 400 ms.

Re-run:  meson test -C _build --benchmark --verbose bench-startup
     or: CARDPIN_APP=_build/app/cardpin _build/tests/stack/cardpin-test-stack -- \\
           /usr/bin/python3 tests/bench/bench-startup.py [RUNS]
With CARDPIN_BENCH_FLOOR (set by meson) it also times tests/bench/bench-floor-window, a
bare GTK 4 + libadwaita window, the same way: the floor on this Xvfb.
Runs inside cardpin-test-stack; starts the card in reader 0 itself."""

import os
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'ui'))
import cardpinui  # noqa: E402

STATE = re.compile(r'^(PIN OK|Last try|\d+ tr(y|ies) left|Blocked|Must be changed|'
                   r'No PIN set|PIN and PUK blocked)')
GOAL_MS = 400


def find_app(atspi, pid):
    desktop = atspi.Registry.getDesktop(0)
    for i in range(desktop.childCount):
        a = desktop.getChildAtIndex(i)
        if a is not None and a.get_process_id() == pid:
            return a
    return None


def state_label(node, depth=0):
    if node is None or depth > 40:
        return None
    if node.getRoleName() == 'label' and STATE.match(node.name or ''):
        return node.name
    for i in range(node.childCount):
        found = state_label(node.getChildAtIndex(i), depth + 1)
        if found:
            return found
    return None


def rss_kib(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


def one_run(desktop, env, program=None):
    polls = 0
    poll_time = 0.0
    t0 = time.monotonic()
    proc = subprocess.Popen([program or os.environ['CARDPIN_APP']], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        app = None
        while time.monotonic() - t0 < 30:
            p0 = time.monotonic()
            try:
                if app is None:
                    app = find_app(desktop.atspi, proc.pid)
                found = app is not None and state_label(app)
            except Exception:
                found = None
            polls += 1
            poll_time += time.monotonic() - p0
            if found:
                t = time.monotonic() - t0
                return t * 1000, rss_kib(proc.pid), found, poll_time * 1000 / polls
            if proc.poll() is not None:
                raise RuntimeError('the app exited with %s' % proc.returncode)
        raise RuntimeError('no card state within 30 s')
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def row(label, samples):
    ms = [s[0] for s in samples]
    return (label, statistics.median(ms), min(ms), max(ms),
            statistics.median(s[1] for s in samples) / 1024,
            statistics.mean(s[3] for s in samples), samples[0][2])


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get('CARDPIN_BENCH_RUNS', '5'))
    delays = [int(d) for d in os.environ.get('CARDPIN_BENCH_DELAYS', '0 20').split()]
    desktop = cardpinui.Desktop()
    env = dict(os.environ)
    if desktop.app_g_debug is not None:
        env['G_DEBUG'] = desktop.app_g_debug
    env.pop('G_MESSAGES_DEBUG', None)
    rows = []
    floor = None
    try:
        for delay in delays:
            card = cardpinui.Card(0, '--serial', '00112233445566778899AABBCCDDEEFF',
                                  '--subject', 'Ada Lovelace', '--apdu-delay-ms', str(delay))
            try:
                one_run(desktop, env)  # warm-up: page cache, fontconfig, icon theme
                samples = [one_run(desktop, env) for _ in range(runs)]
            finally:
                card.close()
                time.sleep(0.5)
            rows.append(row(delay, samples))
        floor = os.environ.get('CARDPIN_BENCH_FLOOR')
        if floor:
            one_run(desktop, env, floor)
            floor_row = row('floor', [one_run(desktop, env, floor) for _ in range(runs)])
    finally:
        desktop.close()

    print('Start of the app to the first card state painted, %d runs each (Xvfb)' % runs)
    print()
    print('| APDU delay | median ms | min ms | max ms | RSS MiB | poll ms | state shown |')
    print('|-----------:|----------:|-------:|-------:|--------:|--------:|-------------|')
    for d, med, lo, hi, rss, poll, words in rows:
        print('| %8d ms | %9.0f | %6.0f | %6.0f | %7.1f | %7.1f | %s |'
              % (d, med, lo, hi, rss, poll, words))
    if floor:
        print('| %11s | %9.0f | %6.0f | %6.0f | %7.1f | %7.1f | %s |' % floor_row)
    print()
    for d, med, *_ in rows:
        print('@%d ms APDU delay: median %.0f ms, goal %d ms: %s'
              % (d, med, GOAL_MS, 'met' if med <= GOAL_MS else 'NOT met'))
    print('RSS: the app\'s resident memory when the state was first seen.')
    if floor:
        print('floor: a bare GTK 4 + libadwaita window with a header bar and the label '
              '"PIN OK" (tests/bench/bench-floor-window.c), no card: what any GTK 4 window '
              'costs on this Xvfb (GSK_RENDERER=%s).' % os.environ.get('GSK_RENDERER', 'default'))


if __name__ == '__main__':
    main()
