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
void             cardpin_window_push_page    (CardpinWindow       *self,
                                              GtkWidget           *page);
void             cardpin_window_go_back      (CardpinWindow       *self);
void             cardpin_window_show_token   (CardpinWindow       *self,
                                              CardpinToken        *token);
void             cardpin_window_add_toast    (CardpinWindow       *self,
                                              const char          *title);

G_END_DECLS
