/* cardpin-manager.c — finds PKCS#11 tokens and watches readers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>
#include <PCSC/pcsclite.h>

#include "cardpin-error.h"
#include "cardpin-manager.h"
#include "cardpin-p11.h"
#include "cardpin-pcsc.h"
#include "cardpin-token-private.h"

/**
 * CardpinManager:
 *
 * Finds PKCS#11 tokens (every module registered with p11-kit, or an explicit list),
 * matches each to its PC/SC reader, and keeps the list current while watching: a worker
 * thread waits in SCardGetStatusChange() and, on any reader or card change, enumerates
 * again and hands the result to the main context, where tokens are added, updated and
 * removed. Implements #GListModel of #CardpinToken.
 */

/* The PKCS#11 modules, loaded on first need (never, for PIV cards read over PC/SC
 * alone); shared by the manager and its watch thread */
typedef struct {
  gatomicrefcount     ref_count;
  GMutex              mutex;
  char              **paths;         /* %NULL: every registered module */
  CardpinP11Modules  *modules;
} Modules;

/* The manager as the watch thread's results find it: a weak reference that only the
 * manager's main context reads, shared with the results on their way there. The watch
 * thread never holds the manager itself: were its reference the last one, the manager
 * would be disposed in that thread, and cardpin_manager_stop_watching() would join the
 * thread from itself (GLib aborts: "Resource deadlock avoided", seen in test-window). */
typedef struct {
  GWeakRef ref;
} ManagerRef;

static void
manager_ref_clear (gpointer data)
{
  ManagerRef *manager = data;

  g_weak_ref_clear (&manager->ref);
}

typedef struct {
  GMutex              mutex;
  GCond               cond;
  SCARDCONTEXT        context;       /* valid while the thread waits in PC/SC */
  gboolean            have_context;
  gboolean            stop;
  /* pcscd could not be reached: enumerate again once it can */
  gboolean            service_lost;
  Modules            *modules;
  CardpinManagerFlags flags;
  GMainContext       *main_context;
  ManagerRef         *manager;       /* atomic rc box */
  /* a card was there but could not be read (another program had it, it was being reset):
   * read again this many more times, one sample apart (watch thread only) */
  guint               retries;
} Watch;

struct _CardpinManager {
  GObject             parent_instance;

  Modules            *modules;
  CardpinManagerFlags flags;
  GPtrArray          *tokens;
  /* reader -> pcsc-lite's count of card insertions and removals there when its card was
   * last read (GUINT_TO_POINTER): what tells the card that cannot be read now from the
   * one its token came from (apply()) */
  GHashTable         *card_events;

  Watch              *watch;
  GThread            *watch_thread;

  GError             *pcsc_error;   /* pcscd unreachable at the last enumeration */
};

static void cardpin_manager_list_model_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CardpinManager, cardpin_manager, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL,
                                                      cardpin_manager_list_model_init))

