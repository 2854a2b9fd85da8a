/*
 * base/chaos.c - the fault plan of --chaos (base/chaos.h). No allocation
 * and no libc call that the preloaded runtime interposes: it runs inside
 * the job's processes, before main.
 */
#include "base/chaos.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

static const char *const call_names[PT_CHAOS_NCALLS] = {
	"write", "read", "fsync", "open", "connect", "send", "recv", "accept",
};

static const struct {
	const char *name;
	int err;
} errs[] = {
	{ "ENOSPC", ENOSPC },	      { "EIO", EIO },
	{ "EINTR", EINTR },	      { "ECONNREFUSED", ECONNREFUSED },
	{ "ECONNRESET", ECONNRESET }, { "ETIMEDOUT", ETIMEDOUT },
	{ "EAGAIN", EAGAIN },	      { "EMFILE", EMFILE },
	{ "EACCES", EACCES },	      { "short", PT_CHAOS_SHORT },
};

const char *pt__chaos_call_name(unsigned call)
{
	return call < PT_CHAOS_NCALLS ? call_names[call] : "?";
}

const char *pt__chaos_err_name(int err)
{
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
		if (errs[i].err == err)
			return errs[i].name;
	return "?";
}

/* short counts only where a count is returned */
static bool can_short(unsigned call)
{
	return call == PT_CHAOS_WRITE || call == PT_CHAOS_READ ||
	       call == PT_CHAOS_SEND || call == PT_CHAOS_RECV;
}

static int elem(const char *s, size_t len, struct pt_chaos *c, char *err,
		size_t errlen)
{
	char buf[PT_CHAOS_MAX_FILTER + 64], *p, *at,
		*f[3] = { NULL, NULL, NULL };
	struct pt_chaos_rule *r;
	unsigned nf = 0, k;
	size_t e;

	if (len >= sizeof(buf)) {
		snprintf(err, errlen, "'%.*s...': too long", 32, s);
		return -EINVAL;
	}
	memcpy(buf, s, len);
	buf[len] = 0;
	if (!strncmp(buf, "kill@", 5) || !strncmp(buf, "kill-one@", 9) ||
	    !strncmp(buf, "pause@", 6)) {
		bool is_kill = buf[0] == 'k', one = buf[4] == '-';
		char *end, *q = strchr(buf, '@') + 1;
		double t = strtod(q, &end), d = 0;

		if (!is_kill && *end == ':')
			d = strtod(end + 1, &end);
		if (*end || !(t > 0) || t > 86400 || (!is_kill && !(d > 0)) ||
		    d > 86400) {
			snprintf(err, errlen,
				 "'%s': expected kill@SECONDS, "
				 "kill-one@SECONDS or pause@SECONDS:SECONDS",
				 buf);
			return -EINVAL;
		}
		if (one)
			c->kill_one_max = t;
		else if (is_kill)
			c->kill_max = t;
		else {
			c->pause_max = t;
			c->pause_len = d;
		}
		return 0;
	}
	if (!strncmp(buf, "exe=", 4)) {
		if (!buf[4] || strlen(buf + 4) >= sizeof(c->exe)) {
			snprintf(err, errlen, "'%s': bad program name", buf);
			return -EINVAL;
		}
		snprintf(c->exe, sizeof(c->exe), "%s", buf + 4);
		return 0;
	}
	if (c->n >= PT_CHAOS_MAX_RULES) {
		snprintf(err, errlen, "more than %d rules", PT_CHAOS_MAX_RULES);
		return -EINVAL;
	}
	r = &c->rules[c->n];
	memset(r, 0, sizeof(*r));
	if ((at = strchr(buf, '@'))) {
		*at++ = 0;
		if (!*at || strlen(at) >= sizeof(r->filter)) {
			snprintf(err, errlen, "'%.*s': bad filter", (int)len,
				 s);
			return -EINVAL;
		}
		snprintf(r->filter, sizeof(r->filter), "%s", at);
	}
	for (p = buf; nf < 3; nf++) {
		f[nf] = p;
		if (!(p = strchr(p, ':')))
			break;
		*p++ = 0;
	}
	if (nf == 3 || nf < 1) {
		snprintf(err, errlen,
			 "'%.*s': expected CALL:ERROR[:RATE][@FILTER]",
			 (int)len, s);
		return -EINVAL;
	}
	nf++;
	for (k = 0; k < PT_CHAOS_NCALLS; k++)
		if (!strcmp(f[0], call_names[k]))
			break;
	if (k == PT_CHAOS_NCALLS) {
		snprintf(err, errlen,
			 "'%s': unknown call (write, read, fsync, open, "
			 "connect, send, recv, accept)",
			 f[0]);
		return -EINVAL;
	}
	r->call = (uint8_t)k;
	for (e = 0; e < sizeof(errs) / sizeof(errs[0]); e++)
		if (!strcmp(f[1], errs[e].name))
			break;
	if (e == sizeof(errs) / sizeof(errs[0]) ||
	    (errs[e].err == PT_CHAOS_SHORT && !can_short(k))) {
		snprintf(err, errlen, "'%s:%s': unknown or impossible error",
			 f[0], f[1]);
		return -EINVAL;
	}
	r->err = errs[e].err;
	r->rate = 0.1;
	if (nf == 3) {
		char *end;
		r->rate = strtod(f[2], &end);
		if (*end || !(r->rate > 0) || r->rate > 1) {
			snprintf(err, errlen, "'%s': rate must be in (0, 1]",
				 f[2]);
			return -EINVAL;
		}
	}
	c->n++;
	return 0;
}

int pt__chaos_parse(const char *spec, struct pt_chaos *c, char *err,
		    size_t errlen)
{
	const char *p = spec;

	memset(c, 0, sizeof(*c));
	if (!spec || strlen(spec) > PT_CHAOS_MAX_SPEC) {
		snprintf(err, errlen, "missing or too long");
		return -EINVAL;
	}
	while (*p) {
		size_t n = strcspn(p, ",;");
		if (n && elem(p, n, c, err, errlen) < 0)
			return -EINVAL;
		p += n;
		if (*p)
			p++;
	}
	if (!c->n && !c->kill_max && !c->pause_max && !c->kill_one_max) {
		snprintf(err, errlen, "no fault rule");
		return -EINVAL;
	}
	return 0;
}

bool pt__chaos_has_process_faults(const struct pt_chaos *c)
{
	return c->kill_max > 0 || c->kill_one_max > 0 || c->pause_max > 0;
}

double pt__chaos_frac(uint64_t seed, uint64_t a, uint64_t b)
{
	uint64_t z = seed ^ ((a + 1) * 0x9e3779b97f4a7c15ULL) ^
		     (b * 0xd1b54a32d192ed03ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return (double)(z >> 11) * 0x1p-53;
}

bool pt__chaos_hit(uint64_t seed, unsigned i, uint64_t n, double rate)
{
	return pt__chaos_frac(seed, i, n) < rate;
}
