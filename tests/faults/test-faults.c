/* test-faults.c — fault safety: the card drops off the reader at every APDU of every
 * PIN operation, before and after applying it
 *
 * For each operation a probe run (no fault) tells which APDUs (by index in the card's
 * lifetime) the operation sends. Then, for each of them and each mode, a fresh card
 * drops off at that APDU while a child process runs the operation; the operation must
 * fail cleanly (a CARDPIN_ERROR with a message) or succeed, and once the card is back an
 * independent client (yubico-piv-tool) finds either the old or the new secret, never
 * anything else. The operation runs in a child process so that OpenSC's own APDUs before
 * it are the same every time.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <openssl/evp.h>

#include "cardpin-error.h"
#include "cardpin-manager.h"
#include "cardpin-secret.h"
#include "cardpin-test-fixture.h"
#include "cardpin-token.h"
#include "cardpin-unblock-session.h"

/* test data of the emulated card (not secrets) */
#define SERIAL     "0000000000000000000000000FA017ED"
#define ADMIN_KEY  "00112233445566778899AABBCCDDEEFF"
#define OLD_PIN    "123456"
#define NEW_PIN    "24681357"
#define OLD_PUK    "12345678"
#define NEW_PUK    "86429753"

typedef enum {
  OP_CHANGE_PIN,
  OP_CHANGE_PUK,
  OP_UNBLOCK_PUK,
  OP_UNBLOCK_ADMIN,
  OP_SETUP,
  N_OPS
} Op;

static const struct {
  const char *name;
  gboolean    blocked;   /* runs on a card whose PIN is blocked */
} ops[N_OPS] = {
  [OP_CHANGE_PIN]    = { "change-pin", FALSE },
  [OP_CHANGE_PUK]    = { "change-puk", FALSE },
  [OP_UNBLOCK_PUK]   = { "unblock-puk", TRUE },
  [OP_UNBLOCK_ADMIN] = { "unblock-admin", TRUE },
  [OP_SETUP]         = { "setup", FALSE },
};

static const char *self_path;

/* ---- child: run one operation against the card in CARDPIN_FAULT_READER ---- */

static guint
count_apdus (const char *log_path)
{
  g_autofree char *contents = NULL;
  guint n = 0;

  if (!g_file_get_contents (log_path, &contents, NULL, NULL))
    return 0;
  for (const char *p = contents; (p = strstr (p, "vcard: ")) != NULL; p++)
    if (p == contents || p[-1] == '\n')
      n++;
  return n;
}

static CardpinSecret *
secret (const char *s)
{
  return cardpin_secret_new_from_string (s);
}

static gboolean
admin_unblock (CardpinToken  *token,
               GError       **error)
{
  g_autoptr(CardpinUnblockSession) session = NULL;
  g_autoptr(CardpinSecret) response = NULL;
  g_autoptr(CardpinSecret) new_pin = secret (NEW_PIN);
  GBytes *challenge;  /* owned by the session */
  guint8 key[16], out[32];
  const guint8 *in;
  gsize in_len;
  int out_len = 0;
  EVP_CIPHER_CTX *ctx;

  session = cardpin_token_begin_unblock (token, NULL, error);
  if (session == NULL)
    return FALSE;

  /* the helpdesk's side: AES-128-ECB of the challenge under the card's admin key */
  for (guint i = 0; i < 16; i++)
    key[i] = (guint8) g_ascii_strtoull ((char[]) { ADMIN_KEY[2 * i], ADMIN_KEY[2 * i + 1], 0 },
                                        NULL, 16);
  challenge = cardpin_unblock_session_get_challenge (session);
  in = g_bytes_get_data (challenge, &in_len);
  g_assert_cmpuint (in_len, ==, 16);
  ctx = EVP_CIPHER_CTX_new ();
  EVP_EncryptInit_ex (ctx, EVP_aes_128_ecb (), NULL, key, NULL);
  EVP_CIPHER_CTX_set_padding (ctx, 0);
  EVP_EncryptUpdate (ctx, out, &out_len, in, (int) in_len);
  EVP_CIPHER_CTX_free (ctx);
  response = cardpin_secret_new (out, (gsize) out_len);

  return cardpin_unblock_session_complete (session, response, new_pin, NULL, error);
}