enum {
  TOKEN_ADDED,
  TOKEN_REMOVED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* Helpers */

static Modules *
modules_new (const char * const *paths)
{
  Modules *modules = g_new0 (Modules, 1);

  g_atomic_ref_count_init (&modules->ref_count);
  g_mutex_init (&modules->mutex);
  modules->paths = g_strdupv ((char **) paths);
  return modules;
}

static Modules *
modules_ref (Modules *modules)
{
  g_atomic_ref_count_inc (&modules->ref_count);
  return modules;
}

static void
modules_unref (Modules *modules)
{
  if (modules == NULL || !g_atomic_ref_count_dec (&modules->ref_count))
    return;
  g_clear_pointer (&modules->modules, cardpin_p11_modules_unref);
  g_strfreev (modules->paths);
  g_mutex_clear (&modules->mutex);
  g_free (modules);
}

/* Loads the modules on first call. Returns: (transfer full): the module set, or %NULL */
static CardpinP11Modules *
modules_get (Modules  *modules,
             GError  **error)
{
  CardpinP11Modules *loaded = NULL;

  g_mutex_lock (&modules->mutex);
  if (modules->modules == NULL)
    {
      g_debug ("Loading the PKCS#11 modules");
      modules->modules = cardpin_p11_modules_load ((const char * const *) modules->paths,
                                                   error);
    }
  if (modules->modules != NULL)
    loaded = cardpin_p11_modules_ref (modules->modules);
  g_mutex_unlock (&modules->mutex);
  return loaded;
}

/* The reader of @slot, when it is one of @readers */
static const char *
slot_reader (CK_FUNCTION_LIST   *funcs,
             CK_SLOT_ID          slot,
             const char * const *readers)
{
  g_autofree char *description = NULL;
  CK_SLOT_INFO slot_info;

  if (funcs->C_GetSlotInfo (slot, &slot_info) != CKR_OK)
    return NULL;
  description = cardpin_p11_string (slot_info.slotDescription,
                                    sizeof slot_info.slotDescription);
  return _cardpin_match_reader (description, readers);
}

/* The readers, or an empty list; @pcsc_error_out: why pcscd could not be reached */
static char **
list_readers (GError **pcsc_error_out)
{
  g_autoptr(GError) pcsc_error = NULL;
  SCARDCONTEXT context = 0;
  char **readers = NULL;

  if (cardpin_pcsc_establish (&context, &pcsc_error))
    {
      readers = cardpin_pcsc_list_readers (context, &pcsc_error);
      SCardReleaseContext (context);
    }
  if (pcsc_error != NULL)
    g_debug ("PC/SC readers: %s", pcsc_error->message);
  if (g_error_matches (pcsc_error, CARDPIN_ERROR, CARDPIN_ERROR_PCSC_UNAVAILABLE))
    g_propagate_error (pcsc_error_out, g_steal_pointer (&pcsc_error));
  if (readers == NULL)
    readers = g_new0 (char *, 1);
  return readers;
}

/* Lists every token of every module. Blocking.
 *
 * @strict: a read that breaks off (pcscd gone, a card pulled or failing in the middle) is
 * an error, never a shorter list or a token with half its state: what a caller that
 * reports the state (cardpin-tool status, the first load) needs. Without it (the
 * background watch, which reads again at the next change) such tokens are logged and
 * skipped.
 * @only_readers: (nullable): list only the tokens in these readers (no software token)
 * @pcsc_error_out: why PC/SC could not be reached (pcscd not running), or %NULL */
static gboolean
enumerate_p11 (CardpinP11Modules   *modules,
               const char * const  *only_readers,
               gboolean             strict,
               GPtrArray           *infos,
               GError             **pcsc_error_out,
               GCancellable        *cancellable,
               GError             **error)
{
  g_auto(GStrv) readers = NULL;
  guint m;

  readers = list_readers (pcsc_error_out);

  for (m = 0; m < cardpin_p11_modules_get_n (modules); m++)
    {
      CK_FUNCTION_LIST *funcs = cardpin_p11_modules_get (modules, m);
      g_autofree CK_SLOT_ID *slots = NULL;
      CK_ULONG n_slots = 0;
      CK_ULONG i;
      CK_RV rv;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;

      /* OpenSC notices new readers and cards on a full slot listing */
      rv = funcs->C_GetSlotList (CK_FALSE, NULL, &n_slots);
      if (rv != CKR_OK)
        g_debug ("%s: C_GetSlotList(FALSE): %lu", cardpin_p11_modules_get_name (modules, m),
                 (gulong) rv);

      n_slots = 0;
      rv = funcs->C_GetSlotList (CK_TRUE, NULL, &n_slots);
      if (rv == CKR_OK && n_slots > 0)
        {
          slots = g_new0 (CK_SLOT_ID, n_slots);
          rv = funcs->C_GetSlotList (CK_TRUE, slots, &n_slots);
        }
      if (rv != CKR_OK)
        {
          if (strict)
            {
              cardpin_p11_set_error (error, rv, "C_GetSlotList");
              return FALSE;
            }
          g_debug ("%s: C_GetSlotList(TRUE): %lu", cardpin_p11_modules_get_name (modules, m),
                   (gulong) rv);
          continue;
        }

      for (i = 0; i < n_slots; i++)
        {
          g_autoptr(GError) token_error = NULL;
          CardpinTokenInfo *info;

          if (only_readers != NULL && slot_reader (funcs, slots[i], only_readers) == NULL)
            continue;

          info = _cardpin_token_info_read (modules, m, slots[i],
                                           (const char * const *) readers, strict,
                                           cancellable, &token_error);
          if (info == NULL)
            {
              if (strict || g_error_matches (token_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                {
                  g_propagate_error (error, g_steal_pointer (&token_error));
                  return FALSE;
                }
              g_debug ("Slot %lu: %s", (gulong) slots[i], token_error->message);
              continue;
            }
          /* a software token's spare slot (SoftHSM keeps one free) is no token yet */
          if (!info->hardware && !(info->flags & CKF_TOKEN_INITIALIZED))
            {
              _cardpin_token_info_free (info);
              continue;
            }
          g_ptr_array_add (infos, info);
        }
    }

  g_debug ("Enumerated %u token(s) in %u reader(s)", infos->len, g_strv_length (readers));
  return TRUE;
}

/* The cards in the readers, PIV ones over PC/SC alone (see #CardpinManagerFlags).
 * @strict, @pcsc_error_out as for enumerate_p11(); @unreadable, @events as for
 * enumerate(). */
static gboolean
enumerate_pcsc (Modules             *modules,
                CardpinManagerFlags  flags,
                gboolean             strict,
                GPtrArray           *infos,
                GPtrArray           *unreadable,
                GHashTable          *events,
                GError             **pcsc_error_out,
                GCancellable        *cancellable,
                GError             **error)
{
  g_autoptr(GStrvBuilder) other = g_strv_builder_new ();
  g_autoptr(GError) local_error = NULL;
  g_auto(GStrv) readers = NULL;
  g_auto(GStrv) present = NULL;
  g_auto(GStrv) other_readers = NULL;
  g_autofree guint *counts = NULL;
  g_autoptr(CardpinP11Modules) loaded = NULL;
  guint i;

  if (!cardpin_pcsc_readers_with_card (&readers, &present, &counts, pcsc_error_out,
                                       &local_error))
    {
      if (strict)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      g_debug ("PC/SC: %s", local_error->message);
      return TRUE;
    }

  for (i = 0; present[i] != NULL; i++)
    {
      g_autoptr(GError) card_error = NULL;
      CardpinTokenInfo *info;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;

      /* counted before the read: a card swapped during it shows at the next one */
      g_hash_table_insert (events, g_strdup (present[i]), GUINT_TO_POINTER (counts[i]));
      info = _cardpin_token_info_read_pcsc (present[i], cancellable, &card_error);
      if (info == NULL)
        {
          if (strict || g_error_matches (card_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            {
              g_propagate_error (error, g_steal_pointer (&card_error));
              return FALSE;
            }
          g_debug ("Reading the card in “%s”: %s", present[i], card_error->message);
          if (unreadable != NULL)
            g_ptr_array_add (unreadable, g_strdup (present[i]));
          continue;
        }
      /* a PIV card stays on PC/SC, on a PIN pad reader too: core drives the keypad
       * (cardpin-pinpad.c), and the token says so (cardpin_token_has_pinpad()) */
      if (info->is_piv)
        {
          g_ptr_array_add (infos, info);
          continue;
        }

      g_debug ("The card in “%s” has no PIV application", present[i]);
      _cardpin_token_info_free (info);
      if (!(flags & CARDPIN_MANAGER_FLAGS_PCSC_ONLY))
        g_strv_builder_add (other, present[i]);
    }

  /* the cards without PIV: through PKCS#11, whose modules are loaded now */
  other_readers = g_strv_builder_end (g_steal_pointer (&other));
  g_debug ("Read %u PIV card(s) of %u reader(s) over PC/SC; %u card(s) for PKCS#11",
           infos->len, g_strv_length (readers), g_strv_length (other_readers));
  if (other_readers[0] == NULL)
    return TRUE;
  loaded = modules_get (modules, error);
  if (loaded == NULL)
    return FALSE;
  return enumerate_p11 (loaded, (const char * const *) other_readers, strict, infos, NULL,
                        cancellable, error);
}

/* Lists the tokens as @flags say. Blocking. When not @strict, the readers whose card is
 * there but could not be read this time are added to @unreadable (if not %NULL): a card
 * another program holds, or one being reset, is not a removed card. With PC/SC
 * (%CARDPIN_MANAGER_FLAGS_PCSC_FIRST, _ONLY) each reader with a card goes into @events
 * (reader -> GUINT_TO_POINTER), with pcsc-lite's count of insertions and removals there
 * just before its card was read. */
static GPtrArray *
enumerate (Modules             *modules,
           CardpinManagerFlags  flags,
           gboolean             strict,
           GPtrArray           *unreadable,
           GHashTable          *events,
           GError             **pcsc_error_out,
           GCancellable        *cancellable,
           GError             **error)
{
  g_autoptr(GPtrArray) infos = g_ptr_array_new_with_free_func ((GDestroyNotify) _cardpin_token_info_free);
  g_autoptr(CardpinP11Modules) loaded = NULL;
  gboolean ok;

  if (flags & (CARDPIN_MANAGER_FLAGS_PCSC_FIRST | CARDPIN_MANAGER_FLAGS_PCSC_ONLY))
    {
      ok = enumerate_pcsc (modules, flags, strict, infos, unreadable, events,
                           pcsc_error_out, cancellable, error);
    }
  else
    {
      loaded = modules_get (modules, error);
      ok = loaded != NULL &&
           enumerate_p11 (loaded, NULL, strict, infos, pcsc_error_out, cancellable, error);
    }
  if (!ok)
    return NULL;
  return g_steal_pointer (&infos);
}

static CardpinTokenInfo *
take_info (GPtrArray  *infos,
           const char *key)
{
  guint i;

  for (i = 0; i < infos->len; i++)
    {
      CardpinTokenInfo *info = g_ptr_array_index (infos, i);

      if (info != NULL && g_str_equal (info->key, key))
        {
          infos->pdata[i] = NULL;
          return info;
        }
    }
  return NULL;
}

/* reader -> count, as enumerate() fills and the manager keeps them */
static GHashTable *
card_events_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

/* Whether the card in @reader, in @unreadable, is still the one its token was read from.
 * pcsc-lite counts every insertion and removal in a reader, so a card pulled and another
 * put in between two reads, even within one wait of the watch, moved the count (and so
 * did the same card pulled and put in again: it is read again like a new one). A reader
 * with no count of a read (PKCS#11 alone, pcscd gone at the last enumeration) proves
 * nothing: not the same card. */
static gboolean
same_card (CardpinManager *self,
           GPtrArray      *unreadable,
           GHashTable     *events,
           const char     *reader)
{
  gpointer read_at;
  gpointer now;

  return unreadable != NULL && reader != NULL &&
         g_ptr_array_find_with_equal_func (unreadable, reader, g_str_equal, NULL) &&
         g_hash_table_lookup_extended (self->card_events, reader, NULL, &read_at) &&
         g_hash_table_lookup_extended (events, reader, NULL, &now) && read_at == now;
}

/* Takes a full enumeration: updates known tokens, removes gone ones, adds new ones. A
 * token in a reader of @unreadable (its card is there, but could not be read this time)
 * stays as it was while that card is the one it was read from (same_card()): the card
 * was not removed. Another card there is: the token of the card that went must not show
 * as the new one's, which comes once the new card is read. @events (enumerate()) becomes
 * what the next enumeration is compared with. */
static void
apply (CardpinManager *self,
       GPtrArray      *infos,
       GPtrArray      *unreadable,
       GHashTable     *events,
       const GError   *pcsc_error)
{
  guint i;

  g_clear_error (&self->pcsc_error);
  if (pcsc_error != NULL)
    self->pcsc_error = g_error_copy (pcsc_error);

  for (i = self->tokens->len; i > 0; i--)
    {
      CardpinToken *token = g_ptr_array_index (self->tokens, i - 1);
      g_autoptr(CardpinTokenInfo) info = take_info (infos, _cardpin_token_get_key (token));

      if (info != NULL)
        {
          _cardpin_token_update (token, info);
        }
      else if (same_card (self, unreadable, events, cardpin_token_get_reader (token)))
        {
          g_debug ("Keeping the token in “%s”: its card could not be read now",
                   cardpin_token_get_reader (token));
        }
      else
        {
          g_autoptr(CardpinToken) removed = g_ptr_array_steal_index (self->tokens, i - 1);

          g_list_model_items_changed (G_LIST_MODEL (self), i - 1, 1, 0);
          g_signal_emit (self, signals[TOKEN_REMOVED], 0, removed);
        }
    }

  for (i = 0; i < infos->len; i++)
    {
      CardpinTokenInfo *info = g_ptr_array_index (infos, i);
      CardpinToken *token;

      if (info == NULL)
        continue;

      token = _cardpin_token_new (info->from_pcsc ? NULL : self->modules->modules, info);
      if (info->from_pcsc)
        _cardpin_token_set_p11_paths (token, (const char * const *) self->modules->paths);
      g_ptr_array_add (self->tokens, token);
      g_list_model_items_changed (G_LIST_MODEL (self), self->tokens->len - 1, 0, 1);
      g_signal_emit (self, signals[TOKEN_ADDED], 0, token);
    }

  /* a card that could not be read keeps the count it was read at only while it is the
   * same card; then it has none until it is read */
  for (i = 0; unreadable != NULL && i < unreadable->len; i++)
    {
      const char *reader = g_ptr_array_index (unreadable, i);

      if (!same_card (self, unreadable, events, reader))
        g_hash_table_remove (events, reader);
    }
  g_hash_table_unref (self->card_events);
  self->card_events = g_hash_table_ref (events);
}

/* The strict enumeration of the first load and of cardpin_manager_refresh(). Every card
 * it lists was read, over PC/SC with its reader's count (enumerate()): so the watch,
 * which starts after the first load, knows from the start which card each token came
 * from, a card swapped before its first enumeration too. Blocking. */
static gboolean
load (CardpinManager  *self,
      GCancellable    *cancellable,
      GError         **error)
{
  g_autoptr(GPtrArray) infos = NULL;
  g_autoptr(GHashTable) events = card_events_new ();
  g_autoptr(GError) pcsc_error = NULL;

  infos = enumerate (self->modules, self->flags, TRUE, NULL, events, &pcsc_error,
                     cancellable, error);
  if (infos == NULL)
    return FALSE;
  apply (self, infos, NULL, events, pcsc_error);
  return TRUE;
}

/* Watching */

typedef struct {
  ManagerRef *manager;
  GPtrArray  *infos;
  GPtrArray  *unreadable;   /* of reader names */
  GHashTable *events;
  GError     *pcsc_error;
} Result;

static void
result_free (gpointer data)
{
  Result *result = data;

  g_atomic_rc_box_release_full (result->manager, manager_ref_clear);
  g_ptr_array_unref (result->infos);
  g_ptr_array_unref (result->unreadable);
  g_hash_table_unref (result->events);
  g_clear_error (&result->pcsc_error);
  g_free (result);
}

static gboolean
apply_result_cb (gpointer data)
{
  Result *result = data;
  g_autoptr(CardpinManager) self = g_weak_ref_get (&result->manager->ref);

  if (self != NULL && self->watch != NULL)
    apply (self, result->infos, result->unreadable, result->events, result->pcsc_error);
  return G_SOURCE_REMOVE;
}

static void
watch_free (Watch *watch)
{
  g_mutex_clear (&watch->mutex);
  g_cond_clear (&watch->cond);
  g_clear_pointer (&watch->modules, modules_unref);
  g_clear_pointer (&watch->main_context, g_main_context_unref);
  g_atomic_rc_box_release_full (watch->manager, manager_ref_clear);
  g_free (watch);
}

static gboolean
watch_should_stop (Watch *watch)
{
  gboolean stop;

  g_mutex_lock (&watch->mutex);
  stop = watch->stop;
  g_mutex_unlock (&watch->mutex);
  return stop;
}

/* Sleeps up to @ms unless asked to stop; returns whether to stop. */
static gboolean
watch_sleep (Watch *watch,
             guint  ms)
{
  gint64 end = g_get_monotonic_time () + ms * G_TIME_SPAN_MILLISECOND;
  gboolean stop;

  g_mutex_lock (&watch->mutex);
  while (!watch->stop && g_cond_wait_until (&watch->cond, &watch->mutex, end))
    ;
  stop = watch->stop;
  g_mutex_unlock (&watch->mutex);
  return stop;
}

/* How many times a card that is there but could not be read is read again, one
 * WATCH_SAMPLE_MS apart: about a second in all */
#define WATCH_RETRIES 10

/* Enumerates and posts the result to the manager. A card that could not be read is read
 * again WATCH_RETRIES times (@retry: this is one of those, which does not start the
 * count again), so its token is refreshed once it answers. */
static void
watch_post (Watch    *watch,
            gboolean  retry)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) pcsc_error = NULL;
  g_autoptr(GPtrArray) unreadable = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) events = card_events_new ();
  GPtrArray *infos;
  Result *result;
  GSource *source;

  infos = enumerate (watch->modules, watch->flags, FALSE, unreadable, events, &pcsc_error,
                     NULL, &error);
  if (infos == NULL)
    {
      g_debug ("Enumerating tokens: %s", error->message);
      return;
    }
  g_debug ("Watch: %u tokens, %u card(s) not readable now", infos->len, unreadable->len);
  if (unreadable->len == 0)
    watch->retries = 0;
  else if (!retry)
    watch->retries = WATCH_RETRIES;

  result = g_new0 (Result, 1);
  result->manager = g_atomic_rc_box_acquire (watch->manager);
  result->infos = infos;
  result->unreadable = g_steal_pointer (&unreadable);
  result->events = g_steal_pointer (&events);
  result->pcsc_error = g_steal_pointer (&pcsc_error);
  /* always in the thread that runs the manager's context: g_main_context_invoke() would
   * run it right here whenever no thread owns that context at the moment (a caller
   * between two iterations of its own loop), and the manager's signals would reach its
   * callers, GTK widgets among them, in this thread */
  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, apply_result_cb, result, result_free);
  g_source_set_static_name (source, "[cardpin] token changes");
  g_source_attach (source, watch->main_context);
  g_source_unref (source);
}

static SCARD_READERSTATE *
build_states (char               **readers,
              SCARD_READERSTATE   *old_states,
              DWORD                n_old,
              DWORD               *n_states)
{
  guint n = g_strv_length (readers);
  SCARD_READERSTATE *states = g_new0 (SCARD_READERSTATE, n + 1);
  guint i;
  DWORD j;

  for (i = 0; i < n; i++)
    {
      states[i].szReader = g_strdup (readers[i]);
      states[i].dwCurrentState = SCARD_STATE_UNAWARE;
      for (j = 0; j < n_old; j++)
        if (g_str_equal (old_states[j].szReader, readers[i]))
          states[i].dwCurrentState = old_states[j].dwEventState & ~SCARD_STATE_CHANGED;
    }

  states[n].szReader = g_strdup (CARDPIN_PCSC_PNP_NOTIFICATION);
  states[n].dwCurrentState = SCARD_STATE_UNAWARE;
  for (j = 0; j < n_old; j++)
    if (g_str_equal (old_states[j].szReader, CARDPIN_PCSC_PNP_NOTIFICATION))
      states[n].dwCurrentState = old_states[j].dwEventState & ~SCARD_STATE_CHANGED;

  *n_states = n + 1;
  return states;
}

static void
free_states (SCARD_READERSTATE *states,
             DWORD              n_states)
{
  DWORD i;

  for (i = 0; i < n_states; i++)
    g_free ((char *) states[i].szReader);
  g_free (states);
}

#define WATCH_TIMEOUT_MS 2000

/* While a card is in a reader, how often the wait starts again to see whether another
 * program uses the card. pcsc-lite wakes a wait when a reader goes from in use
 * (SCARD_STATE_INUSE or _EXCLUSIVE) to free, but only if the caller's current state said
 * "in use": going from free to in use never ends a wait. So the wait is re-armed at this
 * interval, which asks pcscd for the readers' state (the card is never touched), and a
 * card seen in use by another program is read again as soon as it is free. A use that
 * starts and ends between two of these may go unseen: at 100 ms, yubico-piv-tool's
 * verify-pin on a card answering in 20 ms per command (about 110 ms) is seen every time;
 * idle, this costs the app about 1 % of a core and pcscd 0.2 % while a card is in. */
#define WATCH_SAMPLE_MS 100

/* Presence and identity of cards and readers. pcsc-lite counts card insertions and
 * removals in the high 16 bits: a card swapped between two waits changes the count. */
#define WATCHED_STATE (SCARD_STATE_PRESENT | SCARD_STATE_EMPTY | SCARD_STATE_MUTE | \
                       SCARD_STATE_UNAVAILABLE | SCARD_STATE_UNKNOWN | 0xFFFF0000)
