/*
 * mux/frame.h - wire framing internals shared by the pool and the serve
 * side (the public decoder and encoder are in proctor/mux.h).
 */
#ifndef PT_MUX_FRAME_H
#define PT_MUX_FRAME_H

#include "base/buf.h"
#include "base/common.h"

#include <proctor/mux.h>

/* The effective frame limit for a requested one (0 or too big: the cap). */
static inline size_t pt__mux_limit(size_t max_frame)
{
	return max_frame == 0 || max_frame > PT_MUX_MAX_FRAME ? PT_MUX_MAX_FRAME
							      : max_frame;
}

/*
 * Appends one encoded frame of msg to out. 0, -ENOMEM, PT_ETOOBIG (the
 * payload exceeds max_frame; out is unchanged) or PT_EPARSE (not
 * encodable: non-UTF-8 string in JSON, nesting over PT_MUX_MAX_DEPTH,
 * not an object).
 */
int pt__mux_encode_buf(enum pt_mux_format f, const json_t *msg,
		       size_t max_frame, struct pt_buf *out);

/*
 * Like pt__mux_encode_buf, with "session" and "id" (when not NULL) set
 * to these strings, first, replacing msg's own; msg is only read, so one
 * message may be sent from several threads at once.
 */
int pt__mux_encode_stamped(enum pt_mux_format f, const json_t *msg,
			   const char *session, const char *id,
			   size_t max_frame, struct pt_buf *out);

/*
 * The JSON decoder's fast path: the object s[0..n) when it uses only
 * objects, arrays, strings without escapes, integers and literals, else
 * NULL (then jansson parses it). Nesting must already be bounded.
 */
json_t *pt__mux_json_fast(const char *s, size_t n);

/* True when s[0..len) is well-formed UTF-8. */
bool pt__mux_utf8_ok(const char *s, size_t len);

/*
 * Checks the envelope of a decoded message: "type" must be a string,
 * "session" and "id" strings when present. NULL when fine, else a static
 * description of the problem.
 */
const char *pt__mux_check_envelope(const json_t *msg);

/* Shortcuts: the string value of key, or NULL when absent or not one. */
static inline const char *pt__mux_str(const json_t *msg, const char *key)
{
	return json_string_value(json_object_get(msg, key));
}

/*
 * Writes p[0..n) to fd, which is non-blocking (mux/io.c). When the peer
 * reads nothing, waits for room with poll, and gives up with -ETIMEDOUT
 * once no byte could be written for stall_ms (< 0: no limit; each byte
 * accepted restarts that clock), with PT_EWORKER when *stop is true (stop
 * may be NULL), or when wake_fd or exit_fd (either may be -1) is
 * readable. Write errors: -errno (-EPIPE when the peer closed its end).
 * A frame cut short by an error is never resumed: the caller ends the
 * connection.
 */
int pt__mux_write(int fd, const char *p, size_t n, int stall_ms,
		  const bool *stop, int wake_fd, int exit_fd);

#endif
