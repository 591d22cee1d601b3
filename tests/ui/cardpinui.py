# SPDX-License-Identifier: LGPL-2.1-or-later
"""cardpinui: drive the real "Smart Card PIN" app the way a person does.

A UI test runs inside tests/stack's runner (cardpin-test-stack: a private pcscd with
virtual readers in a private mount namespace), starts its own X server (Xvfb), a private
D-Bus session with the accessibility bus, and the built app with no arguments, exactly
as a desktop starts it. It then finds controls through the accessibility tree (AT-SPI)
by role and accessible name, reads what is shown, types with synthesized key presses and
clicks with the pointer or the control's own action.

Virtual cards are started and pulled by the test itself (Card), so it can insert and
remove them while the app runs. Tries left are read from the card by OpenSC's
opensc-tool, independently of cardpin.

Output is TAP; every check is a test point, and the first failed step ends the script
with a dump of the accessibility tree, a screenshot and the app's log.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

APP_ID = 'io.github.cardpin.CardPin'
WAIT = float(os.environ.get('CARDPIN_UI_WAIT', '20'))
SCREEN = (1024, 768)

PIV_SELECT = '00:A4:04:00:0B:A0:00:00:03:08:00:00:10:00:01:00'


class Failure(Exception):
    pass


# -- TAP ------------------------------------------------------------------------------

class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, what):
        self.n += 1
        print(('ok %d - %s' if cond else 'not ok %d - %s') % (self.n, what), flush=True)
        if not cond:
            self.failed += 1
            raise Failure(what)
        return cond

    def diag(self, text):
        for line in str(text).splitlines() or ['']:
            print('# ' + line, flush=True)


tap = Tap()


def ok(cond, what):
    return tap.ok(cond, what)


def diag(text):
    tap.diag(text)


def check(cond, what):
    """A precondition: a failed test point when false, silent when true."""
    if not cond:
        ok(False, what)
    return cond


def wait_until(func, what, timeout=WAIT, interval=0.1, quiet=False):
    """Polls @func until it returns something true (a passed check @what, unless
    @quiet); returns that value. A failed check after @timeout seconds."""
    end = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = func()
            if value:
                if not quiet:
                    ok(True, what)
                return value
        except Failure:
            raise
        except Exception as e:  # the tree changes under our feet
            last_error = e
        if time.monotonic() > end:
            if last_error is not None:
                diag('last error: %r' % last_error)
            ok(False, what)
        time.sleep(interval)


# -- the desktop: X server, D-Bus session, accessibility bus -----------------------------

def stop_process(proc, timeout=10):
    """Asks @proc to end (SIGTERM); kills it when it has not after @timeout seconds."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _die_with_parent():
    import ctypes
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Desktop:
    def __init__(self):
        self.procs = []
        self.tmp = tempfile.mkdtemp(prefix='cardpin-ui-')
        self.log = open(os.path.join(self.tmp, 'desktop.log'), 'wb')
        # G_DEBUG (fatal-warnings) is for the app under test, not for this script's
        # AT-SPI client library
        self.app_g_debug = os.environ.pop('G_DEBUG', None)
        r, w = os.pipe()
        xvfb = subprocess.Popen(['Xvfb', '-displayfd', str(w), '-screen', '0',
                                 '%dx%dx24' % SCREEN, '-nolisten', 'tcp', '-noreset'],
                                pass_fds=[w], stdin=subprocess.DEVNULL, stdout=self.log,
                                stderr=self.log, preexec_fn=_die_with_parent)
        os.close(w)
        self.procs.append(xvfb)
        number = b''
        while not number.endswith(b'\n'):
            chunk = os.read(r, 16)
            if not chunk:
                raise RuntimeError('Xvfb did not start')
            number += chunk
        os.close(r)
        os.environ['DISPLAY'] = ':' + number.decode().strip()

        if os.environ.get('CARDPIN_UI_SESSION_BUS') == 'inherit':
            # the private session bus the test runs in (tests/online/keyring-session.sh:
            # a real Secret Service on it), never the user's
            if 'DBUS_SESSION_BUS_ADDRESS' not in os.environ:
                raise RuntimeError('CARDPIN_UI_SESSION_BUS=inherit without a session bus')
            # the bus was started before this X server: the accessibility bus and its
            # registry (which synthesizes the input) are activated on it and need it
            subprocess.run(['gdbus', 'call', '--session', '--dest', 'org.freedesktop.DBus',
                            '--object-path', '/org/freedesktop/DBus', '--method',
                            'org.freedesktop.DBus.UpdateActivationEnvironment',
                            "{'DISPLAY': '%s'}" % os.environ['DISPLAY']],
                           check=True, stdout=subprocess.DEVNULL, stderr=self.log)
        else:
            dbus = subprocess.Popen(['dbus-daemon', '--session', '--nofork', '--nopidfile',
                                     '--print-address=1'], stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=self.log,
                                    preexec_fn=_die_with_parent)
            self.procs.append(dbus)
            os.environ['DBUS_SESSION_BUS_ADDRESS'] = dbus.stdout.readline().decode().strip()

        # a fresh desktop session: own runtime dir, settings in memory, no portal, X11
        runtime = os.path.join(self.tmp, 'runtime')
        os.mkdir(runtime, 0o700)
        os.environ['XDG_RUNTIME_DIR'] = runtime
        for key in ('XDG_CONFIG_HOME', 'XDG_DATA_HOME', 'XDG_STATE_HOME'):
            os.environ[key] = os.path.join(self.tmp, key.lower())
        os.environ['GSETTINGS_BACKEND'] = 'memory'
        os.environ['GDK_BACKEND'] = 'x11'
        os.environ['ADW_DISABLE_PORTAL'] = '1'
        os.environ['GTK_USE_PORTAL'] = '0'
        os.environ.pop('GTK_A11Y', None)
        os.environ.pop('NO_AT_BRIDGE', None)
        os.environ['LANGUAGE'] = os.environ.get('CARDPIN_UI_LANGUAGE', 'C')
        os.environ['LC_ALL'] = 'C.UTF-8'
        # SoftHSM2 is registered with p11-kit on Debian; keep it off the user's tokens
        os.environ['SOFTHSM2_CONF'] = os.devnull

        import pyatspi  # after the bus address is known
        self.atspi = pyatspi

    def screenshot(self, path, crop=True):
        """Saves the screen as PNG, cropped to what is drawn on the X server's black
        background (the windows) when @crop."""
        import gi
        gi.require_version('Gdk', '3.0')
        from gi.repository import Gdk
        root = Gdk.get_default_root_window()
        pixbuf = Gdk.pixbuf_get_from_window(root, 0, 0, root.get_width(), root.get_height())
        if pixbuf is None:
            raise RuntimeError('cannot read the screen')
        if crop:
            box = drawn_box(pixbuf)
            if box is not None:
                pixbuf = pixbuf.new_subpixbuf(*box)
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        pixbuf.savev(path, 'png', [], [])
        return path

    def close(self):
        for p in reversed(self.procs):
            stop_process(p, 5)
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def drawn_box(pixbuf):
    """(x, y, w, h) around every pixel that is not black, or None."""
    data = pixbuf.get_pixels()
    stride, n, width = pixbuf.get_rowstride(), pixbuf.get_n_channels(), pixbuf.get_width()
    top = bottom = None
    left, right = width, 0
    for y in range(pixbuf.get_height()):
        row = data[y * stride:y * stride + width * n]
        stripped = row.rstrip(b'\0')
        if not stripped:
            continue
        if top is None:
            top = y
        bottom = y
        right = max(right, (len(stripped) + n - 1) // n)
        left = min(left, (len(row) - len(row.lstrip(b'\0'))) // n)
    if top is None:
        return None
    return (left, top, right - left, bottom - top + 1)


# -- virtual cards ----------------------------------------------------------------------

def run_tool(argv, timeout=20):
    """stdout of a card tool; a failed check when it hangs (a card held by another
    program makes PC/SC clients wait)."""
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout).stdout
    except subprocess.TimeoutExpired:
        ok(False, '%s answers within %d s (is the card held?)' % (' '.join(argv[:3]), timeout))


def readers_present():
    """{reader index: card present} as pcscd reports it (opensc-tool --list-readers)."""
    out = run_tool(['opensc-tool', '--list-readers'])
    present = {}
    for line in out.splitlines():
        m = re.match(r'^(\d+)\s+(Yes|No)\s', line)
        if m:
            present[int(m.group(1))] = m.group(2) == 'Yes'
    return present


class Card:
    """A virtual PIV card in reader @index of the stack, started by the test."""

    def __init__(self, index, *args):
        self.index = index
        self.reader = os.environ['CARDPIN_TEST_READER%d' % index]
        self.state = os.environ['CARDPIN_TEST_STATE%d' % index]
        self.args = list(args)
        self.proc = None
        self.log = os.path.join(os.environ['CARDPIN_TEST_DIR'], 'ui-card-%d.log' % index)
        self.insert()

    def insert(self):
        argv = [os.environ['CARDPIN_VIRTUAL_CARD'], '--port',
                os.environ['CARDPIN_TEST_PORT%d' % self.index], '--state', self.state]
        with open(self.log, 'ab') as log:
            self.proc = subprocess.Popen(argv + self.args, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log,
                                         preexec_fn=_die_with_parent)
        wait_until(lambda: readers_present().get(self.index) or self.proc.poll() is not None,
                   'the card in reader %d is present' % self.index)
        if self.proc.poll() is not None:
            with open(self.log) as f:
                diag(f.read())
            ok(False, 'the virtual card in reader %d started' % self.index)

    def pull(self):
        self.proc.terminate()
        self.proc.wait()
        self.proc = None
        wait_until(lambda: readers_present().get(self.index) is False,
                   'reader %d is empty' % self.index)
        # pcscd's vpcd thread polls every 400 ms: a card inserted again before its poll
        # would look as if it never left (see cardpin_test_card_wait_gone)
        time.sleep(0.5)

    def apdus(self, *apdus):
        """Sends APDUs (hex, colon-separated) after a SELECT of PIV; the status words."""
        argv = ['opensc-tool', '--reader', str(self.index), '-s', PIV_SELECT]
        for a in apdus:
            argv += ['-s', a]
        out = run_tool(argv)
        return [int(a, 16) << 8 | int(b, 16)
                for a, b in re.findall(r'SW1=0x([0-9A-Fa-f]{2}), SW2=0x([0-9A-Fa-f]{2})', out)]

    def responses(self, *apdus):
        """Like apdus(), with the data: [(sw, bytes)] (the SELECT's first)."""
        argv = ['opensc-tool', '--reader', str(self.index), '-s', PIV_SELECT]
        for a in apdus:
            argv += ['-s', a]
        out = run_tool(argv)
        result = []
        for block in re.split(r'^Received ', out, flags=re.M)[1:]:
            m = re.match(r'\(SW1=0x([0-9A-Fa-f]{2}), SW2=0x([0-9A-Fa-f]{2})\):?\n?', block)
            data = b''
            for line in block[m.end():].splitlines():
                if line.startswith('Sending'):
                    break
                data += bytes.fromhex(' '.join(re.findall(r'\b[0-9A-F]{2}\b', line[:48])))
            result.append((int(m.group(1), 16) << 8 | int(m.group(2), 16), data))
        return result

    def tries(self, key_ref=0x80):
        """Tries left of a PIV key reference as the card says: VERIFY without data for
        the PIN (80), GET METADATA (YubiKey's F7, tag 06) for the PUK (81)."""
        if key_ref != 0x80:
            r = self.responses('00:F7:00:%02X' % key_ref)
            check(len(r) == 2 and r[1][0] == 0x9000, 'GET METADATA of key %02X' % key_ref)
            data = r[1][1]
            i = 0
            while i + 2 <= len(data):
                tag, length = data[i], data[i + 1]
                if tag == 0x06 and length == 2:
                    return data[i + 3]
                i += 2 + length
            check(False, 'the metadata of key %02X holds its tries' % key_ref)
        sws = self.apdus('00:20:00:%02X' % key_ref)
        check(len(sws) == 2 and sws[0] == 0x9000, 'opensc-tool selects PIV in reader %d'
              % self.index)
        sw = sws[1]
        if sw == 0x6983:
            return 0
        if sw & 0xFFF0 == 0x63C0:
            return sw & 0xF
        return -1

    def log_mark(self):
        """Where the card's command log (-v) ends now."""
        return os.path.getsize(self.log)

    def commands_since(self, mark, pattern):
        """Commands logged since @mark (lines 'vcard: CLA INS P1 P2 -> SW') that match
        @pattern."""
        with open(self.log, errors='replace') as f:
            f.seek(mark)
            return [l for l in f.read().splitlines()
                    if l.startswith('vcard: ') and re.search(pattern, l[7:])]

    def yubico_verify(self, pin):
        """yubico-piv-tool -a verify-pin: True when the card takes @pin (a test PIN)."""
        r = subprocess.run(['yubico-piv-tool', '-r', self.reader, '-a', 'verify-pin',
                            '-P', pin], capture_output=True, text=True)
        return r.returncode == 0

    def yubico_unblock(self, puk, new_pin):
        """yubico-piv-tool -a unblock-pin: True when the card takes @puk (a test PUK) and
        sets @new_pin."""
        r = subprocess.run(['yubico-piv-tool', '-r', self.reader, '-a', 'unblock-pin',
                            '-P', puk, '-N', new_pin], capture_output=True, text=True)
        return r.returncode == 0

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait()


# -- codes (DESIGN.md "Codes read over the phone"), computed independently of cardpin ----

def crc16_ccitt_false(data):
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def format_code(hexdigits):
    hexdigits = hexdigits.upper()
    groups = ' '.join(hexdigits[i:i + 4] for i in range(0, len(hexdigits), 4))
    return '%s   check %04X' % (groups, crc16_ccitt_false(hexdigits.encode()))


def parse_code(text):
    """The hex digits of a code shown as 'ABCD EF01 ...   check XXXX'; checks the sum."""
    m = re.search(r'((?:[0-9A-F]{4} )+)\s*check ([0-9A-F]{4})', text)
    if not m:
        return None
    digits = m.group(1).replace(' ', '')
    if '%04X' % crc16_ccitt_false(digits.encode()) != m.group(2):
        return None
    return digits


def openssl_response(cipher, key_hex, challenge_hex):
    """E_K(challenge) by the openssl command line ('-aes-128-ecb' or '-des-ede3')."""
    r = subprocess.run(['openssl', 'enc', cipher, '-K', key_hex, '-nopad'],
                       input=bytes.fromhex(challenge_hex), capture_output=True)
    ok(r.returncode == 0 and len(r.stdout) == len(challenge_hex) // 2,
       'openssl computes the response')
    return r.stdout.hex().upper()


# -- the app and its accessibility tree -------------------------------------------------

def app_path():
    return os.environ['CARDPIN_APP']


class App:
    """The built app, started with no arguments; its node in the accessibility tree."""

    def __init__(self, desktop, args=()):
        self.desktop = desktop
        self.atspi = desktop.atspi
        self.log = os.path.join(desktop.tmp, 'app.log')
        self.started = time.monotonic()
        env = dict(os.environ)
        if desktop.app_g_debug is not None:
            env['G_DEBUG'] = desktop.app_g_debug
        # a PIN must never reach a log: the app's log is checked for the test's secrets
        # (only the app's: GLib tools print debug messages on standard output)
        env['G_MESSAGES_DEBUG'] = 'all'
        with open(self.log, 'wb') as log:
            self.proc = subprocess.Popen([app_path()] + list(args), env=env,
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         preexec_fn=_die_with_parent)
        self.node = wait_until(self._find, 'the app shows up on the accessibility bus',
                               quiet=True)

    def _find(self):
        if self.proc.poll() is not None:
            self.dump_log()
            ok(False, 'the app is running (exit status %s)' % self.proc.returncode)
        desktop = self.atspi.Registry.getDesktop(0)
        for i in range(desktop.childCount):
            a = desktop.getChildAtIndex(i)
            if a is not None and a.get_process_id() == self.proc.pid:
                return a
        return None

    def dump_log(self):
        try:
            with open(self.log, errors='replace') as f:
                lines = f.read().splitlines()
            diag('app log (last lines):')
            diag('\n'.join(lines[-40:]))
        except OSError:
            pass

    def log_text(self):
        with open(self.log, errors='replace') as f:
            return f.read()

    def close(self):
        stop_process(self.proc)

    # -- the tree --

    def window(self):
        for i in range(self.node.childCount):
            w = self.node.getChildAtIndex(i)
            if w is not None and showing(w) and w.getRoleName() == 'frame':
                return w
        return None

    def nodes(self, role=None, name=None, root=None, visible=True):
        """Every node under @root (the app) with @role (e.g. 'push button') and @name
        (a string: exact; a compiled pattern: search), and on screen when @visible."""
        found = []
        start = root if root is not None else self.node

        def walk(n, depth):
            if n is None or depth > 64:
                return
            if visible and n is not start and not self._may_show(n):
                return
            n_role = n.getRoleName()
            n_name = n.name
            if (role is None or n_role == role) and matches(n_name, name):
                found.append(n)
            for i in range(n.childCount):
                walk(n.getChildAtIndex(i), depth + 1)
        walk(start, 0)
        if visible:
            found = [n for n in found if self.on_page(n)]
        return found

    def on_page(self, node):
        """On screen, or scrolled out of a scrolled pane that is on screen."""
        if self.on_screen(node):
            return True
        pane = node.parent
        while pane is not None and pane.getRoleName() != 'scroll pane':
            pane = pane.parent
        if pane is None or not self.on_screen(pane):
            return False
        e = node.queryComponent().getExtents(self.atspi.WINDOW_COORDS)
        p = pane.queryComponent().getExtents(self.atspi.WINDOW_COORDS)
        cy = e.y + e.height // 2
        return cy < p.y or cy >= p.y + p.height

    def _may_show(self, node):
        if not _has_state(node, 'STATE_VISIBLE'):
            return False
        if node.getRoleName() in ('frame', 'dialog', 'window', 'application'):
            return True
        try:
            e = node.queryComponent().getExtents(self.atspi.WINDOW_COORDS)
        except NotImplementedError:
            return True  # no geometry (a GtkStackPage): its child has
        return e.width > 0 and e.height > 0

    def on_screen(self, node):
        """True when a person sees @node: what is under the pointer at its centre is
        the node itself or part of it (GTK 4.8 keeps pages that a stack hides
        'visible' in the tree, with their old size; only hit-testing tells)."""
        role = node.getRoleName()
        if role in ('frame', 'dialog', 'window', 'application'):
            return showing(node)
        try:
            e = node.queryComponent().getExtents(self.atspi.WINDOW_COORDS)
        except NotImplementedError:
            return False
        if e.width <= 0 or e.height <= 0:
            return False
        top = node
        while top is not None and top.getRoleName() not in ('frame', 'dialog', 'window'):
            top = top.parent
        if top is None:
            return False
        # the centre, a point near the start (long labels, half-covered rows), points
        # near the corners (a button whose icon has no accessible of its own)
        ins_x, ins_y = min(3, e.width // 2), min(3, e.height // 2)
        for px, py in ((e.x + e.width // 2, e.y + e.height // 2),
                       (e.x + min(8, e.width // 2), e.y + e.height // 2),
                       (e.x + ins_x, e.y + ins_y),
                       (e.x + e.width - 1 - ins_x, e.y + e.height - 1 - ins_y)):
            if self._hit(top, node, px, py):
                return True
        return False

    def _hit(self, top, node, x, y):
        """What is at (@x, @y) of the window @top: True when it is @node or inside
        it, or @node's near parent when @node itself cannot be picked (an icon, a
        spinner); None when nothing with a node of its own is there; else False."""
        picked = top.queryComponent().getAccessibleAtPoint(x, y, self.atspi.WINDOW_COORDS)
        if picked is None:
            return None
        return _among_ancestors(node, picked, 48) or _among_ancestors(picked, node.parent, 2)

    def find(self, role=None, name=None, root=None, what=None, timeout=WAIT, quiet=False):
        """The one shown node with @role and @name; waits for it."""
        what = what or 'a %s named %r is shown' % (role or 'node', pattern_text(name))
        nodes = wait_until(lambda: self.nodes(role, name, root), what, timeout, quiet=quiet)
        return nodes[0]

    def texts(self, root=None):
        """The names of every shown label: the visible text of the window."""
        return [n.name for n in self.nodes('label', None, root) if n.name]

    def has_text(self, name, root=None):
        return bool(self.nodes('label', name, root))

    def wait_text(self, name, what=None, root=None, timeout=WAIT):
        what = what or 'the text %r is shown' % pattern_text(name)
        return wait_until(lambda: [n.name for n in self.nodes('label', name, root)],
                          what, timeout)[0]

    def wait_toast(self, name, what, timeout=WAIT):
        """A toast with @name: its label lives only while the toast shows, so any
        label in the tree will do (quicker than hit-testing, toasts go in seconds)."""
        return wait_until(lambda: [n.name for n in self.nodes('label', name, visible=False)],
                          what, timeout, interval=0.05)[0]

    def wait_no_text(self, name, what, root=None, timeout=WAIT):
        wait_until(lambda: not self.has_text(name, root), what, timeout)

    # -- acting --

    def click(self, node):
        """Presses a button through its own click action (what a screen reader
        does); a node without one (a list row) gets a pointer click."""
        try:
            action = node.queryAction()
            names = [action.getName(i) for i in range(action.nActions)]
        except NotImplementedError:
            names = []
        for wanted in ('click', 'activate', 'press'):
            if wanted in names:
                action.doAction(names.index(wanted))
                return
        self.pointer_click(node)

    def screen_origin(self):
        """Where the window's coordinates start on the screen: the X window sits at
        the top left (no window manager), inside it the client-side border."""
        import gi
        gi.require_version('Gdk', '3.0')
        from gi.repository import Gdk
        win = self.window()
        e = win.queryComponent().getExtents(self.atspi.WINDOW_COORDS)
        root = Gdk.get_default_root_window()
        pixbuf = Gdk.pixbuf_get_from_window(root, 0, 0, root.get_width(), root.get_height())
        box = drawn_box(pixbuf)
        check(box is not None and box[2] >= e.width and box[3] >= e.height,
              'the window is on the screen')
        return (box[0] + (box[2] - e.width) // 2, box[1] + (box[3] - e.height) // 2)

    def reveal(self, node):
        """Scrolls with the mouse wheel until @node is on screen."""
        for _ in range(40):
            if self.on_screen(node):
                return
            self._wheel_towards(node)
        check(False, '%r can be scrolled into view' % node.name)

    def _wheel_towards(self, node):
        """One turn of the mouse wheel that brings @node towards the window's middle."""
        e = node.queryComponent().getExtents(self.atspi.WINDOW_COORDS)
        w = self.window().queryComponent().getExtents(self.atspi.WINDOW_COORDS)
        ox, oy = self.screen_origin()
        wheel = 'b5c' if e.y + e.height // 2 > w.height // 2 else 'b4c'
        self.atspi.Registry.generateMouseEvent(ox + w.width // 2, oy + w.height // 2,
                                               'abs')
        self.atspi.Registry.generateMouseEvent(ox + w.width // 2, oy + w.height // 2,
                                               wheel)
        time.sleep(0.1)

    def _settled(self, node):
        """@node's extents, once they stayed the same for 0.15 s and its centre is
        on it (a page sliding in, a list moving under a toast, a scroll settling: a
        click before that lands on something else); None when not yet."""
        comp = node.queryComponent()
        e = comp.getExtents(self.atspi.WINDOW_COORDS)
        time.sleep(0.15)
        e2 = comp.getExtents(self.atspi.WINDOW_COORDS)
        if (e.x, e.y, e.width, e.height) != (e2.x, e2.y, e2.width, e2.height):
            return None
        win = self.window()
        if win is None:
            return None
        cx, cy = e2.x + e2.width // 2, e2.y + e2.height // 2
        hit = self._hit(win, node, cx, cy)
        if hit:
            return e2
        if hit is None:
            # nothing with a node of its own there (an entry row's text): enough that
            # the middle is inside the window
            w = win.queryComponent().getExtents(self.atspi.WINDOW_COORDS)
            if 0 <= cx < w.width and 0 <= cy < w.height:
                return e2
        return None

    def pointer_click(self, node):
        """A left click in the middle of @node with the pointer (XTest), once the
        node stands still with its middle on screen."""
        self.reveal(node)
        e = None
        for _ in range(20):
            e = self._settled(node)
            if e is not None:
                break
            # moving, or its middle is covered or cut off by the window's edge
            self._wheel_towards(node)
        if e is None:
            e = node.queryComponent().getExtents(self.atspi.WINDOW_COORDS)
        ox, oy = self.screen_origin()
        x, y = ox + e.x + e.width // 2, oy + e.y + e.height // 2
        reg = self.atspi.Registry
        reg.generateMouseEvent(x, y, 'abs')
        time.sleep(0.05)
        reg.generateMouseEvent(x, y, 'b1c')

    def button(self, name, root=None):
        return self.find('push button', name, root)

    def press(self, name, root=None):
        node = self.button(name, root)
        wait_until(lambda: sensitive(node), 'the button %r is sensitive'
                   % pattern_text(name), quiet=True)
        self.click(node)
        return node

    def focus(self, node):
        try:
            node.queryComponent().grabFocus()
        except NotImplementedError:
            pass
        wait_until(lambda: focused(node), '%r has the keyboard focus' % node.name, 5,
                   quiet=True)

    def type_text(self, text):
        """Types @text with synthesized key presses (XTest through the AT-SPI registry)."""
        reg = self.atspi.Registry
        for ch in text:
            keysym = ord(ch) if ord(ch) < 0x100 else 0x01000000 + ord(ch)
            reg.generateKeyboardEvent(keysym, None, self.atspi.KEY_SYM)
            time.sleep(0.01)

    def fill(self, name, text, root=None):
        """Clicks into the entry named @name, empties it and types @text."""
        entry = self.find('text', name, root, quiet=True)
        self.pointer_click(entry)
        time.sleep(0.15)
        self.key('End')
        try:
            length = entry.queryText().characterCount
        except NotImplementedError:
            length = 0
        for _ in range(max(12, length + 2)):
            self.key('BackSpace')
        self.type_text(text)
        time.sleep(0.1)
        return entry

    def back(self):
        """Goes back one page, as the Back button or Alt+Left does (the window's
        win.back action)."""
        frame = self.window()
        action = frame.queryAction()
        names = [action.getName(i) for i in range(action.nActions)]
        check('win.back' in names, 'the window has a back action')
        action.doAction(names.index('win.back'))

    def open_row(self, name, root=None, page=True):
        """Clicks the list row @name (a card, an action on the card page). With @page,
        the row opens a page: the row leaves the screen. A click that GTK dropped (seen
        once in a full CI run: the card page still shown, nothing opened, its row in
        place) is repeated once the row stood on screen, unmoved, for 3 s; a person
        would click again too."""
        row = self.find('list item', name, root)
        self.click(row)
        if not page:
            return row
        end = time.monotonic() + 3
        while time.monotonic() < end:
            try:
                if not self.on_screen(row):
                    return row
            except Exception:  # the tree changes under our feet: the page is changing
                return row
            time.sleep(0.1)
        diag('the click on %r opened nothing; clicking again' % pattern_text(name))
        self.click(row)
        return row

    def key(self, keysym_name):
        import gi
        gi.require_version('Gdk', '3.0')
        from gi.repository import Gdk
        keysym = Gdk.keyval_from_name(keysym_name)
        self.atspi.Registry.generateKeyboardEvent(keysym, None, self.atspi.KEY_SYM)

    def screenshot(self, name):
        """Saves the window as @name.png (in CARDPIN_UI_SCREENSHOTS when set)."""
        out = os.environ.get('CARDPIN_UI_SCREENSHOTS',
                             os.path.join(self.desktop.tmp, 'screenshots'))
        path = os.path.join(out, name + '.png')
        time.sleep(0.4)  # page transitions and spinners settle
        self.desktop.screenshot(path)
        diag('screenshot: ' + path)
        return path


def matches(value, wanted):
    if wanted is None:
        return True
    if value is None:
        return False
    if isinstance(wanted, str):
        return value == wanted
    return wanted.search(value) is not None


def _among_ancestors(wanted, node, depth):
    """True when @wanted is @node or one of its first @depth - 1 parents."""
    for _ in range(depth):
        if node is None:
            return False
        if same(node, wanted):
            return True
        node = node.parent
    return False


def same(a, b):
    if a is None or b is None:
        return False
    try:
        return a.path == b.path and a.get_bus_name() == b.get_bus_name()
    except AttributeError:
        return a == b


def pattern_text(p):
    return p if p is None or isinstance(p, str) else p.pattern


def _has_state(node, state_name):
    import pyatspi
    return node.getState().contains(getattr(pyatspi, state_name))


def showing(node):
    return _has_state(node, 'STATE_SHOWING') and _has_state(node, 'STATE_VISIBLE')


def sensitive(node):
    return _has_state(node, 'STATE_SENSITIVE')


def focused(node):
    return _has_state(node, 'STATE_FOCUSED')


def dump_tree(node, depth=0, out=None):
    import pyatspi
    out = out if out is not None else []
    try:
        states = [pyatspi.stateToString(s) for s in node.getState().getStates()]
        try:
            e = node.queryComponent().getExtents(1)
            ext = '%d,%d %dx%d' % (e.x, e.y, e.width, e.height)
        except Exception:
            ext = '-'
        out.append('%s[%s] %r %s %s' % ('  ' * depth, node.getRoleName(), node.name,
                                        ','.join(states), ext))
        for i in range(node.childCount):
            dump_tree(node.getChildAtIndex(i), depth + 1, out)
    except Exception as e:
        out.append('  ' * depth + 'error: %r' % e)
    return out


# -- a test script --------------------------------------------------------------------

def run(main):
    """Runs @main(desktop) with a fresh desktop; prints the plan and diagnostics."""
    desktop = None
    status = 0
    # 'cleanup': callables run at the end, whatever happened (services a test started)
    context = {'apps': [], 'cards': [], 'cleanup': []}
    try:
        desktop = Desktop()
        main(desktop, context)
    except Failure:
        status = 1
    except Exception:
        tap.n += 1
        print('not ok %d - the test ran to its end' % tap.n)
        diag(traceback.format_exc())
        status = 1
    if status and desktop is not None:
        for app in context['apps']:
            try:
                diag('\n'.join(dump_tree(app.node)))
            except Exception as e:
                diag('no tree: %r' % e)
            app.dump_log()
            try:
                where = os.environ.get('CARDPIN_UI_FAILURES', tempfile.gettempdir())
                name = 'failure-%s.png' % os.path.basename(sys.argv[0]).replace('.py', '')
                diag('screenshot of the failure: '
                     + desktop.screenshot(os.path.join(where, name)))
            except Exception as e:
                diag('no screenshot: %r' % e)
    for app in context['apps']:
        app.close()
    for card in context['cards']:
        card.close()
    for func in reversed(context['cleanup']):
        try:
            func()
        except Exception as e:
            diag('cleanup failed: %r' % e)
    if desktop is not None:
        desktop.close()
    print('1..%d' % tap.n, flush=True)
    if tap.n == 0:
        status = 1
    sys.exit(status)