#define IN_USE (SCARD_STATE_INUSE | SCARD_STATE_EXCLUSIVE)

/* Whether a card in one of the readers of @states can be used by another program */
static gboolean
any_card (const SCARD_READERSTATE *states,
          DWORD                    n_states)
{
  for (DWORD i = 0; i < n_states; i++)
    if (!g_str_equal (states[i].szReader, CARDPIN_PCSC_PNP_NOTIFICATION) &&
        (states[i].dwCurrentState & SCARD_STATE_PRESENT))
      return TRUE;
  return FALSE;
}

/* Another program was using the card in reader @i and has just released it: its PIN
 * state may have changed. Not when this process connected or disconnected meanwhile
 * (@own_uses: its count before the wait): that was cardpin's own read, which must not
 * start another one. */
static gboolean
released_by_other (const SCARD_READERSTATE *state,
                   guint                    own_uses)
{
  if (g_str_equal (state->szReader, CARDPIN_PCSC_PNP_NOTIFICATION) ||
      !(state->dwCurrentState & IN_USE) || (state->dwEventState & IN_USE) ||
      !(state->dwEventState & SCARD_STATE_PRESENT))
    return FALSE;
  if (cardpin_pcsc_get_own_uses (state->szReader) != own_uses)
    {
      g_debug ("Reader “%s”: free again after cardpin's own use", state->szReader);
      return FALSE;
    }
  g_debug ("Reader “%s”: another program released the card: reading it again",
           state->szReader);
  return TRUE;
}

