/* cardpin-test-stack.h — the real card stack for tests and the demo
 *
 * A private pcscd (its own reader.conf.d, vpcd readers on free ports) in a private mount
 * namespace with a tmpfs over /run/pcscd, and virtual PIV cards
 * (tests/virtual-card) that plug into its readers. Never touches a system pcscd.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* SELECT of the PIV application (AID A0 00 00 03 08), the one copy tests send */
extern const guint8 cardpin_test_select_piv[15];

typedef struct _CardpinTestStack CardpinTestStack;
typedef struct _CardpinTestCard  CardpinTestCard;

/* Call first in main(), before any thread exists: enters a private mount namespace (and
 * a user namespace when not root) with a tmpfs over /run/pcscd. Idempotent. */
gboolean          cardpin_test_stack_enter_namespace (GError              **error);

/* Starts pcscd with @n_readers vpcd readers (rounded up to an even number: one vpcd
 * entry serves two readers) and waits until it lists them. Also sets HOME and the
 * OpenSC cache to a private temporary directory. Needs the namespace. With
 * CARDPIN_TEST_PINPAD set in the environment the readers have a PIN pad, under their
 * usual names (a whole suite against PIN pad readers). */
CardpinTestStack *cardpin_test_stack_new              (guint                 n_readers,
                                                       GError              **error);
/* The same with readers that have a PIN pad (tests/stack/ifd-pinpad.c: vpcd with a
 * PC/SC part 10 keypad) named "Virtual PIN Pad 00 0<i>" when @pinpad is %TRUE. Their
 * keypad reads cardpin_test_stack_get_keypad() (empty: the person presses Cancel). */
CardpinTestStack *cardpin_test_stack_new_full         (guint                 n_readers,
                                                       gboolean              pinpad,
                                                       GError              **error);
/* Stops the cards and pcscd, removes the temporary directory. */
void              cardpin_test_stack_free             (CardpinTestStack     *stack);
const char       *cardpin_test_stack_get_reader       (CardpinTestStack     *stack,
                                                       guint                 index);
guint             cardpin_test_stack_get_n_readers    (CardpinTestStack     *stack);
const char       *cardpin_test_stack_get_dir          (CardpinTestStack     *stack);
guint16           cardpin_test_stack_get_port         (CardpinTestStack     *stack,
                                                       guint                 index);
/* The keypad file of a PIN pad stack (%NULL otherwise): one line per PIN entry, taken
 * from the top by the reader; and a helper that replaces its contents with @entries
 * (%NULL-terminated; %NULL or empty: the next entry is a Cancel). */
const char       *cardpin_test_stack_get_keypad       (CardpinTestStack     *stack);
void              cardpin_test_stack_set_keypad       (CardpinTestStack     *stack,
                                                       const char * const   *entries);
/* What is left on the keypad (entries not taken), "" when all were taken */
char             *cardpin_test_stack_get_keypad_left  (CardpinTestStack     *stack);

/* Starts a virtual card in reader @index with extra options @args (%NULL-terminated, may
 * be %NULL; e.g. "--pin", "654321"). Unless @args has --state, the card keeps its state
 * in <dir>/card-<index>.state, so a card inserted again into the same reader is the same
 * card. Waits until pcscd reports the card present. */
CardpinTestCard  *cardpin_test_stack_insert           (CardpinTestStack     *stack,
                                                       guint                 index,
                                                       const char * const   *args,
                                                       GError              **error);
/* Pulls the card out (stops its process) and waits until pcscd reports the reader empty.
 * Frees @card. */
void              cardpin_test_card_remove            (CardpinTestCard      *card);
/* Waits for a card that drops by itself (--drop-after) to leave the reader; frees @card.
 * Returns %FALSE on timeout. */
gboolean          cardpin_test_card_wait_gone         (CardpinTestCard      *card,
                                                       guint                 timeout_ms);
const char       *cardpin_test_card_get_state_file    (CardpinTestCard      *card);
const char       *cardpin_test_card_get_reader        (CardpinTestCard      *card);

/* A loopback TCP port that nothing listens on now (bound, read back, closed): for a
 * service a test starts, or for a client test that needs a refused connection. */
guint16           cardpin_test_free_port              (void);

/* Runs @command with /bin/sh -e in @dir; the test fails (with the command's output) when
 * it fails. Returns its standard output, stripped. */
char             *cardpin_test_sh                     (const char           *dir,
                                                       const char           *command);

/* Path of opensc-pkcs11.so (CARDPIN_OPENSC_MODULE overrides) */
const char       *cardpin_test_opensc_module          (void);

G_END_DECLS
