/* test-faults.c — fault safety: the card drops off at every APDU of every operation
 *
 * For each PIN operation and each APDU index N it sends, a virtual card started with
 * --drop-after N:before and N:after leaves the reader at that APDU. The operation must
 * fail cleanly (or succeed when the drop came after its last APDU), nothing may crash,
 * and the card, inserted again, must hold either the old or the new value, never an
 * unknown one. The matrix is printed as TAP comments.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "cardpin-error.h"
#include "cardpin-manager.h"
#include "cardpin-secret.h"
#include "cardpin-test-stack.h"
#include "cardpin-token.h"
#include "cardpin-unblock-session.h"

#define READER "Virtual PCD 00 00"
#define OLD_PIN "123456"
#define NEW_PIN "739154"
#define OLD_PUK "12345678"
#define NEW_PUK "86421357"
#define AES_KEY "00112233445566778899AABBCCDDEEFF"

typedef enum {
  OP_CHANGE_PIN,
  OP_CHANGE_PUK,
  OP_UNBLOCK_PUK,
  OP_UNBLOCK_CHALLENGE,
  OP_SETUP,
} Operation;

typedef struct {
  const char *name;
  Operation   op;
  guint       n_apdus;     /* APDUs the operation itself sends */
  gboolean    blocked;     /* starts with the PIN blocked */
} Case;

static const Case cases[] = {
  /* SELECT, CHANGE REFERENCE DATA, VERIFY FF */
  { "change-pin", OP_CHANGE_PIN, 3, FALSE },
  { "change-puk", OP_CHANGE_PUK, 3, FALSE },
  /* SELECT, RESET RETRY COUNTER, VERIFY FF */
  { "unblock-puk", OP_UNBLOCK_PUK, 3, TRUE },
  /* SELECT, GET METADATA 9B, GENERAL AUTHENTICATE x2, RESET RETRY COUNTER */
  { "unblock-challenge", OP_UNBLOCK_CHALLENGE, 5, TRUE },
  /* SELECT, CHANGE REFERENCE DATA 80 and 81, VERIFY FF */
  { "setup", OP_SETUP, 4, FALSE },
};

static CardpinSecret *
secret (const char *text)
{
  return cardpin_secret_new_from_string (text);
}

static GBytes *
aes_response (GBytes *challenge)
{
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) out = NULL;

  process = g_subprocess_newv ((const char * const[]) { "openssl", "enc", "-aes-128-ecb",
                                                        "-K", AES_KEY, "-nopad", NULL },
                               G_SUBPROCESS_FLAGS_STDIN_PIPE |
                               G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate (process, challenge, NULL, &out, NULL, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&out);
}

static gboolean
run_operation (CardpinToken  *token,
               Operation      op,
               GError       **error)
{
  g_autoptr(CardpinSecret) old_pin = secret (OLD_PIN);
  g_autoptr(CardpinSecret) new_pin = secret (NEW_PIN);
  g_autoptr(CardpinSecret) old_puk = secret (OLD_PUK);
  g_autoptr(CardpinSecret) new_puk = secret (NEW_PUK);

  switch (op)
    {
    case OP_CHANGE_PIN:
      return cardpin_token_change_pin (token, old_pin, new_pin, NULL, error);
    case OP_CHANGE_PUK:
      return cardpin_token_change_puk (token, old_puk, new_puk, NULL, error);
    case OP_UNBLOCK_PUK:
      return cardpin_token_unblock_pin (token, old_puk, new_pin, NULL, error);
    case OP_SETUP:
      return cardpin_token_setup (token, old_pin, new_pin, old_puk, new_puk, NULL, error);
    case OP_UNBLOCK_CHALLENGE:
      {
        g_autoptr(CardpinUnblockSession) session = NULL;
        g_autoptr(GBytes) response = NULL;
        g_autoptr(CardpinSecret) response_secret = NULL;

        session = cardpin_token_begin_unblock (token, NULL, error);
        if (session == NULL)
          return FALSE;
        response = aes_response (cardpin_unblock_session_get_challenge (session));
        response_secret = cardpin_secret_new (g_bytes_get_data (response, NULL),
                                              g_bytes_get_size (response));
        return cardpin_unblock_session_complete (session, response_secret, new_pin, NULL,
                                                 error);
      }
    default:
      g_assert_not_reached ();
    }
}