static gpointer
watch_thread (gpointer data)
{
  Watch *watch = data;
  SCARD_READERSTATE *states = NULL;
  g_autofree guint *own_uses = NULL;
  DWORD n_states = 0;
  gboolean first = TRUE;

  while (!watch_should_stop (watch))
    {
      g_autoptr(GError) error = NULL;
      g_auto(GStrv) readers = NULL;
      SCARD_READERSTATE *new_states;
      gboolean changed = FALSE;
      DWORD i;
      LONG rv;

      g_mutex_lock (&watch->mutex);
      if (!watch->have_context && !watch->stop)
        {
          rv = SCardEstablishContext (SCARD_SCOPE_SYSTEM, NULL, NULL, &watch->context);
          watch->have_context = rv == SCARD_S_SUCCESS;
        }
      g_mutex_unlock (&watch->mutex);

      if (!watch->have_context)
        {
          watch->service_lost = TRUE;
          if (watch_sleep (watch, 1000))
            break;
          continue;
        }

      /* pcscd is back (or came up after the first enumeration): its readers and cards
       * are all news */
      if (watch->service_lost)
        {
          watch->service_lost = FALSE;
          watch_post (watch, FALSE);
        }

      readers = cardpin_pcsc_list_readers (watch->context, &error);
      if (readers == NULL)
        {
          g_debug ("Watching: %s", error->message);
          watch->service_lost = TRUE;
          g_mutex_lock (&watch->mutex);
          SCardReleaseContext (watch->context);
          watch->have_context = FALSE;
          g_mutex_unlock (&watch->mutex);
          if (watch_sleep (watch, 1000))
            break;
          continue;
        }

      new_states = build_states (readers, states, n_states, &i);
      /* a reader that appeared or vanished is a change */
      if (!first && i != n_states)
        changed = TRUE;
      free_states (states, n_states);
      states = new_states;
      n_states = i;

      if (changed)
        watch_post (watch, FALSE);

      g_free (own_uses);
      own_uses = g_new0 (guint, n_states);
      for (i = 0; i < n_states; i++)
        own_uses[i] = cardpin_pcsc_get_own_uses (states[i].szReader);

      /* SCardCancel() wakes the wait; the timeout covers a cancel that raced ahead of it,
       * and with a card, samples whether another program uses it (WATCH_SAMPLE_MS) */
      rv = SCardGetStatusChange (watch->context,
                                 !first && any_card (states, n_states) ? WATCH_SAMPLE_MS
                                                                       : WATCH_TIMEOUT_MS,
                                 states, n_states);
      if (rv == SCARD_E_CANCELLED)
        continue;
      if (rv == SCARD_E_TIMEOUT)
        {
          /* nothing that ends a wait, but a card may have gone in use: the next wait
           * starts from that, so that its release ends it */
          for (i = 0; i < n_states; i++)
            if (states[i].dwEventState != 0)
              states[i].dwCurrentState = states[i].dwEventState & ~SCARD_STATE_CHANGED;
          /* a card that could not be read: again, a few times (whoever had it may let
           * it go without a state change: a reset, a transaction) */
          if (watch->retries > 0)
            {
              watch->retries--;
              watch_post (watch, TRUE);
            }
          continue;
        }
      if (rv != SCARD_S_SUCCESS)
        {
          g_debug ("SCardGetStatusChange: %s", pcsc_stringify_error (rv));
          g_mutex_lock (&watch->mutex);
          SCardReleaseContext (watch->context);
          watch->have_context = FALSE;
          g_mutex_unlock (&watch->mutex);
          if (watch_sleep (watch, 500))
            break;
          /* the service may have restarted: look again */
          watch_post (watch, FALSE);
          continue;
        }

      changed = FALSE;
      for (i = 0; i < n_states; i++)
        {
          DWORD before = states[i].dwCurrentState;
          DWORD after = states[i].dwEventState;

          if (!(after & SCARD_STATE_CHANGED))
            continue;
          g_debug ("Reader “%s”: state %lx -> %lx", states[i].szReader, (gulong) before,
                   (gulong) after);
          /* a reader seen for the first time: a change only if it came with a card */
          if (before == SCARD_STATE_UNAWARE)
            {
              if (!first && (after & SCARD_STATE_PRESENT))
                changed = TRUE;
              continue;
            }
          if (g_str_equal (states[i].szReader, CARDPIN_PCSC_PNP_NOTIFICATION) ||
              (before & WATCHED_STATE) != (after & WATCHED_STATE) ||
              released_by_other (&states[i], own_uses[i]))
            changed = TRUE;
        }

      /* next round waits for changes from what was just seen */
      for (i = 0; i < n_states; i++)
        states[i].dwCurrentState = states[i].dwEventState & ~SCARD_STATE_CHANGED;

      if (changed)
        watch_post (watch, FALSE);
      first = FALSE;
    }

  free_states (states, n_states);
  g_mutex_lock (&watch->mutex);
  if (watch->have_context)
    SCardReleaseContext (watch->context);
  watch->have_context = FALSE;
  g_mutex_unlock (&watch->mutex);

  return NULL;
}

