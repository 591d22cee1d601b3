/* cardpin-application-private.h — what the window takes from the application
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "cardpin-application.h"
#include "cardpin-manager.h"

G_BEGIN_DECLS

gboolean         _cardpin_application_take_first_load        (CardpinApplication   *self,
                                                              GCancellable         *cancellable,
                                                              GAsyncReadyCallback   callback,
                                                              gpointer              user_data);
CardpinManager  *_cardpin_application_take_first_load_finish (CardpinApplication   *self,
                                                              GAsyncResult         *result,
                                                              GError              **error);

G_END_DECLS
