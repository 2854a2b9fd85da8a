/*
 * fuzz/fuzz-jinja.c - the Jinja2 subset (src/unit/jinja.c): renders the
 * input as a template with fixed parameters and environment, then walks it
 * again collecting the names it references (the parse-only mode that
 * template instantiation uses).
 *
 * Input: the template text up to the first NUL byte; what follows the NUL
 * (if anything) is an RFC822 record used as the parameters instead of the
 * fixed ones.
 *
 * Besides memory errors and stack exhaustion (expressions are nested at
 * most 64 deep), it aborts when a failure leaves no message or when a
 * render succeeds and a second render of the same input gives other text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/common.h"
#include "unit/internal.h"

#undef malloc
#undef free

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char params_text[] = "name: eth0\ngpu_count: 2\n"
				  "path: /dev/ttyS0\ninterface: eth0\n";
static const char env_text[] = "GENIO_DEVICE: G700\nTEST_SNAP: x\n";

static struct pt_records *parse(const char *t, size_t n)
{
	struct pt_records *r = NULL;

	if (pt_rfc822_parse(t, n, NULL, NULL, NULL, &r) < 0)
		return NULL;
	return r;
}

static void count(void *ctx, const char *s, size_t n)
{
	(void)s;
	*(size_t *)ctx += n ? 1 : 0;
}

static void render_twice(struct pt_units *u, const char *text,
			 const struct pt_jinja_env *env,
			 const struct pt_rfc822_record *params)
{
	struct pt_buf out = PT_BUF_INIT, out2 = PT_BUF_INIT;
	struct pt_buf err = PT_BUF_INIT;
	int rc = pt__jinja_render(u, text, env, params, "7", &out, &err, NULL,
				  NULL);

	if (rc < 0 && (rc != PT_ETEMPLATE || !err.len))
		abort();
	if (rc == 0) {
		pt__buf_reset(&err);
		if (pt__jinja_render(u, text, env, params, "7", &out2, &err,
				     NULL, NULL) != 0 ||
		    out.len != out2.len ||
		    (out.len && memcmp(out.s, out2.s, out.len) != 0))
			abort();
	}
	pt__buf_release(&out);
	pt__buf_release(&out2);
	pt__buf_release(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pt_units *u = NULL;
	struct pt_records *p = NULL, *e = NULL, *own = NULL;
	struct pt_buf err = PT_BUF_INIT;
	struct pt_jinja_env env = { NULL, NULL, false };
	const uint8_t *nul;
	char *text;
	size_t tn, names = 0;
	int rc;

	if (size > 65536)
		return 0;
	nul = memchr(data, 0, size);
	tn = nul ? (size_t)(nul - data) : size;
	text = malloc(tn + 1);
	if (!text || pt_units_new(&u) < 0)
		abort();
	memcpy(text, data, tn);
	text[tn] = '\0';
	p = parse(params_text, sizeof(params_text) - 1);
	e = parse(env_text, sizeof(env_text) - 1);
	if (!p || !e)
		abort();
	if (nul)
		own = parse((const char *)nul + 1, size - tn - 1);
	env.checkbox_env = pt_records_get(e, 0);
	env.system_env = pt_records_get(p, 0);
	env.on_ubuntucore = size & 1;
	render_twice(u, text, &env,
		     own && pt_records_count(own) ? pt_records_get(own, 0)
						  : pt_records_get(p, 0));
	render_twice(u, text, NULL, NULL);
	rc = pt__jinja_render(u, text, &env, NULL, NULL, NULL, &err, count,
			      &names);
	if (rc < 0 && (rc != PT_ETEMPLATE || !err.len))
		abort();
	pt__buf_release(&err);
	pt_records_free(own);
	pt_records_free(p);
	pt_records_free(e);
	pt_units_free(u);
	free(text);
	return 0;
}
