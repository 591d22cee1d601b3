/* cardpin-renderer.c — GTK's renderer on machines without a GPU
 *
 * GTK 4.8 draws with OpenGL on X11 and Wayland. Where there is no GPU (virtual
 * machines, VDI thin clients, remote desktops: common where smart cards are used),
 * Mesa runs OpenGL in software (llvmpipe): GTK loads LLVM when it opens the display,
 * even before it picks a renderer, and compiles its shaders at start-up. On such a
 * machine the app starts in less than half the time and with a third of the memory
 * when it draws with cairo and leaves OpenGL alone (tests/bench/bench-startup).
 *
 * So, before GTK starts, when the user has not set GSK_RENDERER and no GPU can be used,
 * the app sets for its own process (and so for what it starts) GSK_RENDERER=cairo (gsk
 * reads it once, when it creates the first window's renderer; when cairo cannot be
 * used it falls back to its default) and, unless the user set GDK_DEBUG,
 * GDK_DEBUG=gl-disable (gdk reads it when it opens the display; without it GDK 4.8's
 * X11 back end still initializes EGL and GLX there, for its visual, loading LLVM).
 * With a GPU nothing is set, so GTK's own choice (OpenGL on the GPU) stands: the
 * decision cannot make a machine with a GPU slower. The user's GSK_RENDERER always
 * wins, and so does their GDK_DEBUG. Measured on GTK 4.8 (Debian 12, the floor); the
 * Flatpak's newer GTK also honours GSK_RENDERER=cairo, but how it treats
 * GDK_DEBUG=gl-disable (later versions moved such switches to GDK_DISABLE) is not
 * measured here.
 *
 * "No GPU" is the cheapest check that is reliable: no DRM render node
 * (/dev/dri/renderD*) that this user may open, and no NVIDIA device (its proprietary
 * driver may come without a render node). Mesa needs a render node to use hardware;
 * virtual machines with only a display device (simpledrm, bochs, cirrus, efifb) have
 * none, and neither does a Flatpak sandbox without --device=dri. Without one Mesa can
 * only render in software. A few system calls, no library loaded.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gstdio.h>
#include <unistd.h>

#include "cardpin-renderer.h"

static gboolean
usable (const char *path)
{
  return g_access (path, R_OK | W_OK) == 0;
}

/**
 * cardpin_renderer_has_gpu:
 * @dev_dir: (nullable): the device directory, %NULL for `/dev` (tests give another)
 *
 * Whether a GPU can be used here: a DRM render node (`dri/renderD*`) or the NVIDIA
 * control device (`nvidiactl`) under @dev_dir that this process may open.
 *
 * Returns: %TRUE when OpenGL may run on a GPU, %FALSE when it can only run in software
 */
gboolean
cardpin_renderer_has_gpu (const char *dev_dir)
{
  g_autofree char *dri = NULL;
  g_autofree char *nvidia = NULL;
  g_autoptr(GDir) dir = NULL;
  const char *name;

  if (dev_dir == NULL)
    dev_dir = "/dev";

  nvidia = g_build_filename (dev_dir, "nvidiactl", NULL);
  if (usable (nvidia))
    return TRUE;

  dri = g_build_filename (dev_dir, "dri", NULL);
  dir = g_dir_open (dri, 0, NULL);
  if (dir == NULL)
    return FALSE;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = NULL;

      if (!g_str_has_prefix (name, "renderD"))
        continue;
      path = g_build_filename (dri, name, NULL);
      if (usable (path))
        return TRUE;
    }
  return FALSE;
}

/**
 * cardpin_renderer_choose:
 * @dev_dir: (nullable): the device directory, %NULL for `/dev` (tests give another)
 *
 * Chooses how GTK draws, before GTK is initialized and before any thread is started
 * (it sets environment variables of this process): when there is no GPU (see
 * cardpin_renderer_has_gpu()) and `GSK_RENDERER` is not set, `GSK_RENDERER=cairo` and,
 * unless `GDK_DEBUG` is set, `GDK_DEBUG=gl-disable`; else GTK's own choice.
 *
 * Returns: %TRUE when it chose cairo, %FALSE when GTK chooses
 */
gboolean
cardpin_renderer_choose (const char *dev_dir)
{
  if (g_getenv ("GSK_RENDERER") != NULL || cardpin_renderer_has_gpu (dev_dir))
    return FALSE;

  g_setenv ("GSK_RENDERER", "cairo", TRUE);
  g_setenv ("GDK_DEBUG", "gl-disable", FALSE);
  return TRUE;
}
