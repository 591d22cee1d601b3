/* cardpin-test-fixture.c — the one fixture every card test uses
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <PCSC/winscard.h>

#include "cardpin-code.h"
#include "cardpin-test-fixture.h"

void
cardpin_test_init (int    *argc,
                   char ***argv)
{
  g_autoptr(GError) error = NULL;

  if (!cardpin_test_stack_enter_namespace (&error))
    {
      g_printerr ("Cannot enter a private namespace: %s\n", error->message);
      exit (1);
    }
  g_test_init (argc, argv, NULL);
}

void
cardpin_test_fixture_setup (CardpinTestFixture *fixture,
                            gconstpointer       data)
{
  g_autoptr(GError) error = NULL;
  guint n_readers = data != NULL ? GPOINTER_TO_UINT (data) : 2;

  g_assert_cmpuint (n_readers, <=, CARDPIN_TEST_MAX_CARDS);
  fixture->stack = cardpin_test_stack_new (n_readers, &error);
  g_assert_no_error (error);
}

void
cardpin_test_fixture_setup_pinpad (CardpinTestFixture *fixture,
                                   gconstpointer       data)
{
  g_autoptr(GError) error = NULL;
  guint n_readers = data != NULL ? GPOINTER_TO_UINT (data) : 2;

  g_assert_cmpuint (n_readers, <=, CARDPIN_TEST_MAX_CARDS);
  fixture->stack = cardpin_test_stack_new_full (n_readers, TRUE, &error);
  g_assert_no_error (error);
}

void
cardpin_test_fixture_teardown (CardpinTestFixture *fixture,
                               gconstpointer       data)
{
  guint i;

  if (fixture->manager != NULL)
    g_assert_finalize_object (g_steal_pointer (&fixture->manager));
  /* cardpin_test_stack_free() stops every card it started */
  for (i = 0; i < G_N_ELEMENTS (fixture->cards); i++)
    fixture->cards[i] = NULL;
  g_clear_pointer (&fixture->stack, cardpin_test_stack_free);
}

CardpinTestCard *
cardpin_test_fixture_insert (CardpinTestFixture *fixture,
                             guint               index,
                             const char * const *args)
{
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (index, <, CARDPIN_TEST_MAX_CARDS);
  g_assert_null (fixture->cards[index]);
  fixture->cards[index] = cardpin_test_stack_insert (fixture->stack, index, args, &error);
  g_assert_no_error (error);
  return fixture->cards[index];
}

void
cardpin_test_fixture_pull (CardpinTestFixture *fixture,
                           guint               index)
{
  g_assert_nonnull (fixture->cards[index]);
  cardpin_test_card_remove (g_steal_pointer (&fixture->cards[index]));
}

guint
cardpin_test_fixture_card_apdus (CardpinTestFixture *fixture,
                                 guint               index)
{
  g_autofree char *path = g_strdup_printf ("%s/card-%u.log",
                                           cardpin_test_stack_get_dir (fixture->stack),
                                           index);
  g_autofree char *log = NULL;
  g_auto(GStrv) lines = NULL;
  guint n = 0;

  g_assert_true (g_file_get_contents (path, &log, NULL, NULL));
  lines = g_strsplit (log, "\n", -1);
  /* "vcard: 00 A4 04 00 -> 9000": a command the card applied and answered */
  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], "vcard: ") && strstr (lines[i], " -> ") != NULL)
      n++;
  return n;
}

const char * const *
cardpin_test_modules (const char *extra_module)
{
  static const char *modules[3];

  modules[0] = cardpin_test_opensc_module ();
  modules[1] = extra_module;
  modules[2] = NULL;
  return modules;
}

CardpinManager *
cardpin_test_fixture_manager (CardpinTestFixture *fixture,
                              const char         *extra_module)
{
  g_autoptr(GError) error = NULL;

  if (fixture->manager == NULL)
    fixture->manager = cardpin_manager_new (cardpin_test_modules (extra_module), NULL, &error);
  else
    g_assert_true (cardpin_manager_refresh (fixture->manager, NULL, &error));
  g_assert_no_error (error);
  g_assert_nonnull (fixture->manager);
  return fixture->manager;
}

CardpinToken *
cardpin_test_fixture_token (CardpinTestFixture *fixture,
                            const char         *reader,
                            const char         *extra_module)
{
  g_autoptr(GError) error = NULL;
  CardpinManager *manager = cardpin_test_fixture_manager (fixture, extra_module);
  CardpinToken *token;

  if (reader == NULL)
    g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (manager)), ==, 1);
  token = cardpin_manager_find_token (manager, reader, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (token);
  return token;
}