/* GListModel */

static GType
cardpin_manager_get_item_type (GListModel *model)
{
  return CARDPIN_TYPE_TOKEN;
}

static guint
cardpin_manager_get_n_items (GListModel *model)
{
  return CARDPIN_MANAGER (model)->tokens->len;
}

static gpointer
cardpin_manager_get_item (GListModel *model,
                          guint       position)
{
  CardpinManager *self = CARDPIN_MANAGER (model);

  if (position >= self->tokens->len)
    return NULL;
  return g_object_ref (g_ptr_array_index (self->tokens, position));
}

static void
cardpin_manager_list_model_init (GListModelInterface *iface)
{
  iface->get_item_type = cardpin_manager_get_item_type;
  iface->get_n_items = cardpin_manager_get_n_items;
  iface->get_item = cardpin_manager_get_item;
}

/* Overrides */

static void
cardpin_manager_dispose (GObject *object)
{
  CardpinManager *self = CARDPIN_MANAGER (object);

  cardpin_manager_stop_watching (self);
  if (self->tokens != NULL)
    g_ptr_array_set_size (self->tokens, 0);

  G_OBJECT_CLASS (cardpin_manager_parent_class)->dispose (object);
}

static void
cardpin_manager_finalize (GObject *object)
{
  CardpinManager *self = CARDPIN_MANAGER (object);

  g_clear_pointer (&self->tokens, g_ptr_array_unref);
  g_clear_pointer (&self->card_events, g_hash_table_unref);
  g_clear_pointer (&self->modules, modules_unref);
  g_clear_error (&self->pcsc_error);

  G_OBJECT_CLASS (cardpin_manager_parent_class)->finalize (object);
}

