/* cardpin-application-private.h — what the window takes from the application
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "cardpin-application.h"
#include "cardpin-manager.h"

G_BEGIN_DECLS

/* the first read's manager, or (@manager %NULL) why there is none */
typedef void (*CardpinFirstLoadFunc) (CardpinManager *manager,
                                      const GError   *error,
                                      gpointer        user_data);

gboolean  _cardpin_application_take_first_load (CardpinApplication   *self,
                                                CardpinFirstLoadFunc  func,
                                                gpointer              user_data);

G_END_DECLS
