#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Benchmark (not a test): time from starting the app (no arguments, as a desktop does)
to the first card state painted, under Xvfb with a virtual card answering at once and
with a real card's latency (--apdu-delay-ms), and the app's resident memory then.

"Painted" is when GTK has painted the first frame that draws the card row's state words
and the X server has received it: the app, given CARDPIN_BENCH_PAINTED_FD by this
script (app/cardpin-bench-stamp.c), writes CLOCK_MONOTONIC to that pipe then. The clock
starts just before the process is spawned. This script sleeps on the pipe meanwhile, so
it takes no CPU from the app. Then it checks through AT-SPI that the window shows state
words, as a screen reader would see them, and prints them. The app runs on a full desktop
session (Xvfb, D-Bus, the accessibility bus), so its accessibility set-up is included.
CARDPIN_BENCH_METHOD=atspi times by polling the accessibility tree instead (the older
method; the poll competes with the app for the CPU). Goal: 400 ms.

Re-run:  meson test -C _build --benchmark --verbose bench-startup
     or: CARDPIN_APP=_build/app/cardpin _build/tests/stack/cardpin-test-stack -- \\
           /usr/bin/python3 tests/bench/bench-startup.py [RUNS]
With CARDPIN_BENCH_FLOOR (set by meson) it also times tests/bench/bench-floor-window, a
bare GTK 4 + libadwaita window stamped the same way: the floor on this Xvfb.
Runs inside cardpin-test-stack; starts the card in reader 0 itself."""

import os
import re
import select
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


def wait_state(desktop, pid, timeout):
    """The state words the window shows, found through AT-SPI, or None."""
    t0 = time.monotonic()
    app = None
    while time.monotonic() - t0 < timeout:
        try:
            if app is None:
                app = find_app(desktop.atspi, pid)
            found = app is not None and state_label(app)
        except Exception:
            found = None
        if found:
            return found
        time.sleep(0.05)
    return None


def one_run_atspi(desktop, env, program):
    t0 = time.monotonic()
    proc = subprocess.Popen([program], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        app = None
        while time.monotonic() - t0 < 30:
            try:
                if app is None:
                    app = find_app(desktop.atspi, proc.pid)
                found = app is not None and state_label(app)
            except Exception:
                found = None
            if found:
                t = time.monotonic() - t0
                return t * 1000, rss_kib(proc.pid), found, 'not known (AT-SPI poll)'
            if proc.poll() is not None:
                raise RuntimeError('the app exited with %s' % proc.returncode)
        raise RuntimeError('no card state within 30 s')
    finally:
        cardpinui.stop_process(proc)


def one_run_painted(desktop, env, program):
    r, w = os.pipe()
    env = dict(env, CARDPIN_BENCH_PAINTED_FD=str(w))
    t0 = time.monotonic()
    proc = subprocess.Popen([program], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            pass_fds=[w])
    os.close(w)
    try:
        line = b''
        while not line.endswith(b'\n'):
            ready, _, _ = select.select([r], [], [], max(0.0, 30 - (time.monotonic() - t0)))
            if not ready:
                raise RuntimeError('no card state painted within 30 s')
            chunk = os.read(r, 64)
            if not chunk:
                raise RuntimeError('%s exited (%s) before it painted a card state'
                                   % (program, proc.wait()))
            line += chunk
        stamp, renderer = (line.decode().split() + ['?'])[:2]
        ms = int(stamp) / 1000.0 - t0 * 1000
        rss = rss_kib(proc.pid)
        # what was painted, as a screen reader sees it; not timed
        words = wait_state(desktop, proc.pid, 10)
        if words is None:
            raise RuntimeError('painted, but no card state words in the window')
        return ms, rss, words, renderer
    finally:
        os.close(r)
        cardpinui.stop_process(proc)


def one_run(desktop, env, program=None):
    program = program or os.environ['CARDPIN_APP']
    if os.environ.get('CARDPIN_BENCH_METHOD', 'painted') == 'atspi':
        return one_run_atspi(desktop, env, program)
    return one_run_painted(desktop, env, program)


def row(label, samples, floor=None):
    ms = [s[0] for s in samples]
    med = statistics.median(ms)
    return (label, med, min(ms), max(ms),
            '%.2f' % (med / floor) if floor else '', statistics.median(s[1] for s in samples) / 1024,
            samples[0][2])


def load():
    with open('/proc/loadavg') as f:
        return ' '.join(f.read().split()[:3])


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get('CARDPIN_BENCH_RUNS', '7'))
    delays = [int(d) for d in os.environ.get('CARDPIN_BENCH_DELAYS', '0 20').split()]
    floor = os.environ.get('CARDPIN_BENCH_FLOOR')
    method = os.environ.get('CARDPIN_BENCH_METHOD', 'painted')
    desktop = cardpinui.Desktop()
    env = dict(os.environ)
    if desktop.app_g_debug is not None:
        env['G_DEBUG'] = desktop.app_g_debug
    env.pop('G_MESSAGES_DEBUG', None)
    app_samples = {}
    floor_samples = []
    load_before = load()
    try:
        for delay in delays:
            card = cardpinui.Card(0, '--serial', '00112233445566778899AABBCCDDEEFF',
                                  '--subject', 'Ada Lovelace', '--apdu-delay-ms', str(delay))
            try:
                one_run(desktop, env)  # warm-up: page cache, fontconfig, icon theme
                if floor:
                    one_run(desktop, env, floor)
                samples = []
                # the floor between the app's runs: both see the same load
                for _ in range(runs):
                    samples.append(one_run(desktop, env))
                    if floor:
                        floor_samples.append(one_run(desktop, env, floor))
                app_samples[delay] = samples
            finally:
                card.close()
                time.sleep(0.5)
    finally:
        desktop.close()

    floor_row = row('floor', floor_samples) if floor_samples else None
    floor_ms = floor_row[1] if floor_row else None
    rows = [row(d, app_samples[d], floor_ms) for d in delays]
    print('Start of the app to the first card state painted, %d runs each (Xvfb, %s)'
          % (runs, 'frame painted, stamped by the app' if method == 'painted'
             else 'seen by polling AT-SPI'))
    print('load average before: %s, after: %s (2 cores shared)' % (load_before, load()))
    print()
    print('| APDU delay | median ms | min ms | max ms | app/floor | RSS MiB | state shown |')
    print('|-----------:|----------:|-------:|-------:|----------:|--------:|-------------|')
    for d, med, lo, hi, ratio, rss, words in rows:
        print('| %8d ms | %9.0f | %6.0f | %6.0f | %9s | %7.1f | %s |'
              % (d, med, lo, hi, ratio, rss, words))
    if floor_row:
        print('| %10s | %9.0f | %6.0f | %6.0f | %9s | %7.1f | %s |' % floor_row)
    print()
    for d, med, *_ in rows:
        print('@%d ms APDU delay: median %.0f ms, goal %d ms: %s'
              % (d, med, GOAL_MS, 'met' if med <= GOAL_MS else 'NOT met'))
    print('RSS: the app\'s resident memory when the state was painted.')
    print('renderer (GSK_RENDERER=%s): app %s; floor %s'
          % (os.environ.get('GSK_RENDERER', 'unset'),
             ', '.join(sorted({s[3] for d in delays for s in app_samples[d]})),
             ', '.join(sorted({s[3] for s in floor_samples})) or '-'))
    if floor_row:
        print('floor: a bare GTK 4 + libadwaita window with a header bar and the label '
              '"PIN OK" (tests/bench/bench-floor-window.c), no card, timed between the '
              'app\'s runs: what any GTK 4 window costs on this Xvfb.')


if __name__ == '__main__':
    main()