guint
cardpin_test_send_apdu (const char   *reader,
                        const guint8 *apdu,
                        gsize         apdu_len)
{
  SCARDCONTEXT ctx;
  SCARDHANDLE card;
  DWORD proto = 0;
  BYTE rbuf[258];
  DWORD rlen = sizeof rbuf;
  const SCARD_IO_REQUEST *pci;
  guint sw;

  g_assert_cmpint (SCardEstablishContext (SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx), ==,
                   SCARD_S_SUCCESS);
  g_assert_cmpint (SCardConnect (ctx, reader, SCARD_SHARE_SHARED,
                                 SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &card, &proto), ==,
                   SCARD_S_SUCCESS);
  pci = proto == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
  g_assert_cmpint (SCardTransmit (card, pci, cardpin_test_select_piv,
                                  sizeof cardpin_test_select_piv, NULL, rbuf, &rlen), ==,
                   SCARD_S_SUCCESS);
  g_assert_cmpuint (rlen, >=, 2);
  g_assert_cmphex (rbuf[rlen - 2], ==, 0x90);
  rlen = sizeof rbuf;
  g_assert_cmpint (SCardTransmit (card, pci, apdu, apdu_len, NULL, rbuf, &rlen), ==,
                   SCARD_S_SUCCESS);
  g_assert_cmpuint (rlen, >=, 2);
  sw = (rbuf[rlen - 2] << 8) | rbuf[rlen - 1];
  SCardDisconnect (card, SCARD_RESET_CARD);
  SCardReleaseContext (ctx);
  return sw;
}

int
cardpin_test_card_tries (const char *reader,
                         guint8      key_ref)
{
  const guint8 verify[] = { 0x00, 0x20, 0x00, key_ref };
  guint sw = cardpin_test_send_apdu (reader, verify, sizeof verify);

  if (sw == 0x6983)
    return 0;
  if ((sw & 0xFFF0) == 0x63C0)
    return sw & 0x0F;
  return -1;
}

int
cardpin_test_run (const char * const *argv,
                  const char         *input,
                  char              **out,
                  char              **err)
{
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *stdout_text = NULL;
  g_autofree char *stderr_text = NULL;
  GSubprocessFlags flags = G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE;

  if (input != NULL)
    flags |= G_SUBPROCESS_FLAGS_STDIN_PIPE;
  process = g_subprocess_newv (argv, flags, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (process, input, NULL, &stdout_text,
                                                &stderr_text, &error));
  g_assert_no_error (error);
  if (!g_subprocess_get_if_exited (process) || g_subprocess_get_exit_status (process) != 0)
    g_test_message ("%s: %s%s", argv[0], stdout_text, stderr_text);
  if (out != NULL)
    *out = g_steal_pointer (&stdout_text);
  if (err != NULL)
    *err = g_steal_pointer (&stderr_text);
  if (!g_subprocess_get_if_exited (process))
    return 128 + g_subprocess_get_term_sig (process);
  return g_subprocess_get_exit_status (process);
}

int
cardpin_test_pkcs11_tool_login (const char *reader,
                                const char *pin)
{
  /* a throw-away test PIN in argv is fine here */
  return cardpin_test_run ((const char * const[]) { "pkcs11-tool", "--module",
                                                    cardpin_test_opensc_module (),
                                                    "--slot-description", reader, "--login",
                                                    "--pin", pin, "--list-objects", NULL },
                           NULL, NULL, NULL);
}

int
cardpin_test_yubico_verify (const char *reader,
                            const char *pin)
{
  return cardpin_test_run ((const char * const[]) { "yubico-piv-tool", "-r", reader,
                                                    "-a", "verify-pin", "-P", pin, NULL },
                           NULL, NULL, NULL);
}

void
cardpin_test_wrong_pin (const char *reader)
{
  g_autofree char *err = NULL;

  /* a throw-away test PIN in argv is fine here */
  g_assert_cmpint (cardpin_test_run ((const char * const[]) { "pkcs11-tool", "--module",
                                                              cardpin_test_opensc_module (),
                                                              "--slot-description", reader,
                                                              "--login", "--pin", "999999",
                                                              "--list-objects", NULL },
                                     NULL, NULL, &err), !=, 0);
  if (strstr (err, "CKR_PIN_INCORRECT") == NULL && strstr (err, "CKR_PIN_LOCKED") == NULL)
    g_error ("pkcs11-tool did not fail on the PIN: %s", err);
}

void
cardpin_test_block_pin (CardpinToken *token,
                        guint         tries)
{
  g_autoptr(CardpinSecret) wrong = cardpin_secret_new_from_string ("999999");
  guint i;

  for (i = 0; i < tries; i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_false (cardpin_token_verify_pin (token, wrong, NULL, &error));
      g_assert_nonnull (error);
    }
  g_assert_cmpint (cardpin_token_get_pin_state (token), ==, CARDPIN_PIN_STATE_LOCKED);
}

GBytes *
cardpin_test_openssl_response (const char *cipher,
                               const char *key_hex,
                               GBytes     *challenge)
{
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) out = NULL;

  process = g_subprocess_newv ((const char * const[]) { "openssl", "enc", cipher, "-K",
                                                        key_hex, "-nopad", NULL },
                               G_SUBPROCESS_FLAGS_STDIN_PIPE |
                               G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate (process, challenge, NULL, &out, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 0);
  g_assert_cmpuint (g_bytes_get_size (out), ==, g_bytes_get_size (challenge));
  return g_steal_pointer (&out);
}

char *
cardpin_test_response_code (const char *cipher,
                            const char *key_hex,
                            GBytes     *challenge)
{
  g_autoptr(GBytes) response = cardpin_test_openssl_response (cipher, key_hex, challenge);

  return cardpin_code_format (g_bytes_get_data (response, NULL), g_bytes_get_size (response));
}