static void
cardpin_manager_class_init (CardpinManagerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cardpin_manager_dispose;
  object_class->finalize = cardpin_manager_finalize;

  /**
   * CardpinManager::token-added:
   * @self: the manager
   * @token: the new token
   *
   * A token appeared (a card was inserted, or found on a new reader).
   */
  signals[TOKEN_ADDED] = g_signal_new ("token-added", G_TYPE_FROM_CLASS (klass),
                                       G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                       G_TYPE_NONE, 1, CARDPIN_TYPE_TOKEN);
  /**
   * CardpinManager::token-removed:
   * @self: the manager
   * @token: the token that went away
   *
   * A token went away (its card was removed).
   */
  signals[TOKEN_REMOVED] = g_signal_new ("token-removed", G_TYPE_FROM_CLASS (klass),
                                         G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                         G_TYPE_NONE, 1, CARDPIN_TYPE_TOKEN);
}

static void
cardpin_manager_init (CardpinManager *self)
{
  self->tokens = g_ptr_array_new_with_free_func (g_object_unref);
  self->card_events = card_events_new ();
}

/* Public API */

/**
 * cardpin_manager_new:
 * @modules: (nullable) (array zero-terminated=1): %NULL for every module registered with
 *   p11-kit, or module paths
 * @cancellable: (nullable): a #GCancellable
 * @error: return location
 *
 * Loads the modules and enumerates their tokens: cardpin_manager_new_full() with
 * %CARDPIN_MANAGER_FLAGS_NONE. Blocking.
 *
 * Returns: (transfer full): a new manager, or %NULL
 */
