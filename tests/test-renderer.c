/* test-renderer.c — cardpin_renderer_has_gpu() and cardpin_renderer_choose(): cairo
 * without a GPU, GTK's own choice with one, the user's GSK_RENDERER and GDK_DEBUG kept
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib.h>
#include <glib/gstdio.h>

#include "cardpin-renderer.h"

typedef struct {
  char *dev;   /* a device directory of our own */
} Fixture;

static void
touch (Fixture    *fixture,
       const char *name)
{
  g_autofree char *path = g_build_filename (fixture->dev, name, NULL);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (path, "", 0, &error));
  g_assert_no_error (error);
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fixture->dev = g_dir_make_tmp ("cardpin-dev-XXXXXX", &error);
  g_assert_no_error (error);
  g_unsetenv ("GSK_RENDERER");
  g_unsetenv ("GDK_DEBUG");
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autofree char *command = g_strdup_printf ("rm -rf '%s'", fixture->dev);

  g_assert_true (g_spawn_command_line_sync (command, NULL, NULL, NULL, NULL));
  g_free (fixture->dev);
  g_unsetenv ("GSK_RENDERER");
  g_unsetenv ("GDK_DEBUG");
}

static void
test_no_gpu (Fixture       *fixture,
             gconstpointer  data)
{
  /* nothing at all, then a display-only device (a VM's simpledrm or bochs) */
  g_assert_false (cardpin_renderer_has_gpu (fixture->dev));
  touch (fixture, "dri/card0");
  g_assert_false (cardpin_renderer_has_gpu (fixture->dev));
  /* a name that only looks like one */
  touch (fixture, "dri/by-path");
  g_assert_false (cardpin_renderer_has_gpu (fixture->dev));

  g_assert_true (cardpin_renderer_choose (fixture->dev));
  g_assert_cmpstr (g_getenv ("GSK_RENDERER"), ==, "cairo");
  g_assert_cmpstr (g_getenv ("GDK_DEBUG"), ==, "gl-disable");
}

static void
test_render_node (Fixture       *fixture,
                  gconstpointer  data)
{
  touch (fixture, "dri/card0");
  touch (fixture, "dri/renderD128");
  g_assert_true (cardpin_renderer_has_gpu (fixture->dev));

  g_assert_false (cardpin_renderer_choose (fixture->dev));
  g_assert_null (g_getenv ("GSK_RENDERER"));
  g_assert_null (g_getenv ("GDK_DEBUG"));
}

static void
test_nvidia (Fixture       *fixture,
             gconstpointer  data)
{
  /* NVIDIA's proprietary driver without its DRM module: no render node */
  touch (fixture, "nvidiactl");
  g_assert_true (cardpin_renderer_has_gpu (fixture->dev));
  g_assert_false (cardpin_renderer_choose (fixture->dev));
  g_assert_null (g_getenv ("GSK_RENDERER"));
}

static void
test_user_renderer_wins (Fixture       *fixture,
                         gconstpointer  data)
{
  g_setenv ("GSK_RENDERER", "gl", TRUE);
  g_assert_false (cardpin_renderer_choose (fixture->dev));
  g_assert_cmpstr (g_getenv ("GSK_RENDERER"), ==, "gl");
  g_assert_null (g_getenv ("GDK_DEBUG"));
}

static void
test_user_debug_kept (Fixture       *fixture,
                      gconstpointer  data)
{
  g_setenv ("GDK_DEBUG", "portals", TRUE);
  g_assert_true (cardpin_renderer_choose (fixture->dev));
  g_assert_cmpstr (g_getenv ("GSK_RENDERER"), ==, "cairo");
  g_assert_cmpstr (g_getenv ("GDK_DEBUG"), ==, "portals");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/cardpin/renderer/no-gpu", Fixture, NULL,
              fixture_set_up, test_no_gpu, fixture_tear_down);
  g_test_add ("/cardpin/renderer/render-node", Fixture, NULL,
              fixture_set_up, test_render_node, fixture_tear_down);
  g_test_add ("/cardpin/renderer/nvidia", Fixture, NULL,
              fixture_set_up, test_nvidia, fixture_tear_down);
  g_test_add ("/cardpin/renderer/user-renderer-wins", Fixture, NULL,
              fixture_set_up, test_user_renderer_wins, fixture_tear_down);
  g_test_add ("/cardpin/renderer/user-debug-kept", Fixture, NULL,
              fixture_set_up, test_user_debug_kept, fixture_tear_down);
  return g_test_run ();
}
