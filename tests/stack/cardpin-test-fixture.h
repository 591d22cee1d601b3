/* cardpin-test-fixture.h — the one fixture every card test uses
 *
 * A g_test_add() fixture over the real stack (cardpin-test-stack.h): a private pcscd with
 * its readers, the virtual cards inserted into them, and a CardpinManager on OpenSC; plus
 * the few things tests do to a card from outside cardpin (raw APDUs after a SELECT of the
 * PIV applet, the tries left read from the card itself, independent clients).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "cardpin-manager.h"
#include "cardpin-test-stack.h"
#include "cardpin-token.h"

G_BEGIN_DECLS

#define CARDPIN_TEST_READER0 "Virtual PCD 00 00"
#define CARDPIN_TEST_READER1 "Virtual PCD 00 01"
#define CARDPIN_TEST_MAX_CARDS 4
/* How long a test waits for the stack or a UI state */
#define CARDPIN_TEST_WAIT_MS 20000

typedef struct {
  CardpinTestStack *stack;
  CardpinTestCard  *cards[CARDPIN_TEST_MAX_CARDS];
  CardpinManager   *manager;
} CardpinTestFixture;

/* The start of every card test's main(): enters the stack's private namespace (before
 * any thread exists; exits with a message when it cannot), then g_test_init(). */
void            cardpin_test_init              (int                 *argc,
                                                char              ***argv);

/* Fixture set-up and tear-down for g_test_add(): @data is GUINT_TO_POINTER (n_readers),
 * or %NULL for two readers. Tear-down finalizes the manager (asserting that nothing else
 * still holds it), pulls the cards and stops the stack. */
void            cardpin_test_fixture_setup     (CardpinTestFixture  *fixture,
                                                gconstpointer        data);
void            cardpin_test_fixture_teardown  (CardpinTestFixture  *fixture,
                                                gconstpointer        data);
/* Set-up with PIN pad readers ("Virtual PIN Pad 00 0<i>", cardpin_test_stack_new_full());
 * @data as for cardpin_test_fixture_setup(). */
void            cardpin_test_fixture_setup_pinpad (CardpinTestFixture *fixture,
                                                   gconstpointer       data);

/* Inserts a virtual card with @args into reader @index; asserts success. */
CardpinTestCard *cardpin_test_fixture_insert   (CardpinTestFixture  *fixture,
                                                guint                index,
                                                const char * const  *args);
/* Pulls the card in reader @index out and waits until pcscd sees the reader empty. */
void            cardpin_test_fixture_pull      (CardpinTestFixture  *fixture,
                                                guint                index);

/* The commands the card in reader @index answered so far, counted in its log (the card
 * runs with -v): a command answered with one byte (--garble, --mute-file) or dropped at
 * is not counted. */
guint           cardpin_test_fixture_card_apdus (CardpinTestFixture *fixture,
                                                 guint               index);

/* OpenSC's module, then @extra_module (may be %NULL): a %NULL-terminated static array */
const char * const *cardpin_test_modules       (const char          *extra_module);

/* The fixture's manager (created on first use with cardpin_test_modules (@extra_module),
 * refreshed afterwards) and the token in @reader (%NULL: the only token). Asserts. */
CardpinManager *cardpin_test_fixture_manager   (CardpinTestFixture  *fixture,
                                                const char          *extra_module);
CardpinToken   *cardpin_test_fixture_token     (CardpinTestFixture  *fixture,
                                                const char          *reader,
                                                const char          *extra_module);

/* Sends @apdu to the card in @reader after a SELECT of the PIV applet, in one connection
 * that is reset afterwards, and returns the status word. Asserts the transport works. */
guint           cardpin_test_send_apdu         (const char          *reader,
                                                const guint8        *apdu,
                                                gsize                apdu_len);
/* The tries left of a PIV key reference (0x80 PIN, 0x81 PUK) as the card itself reports
 * them (VERIFY with no data): 0 when blocked, -1 when it answered something else. */
int             cardpin_test_card_tries        (const char          *reader,
                                                guint8               key_ref);

/* Runs @argv (stdin from @input when given); returns the exit status; stdout in @out and
 * stderr in @err when given. */
int             cardpin_test_run               (const char * const  *argv,
                                                const char          *input,
                                                char               **out,
                                                char               **err);
/* Independent clients: pkcs11-tool logs in with @pin through OpenSC; yubico-piv-tool
 * verifies @pin. Both return the exit status (0: the PIN was right). */
int             cardpin_test_pkcs11_tool_login (const char          *reader,
                                                const char          *pin);
int             cardpin_test_yubico_verify     (const char          *reader,
                                                const char          *pin);
/* Spends one PIN try the way another application would: a wrong C_Login through
 * PKCS#11 in another process (pkcs11-tool), so this process's modules stay untouched.
 * Asserts that the login failed because of the PIN. */
void            cardpin_test_wrong_pin         (const char          *reader);
/* Verifies a wrong PIN through @token @tries times; asserts the PIN is blocked then. */
void            cardpin_test_block_pin         (CardpinToken        *token,
                                                guint                tries);
/* E_K(@challenge) computed by the openssl command line (@cipher: "-aes-128-ecb" or
 * "-des-ede3"), independently of cardpin; and the same as a DESIGN.md response code. */
GBytes         *cardpin_test_openssl_response  (const char          *cipher,
                                                const char          *key_hex,
                                                GBytes              *challenge);
char           *cardpin_test_response_code     (const char          *cipher,
                                                const char          *key_hex,
                                                GBytes              *challenge);

G_END_DECLS