CardpinManager *
cardpin_manager_new (const char * const  *modules,
                     GCancellable        *cancellable,
                     GError             **error)
{
  return cardpin_manager_new_full (modules, CARDPIN_MANAGER_FLAGS_NONE, cancellable, error);
}

/**
 * cardpin_manager_new_full:
 * @modules: (nullable) (array zero-terminated=1): %NULL for every module registered with
 *   p11-kit, or module paths: what is loaded when a token needs PKCS#11
 * @flags: how tokens are found and read
 * @cancellable: (nullable): a #GCancellable
 * @error: return location
 *
 * Enumerates the tokens as @flags say. With %CARDPIN_MANAGER_FLAGS_PCSC_FIRST or
 * %CARDPIN_MANAGER_FLAGS_PCSC_ONLY each PIV card in a reader is read over PC/SC alone
 * (SELECT, the PIN's and the PUK's counters, the CHUID for the serial and the holder's
 * certificate for the label) and no PKCS#11 module is loaded for it; its token has no
 * module (cardpin_token_get_module_name() is %NULL) and its operations run over PC/SC.
 * A read that breaks off is an error. Blocking.
 *
 * Returns: (transfer full): a new manager, or %NULL
 */
CardpinManager *
cardpin_manager_new_full (const char * const  *modules,
                          CardpinManagerFlags  flags,
                          GCancellable        *cancellable,
                          GError             **error)
{
  g_autoptr(CardpinManager) self = NULL;

  self = g_object_new (CARDPIN_TYPE_MANAGER, NULL);
  self->flags = flags;
  self->modules = modules_new (modules);

  if (!load (self, cancellable, error))
    return NULL;
  return g_steal_pointer (&self);
}

typedef struct {
  char               **modules;
  CardpinManagerFlags  flags;
} NewData;

static void
new_data_free (NewData *data)
{
  g_strfreev (data->modules);
  g_free (data);
}

static void
new_thread (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *cancellable)
{
  NewData *data = task_data;
  GError *error = NULL;
  CardpinManager *self;

  self = cardpin_manager_new_full ((const char * const *) data->modules, data->flags,
                                   cancellable, &error);
  if (self == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, self, g_object_unref);
}

static void
start_new (const char * const  *modules,
           CardpinManagerFlags  flags,
           gpointer             source_tag,
           GCancellable        *cancellable,
           GAsyncReadyCallback  callback,
           gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  NewData *data = g_new0 (NewData, 1);

  data->modules = g_strdupv ((char **) modules);
  data->flags = flags;
  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, data, (GDestroyNotify) new_data_free);
  g_task_run_in_thread (task, new_thread);
}

/**
 * cardpin_manager_new_async:
 * @modules: (nullable) (array zero-terminated=1): as for cardpin_manager_new()
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: closure
 *
 * Asynchronous cardpin_manager_new().
 */
void
cardpin_manager_new_async (const char * const  *modules,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  start_new (modules, CARDPIN_MANAGER_FLAGS_NONE, cardpin_manager_new_async, cancellable,
             callback, user_data);
}

CardpinManager *
cardpin_manager_new_finish (GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) ==
                        cardpin_manager_new_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * cardpin_manager_new_full_async:
 * @modules: (nullable) (array zero-terminated=1): as for cardpin_manager_new_full()
 * @flags: as for cardpin_manager_new_full()
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: closure
 *
 * Asynchronous cardpin_manager_new_full().
 */
void
cardpin_manager_new_full_async (const char * const  *modules,
                                CardpinManagerFlags  flags,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  start_new (modules, flags, cardpin_manager_new_full_async, cancellable, callback,
             user_data);
}

CardpinManager *
cardpin_manager_new_full_finish (GAsyncResult  *result,
                                 GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) ==
                        cardpin_manager_new_full_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * cardpin_manager_get_flags:
 * @self: a manager
 *
 * Returns: how the manager finds and reads tokens
 */
CardpinManagerFlags
cardpin_manager_get_flags (CardpinManager *self)
{
  g_return_val_if_fail (CARDPIN_IS_MANAGER (self), CARDPIN_MANAGER_FLAGS_NONE);
  return self->flags;
}

/**
 * cardpin_manager_has_modules:
 * @self: a manager
 *
 * Returns: whether PKCS#11 modules were loaded (with
 *   %CARDPIN_MANAGER_FLAGS_PCSC_FIRST, only once a card without PIV showed)
 */
gboolean
cardpin_manager_has_modules (CardpinManager *self)
{
  gboolean loaded;

  g_return_val_if_fail (CARDPIN_IS_MANAGER (self), FALSE);
  g_mutex_lock (&self->modules->mutex);
  loaded = self->modules->modules != NULL;
  g_mutex_unlock (&self->modules->mutex);
  return loaded;
}

/**
 * cardpin_manager_refresh:
 * @self: a manager
 * @cancellable: (nullable): a #GCancellable
 * @error: return location
 *
 * Enumerates again, emitting #CardpinManager::token-added and
 * #CardpinManager::token-removed. Blocking.
 */
