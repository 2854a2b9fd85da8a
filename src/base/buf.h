/*
 * base/buf.h - a growable byte buffer, always NUL-terminated (git strbuf).
 *
 * A value type: declare with PT_BUF_INIT, release with pt__buf_release().
 * buf.s is never NULL once initialised (it points at a shared "" while
 * nothing is allocated), so it can always be printed.
 * Appending functions return 0 or -ENOMEM; on failure the content is
 * unchanged. pt__buf_detach() hands the heap string to the caller (free
 * with pt__free) and leaves the buffer empty.
 */
#ifndef PT_BASE_BUF_H
#define PT_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct pt_buf {
	char *s;
	size_t len;
	size_t cap; /* 0 while s points at the shared empty string */
};

extern char pt__buf_empty[1];
#define PT_BUF_INIT { .s = pt__buf_empty, .len = 0, .cap = 0 }

void pt__buf_init(struct pt_buf *b);
void pt__buf_release(struct pt_buf *b);
/* Makes room for extra more bytes (plus the NUL). */
int pt__buf_grow(struct pt_buf *b, size_t extra);
void pt__buf_reset(struct pt_buf *b);
void pt__buf_truncate(struct pt_buf *b, size_t len);
int pt__buf_add(struct pt_buf *b, const void *data, size_t len);
int pt__buf_adds(struct pt_buf *b, const char *s);
int pt__buf_addch(struct pt_buf *b, int c);
int pt__buf_addf(struct pt_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int pt__buf_vaddf(struct pt_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Returns the string (never NULL unless allocation fails) and empties b. */
char *pt__buf_detach(struct pt_buf *b, size_t *ret_len);

#endif