/* Which value the card holds: TRUE new, FALSE old; fails the test when neither works. */
static gboolean
holds_new_value (CardpinToken *token,
                 Operation     op)
{
  g_autoptr(GError) error = NULL;
  gboolean puk = op == OP_CHANGE_PUK;
  g_autoptr(CardpinSecret) new_value = secret (puk ? NEW_PUK : NEW_PIN);
  g_autoptr(CardpinSecret) old_value = secret (puk ? OLD_PUK : OLD_PIN);

  if (puk)
    {
      /* changing the PUK to itself succeeds only with the right PUK */
      if (cardpin_token_change_puk (token, new_value, new_value, NULL, &error))
        return TRUE;
      g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_WRONG_PUK);
      g_clear_error (&error);
      g_assert_true (cardpin_token_change_puk (token, old_value, old_value, NULL, &error));
      g_assert_no_error (error);
      return FALSE;
    }

  if (cardpin_token_verify_pin (token, new_value, NULL, &error))
    return TRUE;

  if (g_error_matches (error, CARDPIN_ERROR, CARDPIN_ERROR_PIN_BLOCKED))
    {
      /* an unblock that did not happen: the PIN is still the old, blocked one */
      g_assert_true (op == OP_UNBLOCK_PUK || op == OP_UNBLOCK_CHALLENGE);
      return FALSE;
    }
  g_assert_error (error, CARDPIN_ERROR, CARDPIN_ERROR_WRONG_PIN);
  g_clear_error (&error);
  g_assert_true (cardpin_token_verify_pin (token, old_value, NULL, &error));
  g_assert_no_error (error);
  return FALSE;
}

static void
test_case (gconstpointer data)
{
  const Case *c = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(CardpinManager) manager = NULL;
  g_autoptr(CardpinToken) token = NULL;
  g_autoptr(GString) matrix = g_string_new (NULL);
  const char *modules[] = { cardpin_test_opensc_module (), NULL };
  CardpinTestStack *stack;
  guint n;
  guint mode;

  stack = cardpin_test_stack_new (2, &error);
  g_assert_no_error (error);

  for (n = 1; n <= c->n_apdus + 1; n++)
    for (mode = 0; mode < 2; mode++)
      {
        const char *when = mode == 0 ? "before" : "after";
        g_autofree char *state = g_strdup_printf ("%s/%s-%u-%s.state",
                                                  cardpin_test_stack_get_dir (stack),
                                                  c->name, n, when);
        g_autofree char *drop = g_strdup_printf ("%u:%s", n, when);
        const char *base_args[] = { "--state", state, "--admin-key", AES_KEY, NULL };
        const char *drop_args[] = { "--state", state, "--drop-after", drop, NULL };
        g_autoptr(GError) op_error = NULL;
        CardpinTestCard *card;
        gboolean ok;
        gboolean is_new;

        /* a fresh card, known to the manager (OpenSC's own APDUs happen here) */
        card = cardpin_test_stack_insert (stack, 0, base_args, &error);
        g_assert_no_error (error);
        if (manager == NULL)
          {
            manager = cardpin_manager_new (modules, NULL, &error);
            g_assert_no_error (error);
          }
        else
          {
            g_assert_true (cardpin_manager_refresh (manager, NULL, &error));
            g_assert_no_error (error);
          }
        g_clear_object (&token);
        token = cardpin_manager_find_token (manager, READER, NULL, &error);
        g_assert_no_error (error);

        if (c->blocked)
          {
            g_autoptr(CardpinSecret) wrong = secret ("999999");
            guint i;

            for (i = 0; i < 3; i++)
              {
                g_assert_false (cardpin_token_verify_pin (token, wrong, NULL, &error));
                g_clear_error (&error);
              }
          }
        cardpin_test_card_remove (card);

        /* the same card, set to drop at the N-th APDU from now: the operation's */
        card = cardpin_test_stack_insert (stack, 0, drop_args, &error);
        g_assert_no_error (error);
        ok = run_operation (token, c->op, &op_error);
        if (!ok)
          {
            /* a clear error: the card went away (or the challenge with it) */
            g_assert_nonnull (op_error);
            if (!g_error_matches (op_error, CARDPIN_ERROR, CARDPIN_ERROR_CARD_REMOVED) &&
                !g_error_matches (op_error, CARDPIN_ERROR, CARDPIN_ERROR_CHALLENGE_EXPIRED) &&
                !g_error_matches (op_error, CARDPIN_ERROR, CARDPIN_ERROR_NO_CARD))
              g_error ("%s drop %s: unexpected error %s %d: %s", c->name, drop,
                       g_quark_to_string (op_error->domain), op_error->code,
                       op_error->message);
          }
        /* the drop happens at the latest in the status read after the operation */
        g_assert_true (cardpin_test_card_wait_gone (card, 10000));

        card = cardpin_test_stack_insert (stack, 0, (const char * const[]) { "--state", state,
                                                                             NULL },
                                          &error);
        g_assert_no_error (error);
        is_new = holds_new_value (token, c->op);
        /* a reported success is a real one */
        if (ok)
          g_assert_true (is_new);
        cardpin_test_card_remove (card);

        g_string_append_printf (matrix, " %u:%s=%s%s", n, when, ok ? "ok" : "err",
                                is_new ? "/new" : "/old");
      }

  g_test_message ("fault matrix %s:%s", c->name, matrix->str);

  g_clear_object (&token);
  g_assert_finalize_object (g_steal_pointer (&manager));
  cardpin_test_stack_free (stack);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  guint i;

  if (!cardpin_test_stack_enter_namespace (&error))
    {
      g_printerr ("Cannot enter a private namespace: %s\n", error->message);
      return 1;
    }

  g_test_init (&argc, &argv, NULL);

  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/cardpin/faults/%s", cases[i].name);

      g_test_add_data_func (path, &cases[i], test_case);
    }

  return g_test_run ();
}
