/* cardpin-window.h — the main window of "Smart Card PIN"
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <adwaita.h>

#include "cardpin-application.h"
#include "cardpin-manager.h"

G_BEGIN_DECLS

#define CARDPIN_TYPE_WINDOW (cardpin_window_get_type ())

G_DECLARE_FINAL_TYPE (CardpinWindow, cardpin_window, CARDPIN, WINDOW, AdwApplicationWindow)

GtkWidget       *cardpin_window_new          (CardpinApplication  *application,
                                              const char * const  *modules) G_GNUC_WARN_UNUSED_RESULT;
CardpinManager  *cardpin_window_get_manager  (CardpinWindow       *self);
void             cardpin_window_reload       (CardpinWindow       *self);

G_END_DECLS