static gboolean
run_op (CardpinToken  *token,
        Op             op,
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
    case OP_UNBLOCK_ADMIN:
      return admin_unblock (token, error);
    case OP_SETUP:
      return cardpin_token_setup (token, old_pin, new_pin, old_puk, new_puk, NULL, error);
    case N_OPS:
    default:
      g_assert_not_reached ();
    }
}

/* Prints "base N", then "ok" or "error DOMAIN CODE MESSAGE", then "end N". */
static int
child_main (const char *op_name)
{
  const char *reader = g_getenv ("CARDPIN_FAULT_READER");
  const char *log_path = g_getenv ("CARDPIN_FAULT_LOG");
  g_autoptr(CardpinManager) manager = NULL;
  g_autoptr(CardpinToken) token = NULL;
  g_autoptr(GError) error = NULL;
  Op op = N_OPS;

  for (guint i = 0; i < N_OPS; i++)
    if (g_str_equal (ops[i].name, op_name))
      op = i;
  g_assert_cmpint (op, <, N_OPS);

  manager = cardpin_manager_new (cardpin_test_modules (NULL), NULL, &error);
  g_assert_no_error (error);
  token = cardpin_manager_find_token (manager, reader, NULL, &error);
  g_assert_no_error (error);

  g_print ("base %u\n", count_apdus (log_path));
  if (run_op (token, op, &error))
    g_print ("ok\n");
  else
    g_print ("error %s %d %s\n", g_quark_to_string (error->domain), error->code,
             error->message);
  g_print ("end %u\n", count_apdus (log_path));
  return 0;
}

/* A transmission error is no "card without PIV": verify (whose status read afterwards
 * gets a garbled answer to its SELECT), then change the PIN (whose first command gets a
 * garbled answer), then change it again. Prints "base N", "verify RESULT", "piv 0|1",
 * "change RESULT", "retry RESULT", "end N". */
static void
print_result (const char   *what,
              gboolean      ok,
              const GError *error)
{
  if (ok)
    g_print ("%s ok\n", what);
  else
    g_print ("%s error %s %d %s\n", what, g_quark_to_string (error->domain), error->code,
             error->message);
}