gboolean
cardpin_manager_refresh (CardpinManager  *self,
                         GCancellable    *cancellable,
                         GError         **error)
{
  g_return_val_if_fail (CARDPIN_IS_MANAGER (self), FALSE);

  return load (self, cancellable, error);
}

/**
 * cardpin_manager_get_pcsc_error:
 * @self: a manager
 *
 * Tells whether the smart card service could be reached at the last enumeration.
 * Without it no card shows, though software tokens may: a front end that finds no
 * card says this instead of "insert your card".
 *
 * Returns: (nullable) (transfer none): a %CARDPIN_ERROR_PCSC_UNAVAILABLE error saying
 *   what to do, or %NULL when pcscd answered
 */
const GError *
cardpin_manager_get_pcsc_error (CardpinManager *self)
{
  g_return_val_if_fail (CARDPIN_IS_MANAGER (self), NULL);

  return self->pcsc_error;
}

/**
 * cardpin_manager_start_watching:
 * @self: a manager
 *
 * Starts watching readers from a worker thread; changes are applied and signalled in
 * the thread-default main context of the caller.
 */
void
cardpin_manager_start_watching (CardpinManager *self)
{
  Watch *watch;

  g_return_if_fail (CARDPIN_IS_MANAGER (self));

  if (self->watch != NULL)
    return;

  watch = g_new0 (Watch, 1);
  g_mutex_init (&watch->mutex);
  g_cond_init (&watch->cond);
  watch->modules = modules_ref (self->modules);
  watch->flags = self->flags;
  watch->main_context = g_main_context_ref_thread_default ();
  watch->service_lost = self->pcsc_error != NULL;
  watch->manager = g_atomic_rc_box_new0 (ManagerRef);
  g_weak_ref_init (&watch->manager->ref, self);

  self->watch = watch;
  self->watch_thread = g_thread_new ("cardpin-watch", watch_thread, watch);
}

/**
 * cardpin_manager_stop_watching:
 * @self: a manager
 *
 * Stops the worker thread and waits for it (SCardCancel() wakes it).
 */
void
cardpin_manager_stop_watching (CardpinManager *self)
{
  Watch *watch;

  g_return_if_fail (CARDPIN_IS_MANAGER (self));

  watch = self->watch;
  if (watch == NULL)
    return;

  g_mutex_lock (&watch->mutex);
  watch->stop = TRUE;
  if (watch->have_context)
    SCardCancel (watch->context);
  g_cond_broadcast (&watch->cond);
  g_mutex_unlock (&watch->mutex);

  g_thread_join (g_steal_pointer (&self->watch_thread));
  self->watch = NULL;
  watch_free (watch);
}

/* %FALSE with CARDPIN_ERROR_NO_SUCH_READER (listing the readers there are) when there is
 * no reader @name, or with the PC/SC error when the readers cannot be listed. */
static gboolean
reader_exists (const char  *name,
               GError     **error)
{
  g_auto(GStrv) readers = NULL;
  g_autofree char *list = NULL;
  SCARDCONTEXT context = 0;

  if (!cardpin_pcsc_establish (&context, error))
    return FALSE;
  readers = cardpin_pcsc_list_readers (context, error);
  SCardReleaseContext (context);
  if (readers == NULL)
    return FALSE;
  if (g_strv_contains ((const char * const *) readers, name))
    return TRUE;

  if (readers[0] == NULL)
    {
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NO_SUCH_READER,
                   _("There is no reader “%s”, and no smart card reader is connected. "
                     "Connect the reader and try again."), name);
      return FALSE;
    }
  list = g_strjoinv ("”, “", readers);
  g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NO_SUCH_READER,
               _("There is no reader “%s”. The readers are: “%s”."), name, list);
  return FALSE;
}

/**
 * cardpin_manager_find_token:
 * @self: a manager
 * @reader: (nullable): a reader name
 * @serial: (nullable): a serial (case-insensitive)
 * @error: return location
 *
 * Looks a token up. With both %NULL, returns the only token, or fails when there are
 * none or several.
 *
 * Returns: (transfer full): the token, or %NULL with %CARDPIN_ERROR_NO_CARD
 */
CardpinToken *
cardpin_manager_find_token (CardpinManager  *self,
                            const char      *reader,
                            const char      *serial,
                            GError         **error)
{
  CardpinToken *found = NULL;
  guint n_found = 0;
  guint i;

  g_return_val_if_fail (CARDPIN_IS_MANAGER (self), NULL);

  for (i = 0; i < self->tokens->len; i++)
    {
      CardpinToken *token = g_ptr_array_index (self->tokens, i);

      if (reader != NULL && g_strcmp0 (cardpin_token_get_reader (token), reader) != 0)
        continue;
      if (serial != NULL &&
          (cardpin_token_get_serial (token) == NULL ||
           g_ascii_strcasecmp (cardpin_token_get_serial (token), serial) != 0))
        continue;
      found = token;
      n_found++;
    }

  if (n_found == 1)
    return g_object_ref (found);

  if (n_found == 0)
    {
      if (reader != NULL && !reader_exists (reader, error))
        ;
      else if (reader != NULL)
        g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NO_CARD,
                     _("No card in reader “%s”. Insert the card and try again."), reader);
      else if (serial != NULL)
        g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NO_CARD,
                     _("No card with serial number %s. Insert the card and try again."),
                     serial);
      else
        g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NO_CARD,
                     _("No smart card found. Insert your card and try again."));
    }
  else
    {
      g_set_error (error, CARDPIN_ERROR, CARDPIN_ERROR_NO_CARD,
                   _("%u cards found. Choose one by its reader or serial number."), n_found);
    }
  return NULL;
}
