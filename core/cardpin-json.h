/* cardpin-json.h — small json-glib helpers: the JSON that front ends print
 * (cardpin-tool status --json, cardpin-helpdesk card list/audit --json) and the string
 * members the online protocol reads (client and service)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Member @name: @value, or null when @value is %NULL */
void   cardpin_json_add_string_or_null (JsonBuilder *builder,
                                        const char  *name,
                                        const char  *value);
/* Member @name: @value, or null when @value is negative (unknown) */
void   cardpin_json_add_int_or_null    (JsonBuilder *builder,
                                        const char  *name,
                                        int          value);
/* The string value of member @name of @object, or %NULL when it is missing or not a
 * string (a number, null, an object, an array) */
const char *cardpin_json_get_string_member (JsonObject *object,
                                            const char *name);
/* The builder's document, pretty-printed */
char  *cardpin_json_to_text            (JsonBuilder *builder);

G_END_DECLS