static int
io_child_main (void)
{
  const char *reader = g_getenv ("CARDPIN_FAULT_READER");
  const char *log_path = g_getenv ("CARDPIN_FAULT_LOG");
  g_autoptr(CardpinManager) manager = NULL;
  g_autoptr(CardpinToken) token = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(CardpinSecret) old_pin = secret (OLD_PIN);
  g_autoptr(CardpinSecret) new_pin = secret (NEW_PIN);
  gboolean ok;

  manager = cardpin_manager_new (cardpin_test_modules (NULL), NULL, &error);
  g_assert_no_error (error);
  token = cardpin_manager_find_token (manager, reader, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (cardpin_token_is_piv (token));

  g_print ("base %u\n", count_apdus (log_path));
  ok = cardpin_token_verify_pin (token, old_pin, NULL, &error);
  print_result ("verify", ok, error);
  g_clear_error (&error);
  g_print ("piv %d\n", cardpin_token_is_piv (token));

  ok = cardpin_token_change_pin (token, old_pin, new_pin, NULL, &error);
  print_result ("change", ok, error);
  g_clear_error (&error);
  if (!ok)
    {
      ok = cardpin_token_change_pin (token, old_pin, new_pin, NULL, &error);
      print_result ("retry", ok, error);
    }
  g_print ("end %u\n", count_apdus (log_path));
  return 0;
}

/* ---- parent: the matrix ---- */

typedef struct {
  CardpinTestStack *stack;
  char *templates[2];   /* fresh card, card with a blocked PIN */
  char *log_path;
} Fixture;

/* Runs this program again as a child (@argv after the program's path) on reader 0 with
 * the card's log; returns its standard output. The child must exit 0. */
static char *
spawn_child (Fixture    *f,
             const char *what,
             const char *arg1,
             const char *arg2)
{
  g_auto(GStrv) envp = g_get_environ ();
  const char *argv[] = { self_path, arg1, arg2, NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;
  char *out = NULL;
  int status;

  envp = g_environ_setenv (envp, "CARDPIN_FAULT_READER",
                           cardpin_test_stack_get_reader (f->stack, 0), TRUE);
  envp = g_environ_setenv (envp, "CARDPIN_FAULT_LOG", f->log_path, TRUE);
  g_spawn_sync (NULL, (char **) argv, envp, 0, NULL, NULL, &out, &err, &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("%s crashed or failed: %s\n%s", what, out, err);
  return out;
}

static char *
run_child (Fixture  *f,
           Op        op,
           guint    *base,
           guint    *end)
{
  g_autofree char *what = g_strdup_printf ("operation %s", ops[op].name);
  g_autofree char *out = spawn_child (f, what, "--fault-child", ops[op].name);
  g_auto(GStrv) lines = NULL;
  char *result = NULL;

  lines = g_strsplit (out, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      if (g_str_has_prefix (lines[i], "base "))
        *base = (guint) g_ascii_strtoull (lines[i] + 5, NULL, 10);
      else if (g_str_has_prefix (lines[i], "end "))
        *end = (guint) g_ascii_strtoull (lines[i] + 4, NULL, 10);
      else if (g_str_equal (lines[i], "ok") || g_str_has_prefix (lines[i], "error "))
        result = g_strdup (lines[i]);
    }
  g_assert_nonnull (result);
  return result;
}

static CardpinTestCard *
insert_copy (Fixture    *f,
             const char *template,
             const char *state,
             const char *drop)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize len;
  const char *args[] = { "-v", "--state", state, drop ? "--drop-after" : NULL, drop, NULL };
  CardpinTestCard *card;

  if (template != NULL)
    {
      g_assert_true (g_file_get_contents (template, &contents, &len, NULL));
      g_assert_true (g_file_set_contents (state, contents, (gssize) len, NULL));
    }
  g_assert_true (g_file_set_contents (f->log_path, "", 0, NULL));
  card = cardpin_test_stack_insert (f->stack, 0, args, &error);
  g_assert_no_error (error);
  return card;
}

static gboolean
ypt (Fixture    *f,
     const char *action,
     const char *p,
     const char *n)
{
  const char *argv[] = { "yubico-piv-tool", "-r", cardpin_test_stack_get_reader (f->stack, 0),
                         "-a", action, "-P", p, n ? "-N" : NULL, n, NULL };
  int status;

  g_spawn_sync (NULL, (char **) argv, NULL,
                G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                NULL, NULL, NULL, NULL, &status, NULL);
  return g_spawn_check_wait_status (status, NULL);
}

static int
pin_tries (Fixture *f)
{
  const char *argv[] = { "yubico-piv-tool", "-r", cardpin_test_stack_get_reader (f->stack, 0),
                         "-a", "status", NULL };
  g_autofree char *out = NULL;
  const char *p;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                NULL, NULL, &out, NULL, NULL, NULL);
  p = out ? strstr (out, "PIN tries left:") : NULL;
  g_assert_nonnull (p);
  return (int) g_ascii_strtoll (p + strlen ("PIN tries left:"), NULL, 10);
}

/* Which PIN does the card hold: 0 the old one, 1 the new one, 2 still blocked. */
static int
which_pin (Fixture  *f,
           gboolean  blocked_before)
{
  if (blocked_before && pin_tries (f) == 0)
    return 2;
  if (!blocked_before && ypt (f, "verify-pin", OLD_PIN, NULL))
    return 0;
  if (ypt (f, "verify-pin", NEW_PIN, NULL))
    return 1;
  return -1;
}

/* Which PUK: 0 old, 1 new. Unblocking with a PUK sets the PIN: set it to @pin. */
static int
which_puk (Fixture    *f,
           const char *pin)
{
  if (ypt (f, "unblock-pin", OLD_PUK, pin))
    return 0;
  if (ypt (f, "unblock-pin", NEW_PUK, pin))
    return 1;
  return -1;
}

/* @succeeded: the operation said it worked, so the card must hold the new values */
static void
check_card (Fixture    *f,
            Op          op,
            const char *state,
            gboolean    succeeded,
            const char *what)
{
  CardpinTestCard *card = insert_copy (f, NULL, state, NULL);
  int pin = which_pin (f, ops[op].blocked);
  gboolean changes_pin = op != OP_CHANGE_PUK;

  if (pin < 0)
    g_error ("%s: the card holds an unknown PIN", what);
  if (succeeded && changes_pin && pin != 1)
    g_error ("%s: reported success but the card kept the old PIN", what);
  if (op == OP_CHANGE_PUK || op == OP_SETUP)
    {
      int puk = which_puk (f, pin == 1 ? NEW_PIN : OLD_PIN);

      if (puk < 0)
        g_error ("%s: the card holds an unknown PUK", what);
      /* set-up verifies the PIN, changes the PUK, and the PIN last: a new PIN comes
       * with a new PUK (a new PUK with the old PIN is the one state between the two) */
      if (op == OP_SETUP && pin == 1 && puk != 1)
        g_error ("%s: new PIN with the old PUK", what);
      if (succeeded && puk != 1)
        g_error ("%s: reported success but the card kept the old PUK", what);
    }
  cardpin_test_card_remove (card);
}

static void
check_result (const char *result,
              const char *what)
{
  g_autofree char *domain = g_strdup_printf ("error %s ", g_quark_to_string (CARDPIN_ERROR));

  if (g_str_equal (result, "ok"))
    return;
  /* a clear error from cardpin's own domain, with a message */
  if (!g_str_has_prefix (result, domain) || strlen (result) < strlen (domain) + 4)
    g_error ("%s: unclear error: %s", what, result);
}

static void
test_op (gconstpointer data)
{
  Op op = GPOINTER_TO_UINT (data);
  g_autoptr(GError) error = NULL;
  g_autofree char *probe_state = NULL;
  g_autofree char *probe = NULL;
  Fixture f = { 0 };
  CardpinTestCard *card;
  guint base = 0, end = 0;
  guint n_cases = 0;

  f.stack = cardpin_test_stack_new (2, &error);
  g_assert_no_error (error);
  f.log_path = g_strdup_printf ("%s/card-0.log", cardpin_test_stack_get_dir (f.stack));

  /* templates: a fresh card, and the same card with its PIN blocked */
  f.templates[0] = g_build_filename (cardpin_test_stack_get_dir (f.stack), "fresh", NULL);
  f.templates[1] = g_build_filename (cardpin_test_stack_get_dir (f.stack), "blocked", NULL);
  {
    const char *args[] = { "--serial", SERIAL, "--admin-key", ADMIN_KEY,
                           "--key-alg", "eccp256", "--state", f.templates[0], NULL };

    card = cardpin_test_stack_insert (f.stack, 0, args, &error);
    g_assert_no_error (error);
    cardpin_test_card_remove (card);
    card = insert_copy (&f, f.templates[0], f.templates[1], NULL);
    for (guint i = 0; i < 3; i++)
      g_assert_false (ypt (&f, "verify-pin", "999999", NULL));
    g_assert_cmpint (pin_tries (&f), ==, 0);
    cardpin_test_card_remove (card);
  }

  /* probe: which APDUs does the operation send? */
  probe_state = g_build_filename (cardpin_test_stack_get_dir (f.stack), "probe", NULL);
  card = insert_copy (&f, f.templates[ops[op].blocked], probe_state, NULL);
  probe = run_child (&f, op, &base, &end);
  g_assert_cmpstr (probe, ==, "ok");
  g_assert_cmpuint (end, >, base);
  cardpin_test_card_remove (card);
  check_card (&f, op, probe_state, TRUE, "probe");

  for (guint k = base + 1; k <= end; k++)
    for (guint after = 0; after < 2; after++)
      {
        g_autofree char *state = g_strdup_printf ("%s/case-%u-%u",
                                                  cardpin_test_stack_get_dir (f.stack),
                                                  k, after);
        g_autofree char *drop = g_strdup_printf ("%u:%s", k, after ? "after" : "before");
        g_autofree char *what = g_strdup_printf ("%s, drop at APDU %u (%u of the operation) %s",
                                                 ops[op].name, k, k - base,
                                                 after ? "after applying" : "before applying");
        g_autofree char *result = NULL;
        guint case_base = 0, case_end = 0;

        card = insert_copy (&f, f.templates[ops[op].blocked], state, drop);
        result = run_child (&f, op, &case_base, &case_end);
        /* the same APDUs as in the probe up to the operation */
        g_assert_cmpuint (case_base, ==, base);
        g_assert_true (cardpin_test_card_wait_gone (card, 5000));
        check_result (result, what);
        check_card (&f, op, state, g_str_equal (result, "ok"), what);
        g_test_message ("%s: %s", what, result);
        n_cases++;
      }

  g_test_message ("%s: %u APDUs, %u fault cases, all consistent", ops[op].name,
                  end - base, n_cases);
  g_print ("# matrix %s: APDUs %u..%u of the card's life (%u), %u cases passed\n",
           ops[op].name, base + 1, end, end - base, n_cases);

  g_free (f.templates[0]);
  g_free (f.templates[1]);
  g_free (f.log_path);
  cardpin_test_stack_free (f.stack);
}

/* The line of @out that starts with @prefix, without it */
static char *
child_line (const char *out,
            const char *prefix)
{
  g_auto(GStrv) lines = g_strsplit (out, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], prefix))
      return g_strdup (lines[i] + strlen (prefix));
  g_error ("no “%s” in the child's output: %s", prefix, out);
}

