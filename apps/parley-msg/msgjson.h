/*
 * msgjson.h - a parsed SIP message as a jansson JSON document, for
 * parley-msg parse. Every function here exits the program (status 2) when
 * jansson runs out of memory, so none of them returns NULL.
 */
#ifndef PARLEY_MSG_APP_MSGJSON_H
#define PARLEY_MSG_APP_MSGJSON_H

#include <jansson.h>
#include <parley/msg.h>

/*
 * A JSON string holding the bytes of s. Bytes that are not valid UTF-8 make
 * jansson refuse the string; the bytes at or above 0x80 are then written as
 * the four characters \xHH instead (control characters and NUL are kept and
 * escaped by the JSON writer).
 */
json_t *pm_json_str(pl_str s);

/* The whole message: start line, every header, the key headers, body length. */
json_t *pm_msg_to_json(const pl_msg *msg);

/* {"ok": true} or {"ok": false, "code": code, "reason": reason}. */
json_t *pm_check_to_json(bool ok, uint16_t code, const char *reason);

#endif
