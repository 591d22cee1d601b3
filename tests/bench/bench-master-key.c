/* bench-master-key.c — the raw rate of derive + encrypt (one response) in the token
 *
 * usage: bench-master-key MODULE TOKEN-LABEL PIN-FILE KEY-LABEL SECONDS THREADS [PAUSE-US]
 * Prints "responses/s N (threads T, failures F) cpu-us/response C" for THREADS threads
 * answering for SECONDS; C is the process's CPU time (user + system) per response.
 * PAUSE-US (default 0): each thread sleeps that long before each response, as a
 * service's token thread sleeps whenever its queue is empty: C then is the CPU of a call
 * made after a sleep (its caches cold), which a tight loop never pays.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdlib.h>
#include <sys/resource.h>

#include "cardpin-master-key.h"

typedef struct {
  CardpinMasterKey *key;
  gint64            until;
  guint             count;
  guint             failures;
  gulong            pause_us;
} Worker;

static gpointer
work (gpointer data)
{
  Worker *worker = data;
  guint8 challenge[16] = { 0, };

  while (g_get_monotonic_time () < worker->until)
    {
      g_autoptr(CardpinSecret) response = NULL;

      challenge[0]++;
      if (worker->pause_us > 0)
        g_usleep (worker->pause_us);
      response = cardpin_master_key_respond (worker->key, "C0FFEE00000000000000000000BE4C11",
                                             CARDPIN_MASTER_KEY_ALG_AES128, challenge, 16,
                                             NULL);
      if (response == NULL)
        worker->failures++;
      else
        worker->count++;
    }
  return NULL;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(CardpinMasterKey) key = NULL;
  g_autoptr(GError) error = NULL;
  guint threads, total = 0, failures = 0;
  double seconds;
  gulong pause_us;
  Worker *workers;
  GThread **handles;
  gint64 start;
  struct rusage usage;
  double cpu;

  if (argc != 7 && argc != 8)
    {
      g_printerr ("usage: %s MODULE TOKEN-LABEL PIN-FILE KEY-LABEL SECONDS THREADS [PAUSE-US]\n",
                  argv[0]);
      return 2;
    }
  key = cardpin_master_key_open (argv[1], argv[2], argv[3], argv[4], &error);
  if (key == NULL)
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  seconds = g_ascii_strtod (argv[5], NULL);
  threads = (guint) atoi (argv[6]);
  pause_us = argc == 8 ? strtoul (argv[7], NULL, 10) : 0;
  workers = g_new0 (Worker, threads);
  handles = g_new0 (GThread *, threads);
  start = g_get_monotonic_time ();
  for (guint i = 0; i < threads; i++)
    {
      workers[i] = (Worker) { key, start + (gint64) (seconds * G_USEC_PER_SEC), 0, 0, pause_us };
      handles[i] = g_thread_new ("bench", work, &workers[i]);
    }
  for (guint i = 0; i < threads; i++)
    {
      g_thread_join (handles[i]);
      total += workers[i].count;
      failures += workers[i].failures;
    }
  getrusage (RUSAGE_SELF, &usage);
  cpu = usage.ru_utime.tv_sec * 1e6 + usage.ru_utime.tv_usec +
        usage.ru_stime.tv_sec * 1e6 + usage.ru_stime.tv_usec;
  g_print ("responses/s %.0f (threads %u, failures %u) cpu-us/response %.0f\n",
           total / ((g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC), threads,
           failures, total > 0 ? cpu / total : 0.0);
  g_free (workers);
  g_free (handles);
  return failures == 0 ? 0 : 1;
}