static char *
run_io_child (Fixture *f)
{
  char *out = spawn_child (f, "the I/O error child", "--io-child", NULL);

  g_test_message ("%s", out);
  return out;
}

/* An I/O error never sends an operation down the PKCS#11 route: the token stays a PIV
 * card after a status read that broke off, and an operation whose first command gets a
 * garbled answer fails with that reason, the card unchanged; only a card that answers
 * that it has no PIV application goes to PKCS#11. */
static void
test_io_error (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *probe_state = NULL;
  g_autofree char *state = NULL;
  g_autofree char *probe = NULL;
  g_autofree char *out = NULL;
  g_autofree char *log = NULL;
  g_autofree char *garble = NULL;
  g_autofree char *base_text = NULL;
  g_autofree char *result = NULL;
  g_auto(GStrv) lines = NULL;
  Fixture f = { 0 };
  CardpinTestCard *card;
  guint base, n = 0, read_at = 0, change_at = 0, last_select = 0;
  guint selects_before_read = 0, selects_after_read = 0;

  f.stack = cardpin_test_stack_new (2, &error);
  g_assert_no_error (error);
  f.log_path = g_strdup_printf ("%s/card-0.log", cardpin_test_stack_get_dir (f.stack));
  f.templates[0] = g_build_filename (cardpin_test_stack_get_dir (f.stack), "fresh", NULL);
  {
    const char *fresh[] = { "--serial", SERIAL, "--state", f.templates[0], NULL };

    card = cardpin_test_stack_insert (f.stack, 0, fresh, &error);
    g_assert_no_error (error);
    cardpin_test_card_remove (card);
  }

  /* probe: where is the first command of the status read after the verify? */
  probe_state = g_build_filename (cardpin_test_stack_get_dir (f.stack), "probe", NULL);
  card = insert_copy (&f, f.templates[0], probe_state, NULL);
  probe = run_io_child (&f);
  g_assert_nonnull (strstr (probe, "verify ok\n"));
  g_assert_nonnull (strstr (probe, "change ok\n"));
  base_text = child_line (probe, "base ");
  base = (guint) g_ascii_strtoull (base_text, NULL, 10);
  g_assert_true (g_file_get_contents (f.log_path, &log, NULL, NULL));
  cardpin_test_card_remove (card);
  lines = g_strsplit (log, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (!g_str_has_prefix (lines[i], "vcard: "))
        continue;
      n++;
      if (n <= base)
        continue;
      /* the verify's commands (from its SELECT), its status read (from GET METADATA of
       * the PIN: PIV is still selected, so no SELECT that would end another program's
       * login), then the change (from its own SELECT, right before CHANGE REFERENCE
       * DATA) */
      if (g_str_has_prefix (lines[i], "vcard: 00 24 00 80"))
        {
          change_at = last_select;
          break;
        }
      if (read_at == 0 && g_str_has_prefix (lines[i], "vcard: 00 F7 00 80"))
        read_at = n;
      if (g_str_has_prefix (lines[i], "vcard: 00 A4 04 00"))
        {
          last_select = n;
          if (read_at != 0)
            selects_after_read++;
          else if (n > base + 1)
            selects_before_read++;
        }
    }
  g_assert_cmpuint (read_at, >, base + 1);
  /* the verify's SELECT and the change's own: the status read selected nothing */
  g_assert_cmpuint (selects_before_read, ==, 0);
  g_assert_cmpuint (selects_after_read, ==, 1);
  g_assert_cmpuint (change_at, ==, n - 1);
  g_assert_cmpuint (change_at, >, read_at);

  /* garble that command, and the change's first command: right after it, since the
   * read stops at its first command */
  garble = g_strdup_printf ("%u,%u", read_at, read_at + 1);
  state = g_build_filename (cardpin_test_stack_get_dir (f.stack), "garbled", NULL);
  {
    g_autofree char *contents = NULL;
    gsize len;
    const char *garble_args[] = { "-v", "--state", state, "--garble", garble, NULL };

    g_assert_true (g_file_get_contents (f.templates[0], &contents, &len, NULL));
    g_assert_true (g_file_set_contents (state, contents, (gssize) len, NULL));
    g_assert_true (g_file_set_contents (f.log_path, "", 0, NULL));
    card = cardpin_test_stack_insert (f.stack, 0, garble_args, &error);
    g_assert_no_error (error);
  }
  out = run_io_child (&f);

  /* the verify itself worked; its status read broke off: still a PIV card */
  g_assert_nonnull (strstr (out, "verify ok\n"));
  g_assert_nonnull (strstr (out, "piv 1\n"));
  /* the change failed with the reason, over PC/SC, not through PKCS#11 */
  result = child_line (out, "change ");
  g_test_message ("change with a garbled first answer: %s", result);
  {
    g_autofree char *expected = g_strdup_printf ("error %s %d ",
                                                 g_quark_to_string (CARDPIN_ERROR),
                                                 CARDPIN_ERROR_CARD_ERROR);

    g_assert_true (g_str_has_prefix (result, expected));
  }
  g_assert_nonnull (strstr (result, "malformed answer"));
  /* nothing had changed: the old PIN still changes to the new one */
  g_assert_nonnull (strstr (out, "retry ok\n"));
  cardpin_test_card_remove (card);

  card = insert_copy (&f, NULL, state, NULL);
  g_assert_true (ypt (&f, "verify-pin", NEW_PIN, NULL));
  cardpin_test_card_remove (card);

  g_free (f.templates[0]);
  g_free (f.log_path);
  cardpin_test_stack_free (f.stack);
}

int
main (int   argc,
      char *argv[])
{
  self_path = argv[0];
  if (argc == 3 && g_str_equal (argv[1], "--fault-child"))
    return child_main (argv[2]);
  if (argc == 2 && g_str_equal (argv[1], "--io-child"))
    return io_child_main ();

  cardpin_test_init (&argc, &argv);

  for (guint i = 0; i < N_OPS; i++)
    {
      g_autofree char *path = g_strdup_printf ("/cardpin/faults/%s", ops[i].name);

      g_test_add_data_func (path, GUINT_TO_POINTER (i), test_op);
    }
  g_test_add_func ("/cardpin/faults/io-error-no-fallback", test_io_error);
  return g_test_run ();
}
