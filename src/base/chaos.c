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
	"write", "read", "fsync",  "open",   "connect",
	"send",	 "recv", "accept", "malloc",
};

static const struct {
	const char *name;
	int err;
} errs[] = {
	{ "ENOSPC", ENOSPC },	      { "EIO", EIO },
	{ "EINTR", EINTR },	      { "ECONNREFUSED", ECONNREFUSED },
	{ "ECONNRESET", ECONNRESET }, { "ETIMEDOUT", ETIMEDOUT },
	{ "EAGAIN", EAGAIN },	      { "EMFILE", EMFILE },
	{ "EACCES", EACCES },	      { "ENOMEM", ENOMEM },
	{ "short", PT_CHAOS_SHORT },
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

/*
 * "clock:jump:S[@N]" or "clock:fast:F" (buf, NUL-terminated, modified).
 * A second jump or fast is an error: one of each per plan.
 */
static int clock_elem(char *buf, struct pt_chaos *c, char *err, size_t errlen)
{
	bool jump = !strncmp(buf, "clock:jump:", 11);
	char *end, *at = strchr(buf, '@');
	double v;

	if (!jump && strncmp(buf, "clock:fast:", 11))
		goto bad;
	v = strtod(buf + 11, &end);
	if (jump) {
		unsigned long long within = 100;

		if (*end == '@' && end == at && at[1] >= '0' && at[1] <= '9') {
			within = strtoull(at + 1, &end, 10);
			if (*end || !within || within > PT_CHAOS_MAX_READS)
				goto bad;
		}
		if (*end ||
		    !(v >= -PT_CHAOS_MAX_JUMP && v <= PT_CHAOS_MAX_JUMP) ||
		    v == 0 || c->clock_jump)
			goto bad;
		c->clock_jump = v;
		c->clock_jump_within = (uint32_t)within;
		return 0;
	}
	if (*end || !(v > 0 && v <= PT_CHAOS_MAX_FACTOR) || c->clock_fast)
		goto bad;
	c->clock_fast = v;
	return 0;
bad:
	snprintf(err, errlen,
		 "'%s': expected clock:jump:SECONDS[@READS] or "
		 "clock:fast:FACTOR (one of each; SECONDS non-zero, at most "
		 "%.0f; READS 1..%u; FACTOR in (0, %.0f])",
		 buf, PT_CHAOS_MAX_JUMP, PT_CHAOS_MAX_READS,
		 PT_CHAOS_MAX_FACTOR);
	return -EINVAL;
}

/* A malloc rule's filter ">=SIZE" (bytes, or with K, M or G: 1024^k). */
static int size_filter(struct pt_chaos_rule *r, const char *s, size_t len,
		       char *err, size_t errlen)
{
	unsigned long long v;
	char *end;
	const char *p = r->filter + 2;

	if (strncmp(r->filter, ">=", 2) || *p < '0' || *p > '9')
		goto bad;
	errno = 0;
	v = strtoull(p, &end, 10);
	if (errno)
		goto bad;
	for (const char *u = "KMG"; *u && *end; u++) {
		if (*end == *u) {
			for (const char *k = "KMG"; k <= u; k++)
				v = v > PT_CHAOS_MAX_SIZE ? v : v * 1024;
			end++;
			break;
		}
	}
	if (*end || v > PT_CHAOS_MAX_SIZE)
		goto bad;
	r->min_size = v;
	r->filter[0] = 0;
	return 0;
bad:
	snprintf(err, errlen,
		 "'%.*s': a malloc filter is @>=SIZE (bytes, or K, M, G; at "
		 "most 1T)",
		 (int)len, s);
	return -EINVAL;
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
	if (!strncmp(buf, "clock:", 6))
		return clock_elem(buf, c, err, errlen);
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
			 "connect, send, recv, accept, malloc, clock)",
			 f[0]);
		return -EINVAL;
	}
	r->call = (uint8_t)k;
	for (e = 0; e < sizeof(errs) / sizeof(errs[0]); e++)
		if (!strcmp(f[1], errs[e].name))
			break;
	if (e == sizeof(errs) / sizeof(errs[0]) ||
	    (errs[e].err == PT_CHAOS_SHORT && !can_short(k)) ||
	    (k == PT_CHAOS_MALLOC && errs[e].err != ENOMEM)) {
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
	if (k == PT_CHAOS_MALLOC && r->filter[0] &&
	    size_filter(r, s, len, err, errlen) < 0)
		return -EINVAL;
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
	if (!c->n && !c->kill_max && !c->pause_max && !c->kill_one_max &&
	    !c->clock_jump && !c->clock_fast) {
		snprintf(err, errlen, "no fault rule");
		return -EINVAL;
	}
	return 0;
}

void pt__chaos_times(const struct pt_chaos *run, const char *field,
		     uint64_t seed, const char *job_id, unsigned attempt,
		     struct pt_chaos_times *t)
{
	struct pt_chaos own; /* about 2.4 KiB; not called by the runtime */
	const struct pt_chaos *p = run;
	uint64_t h = 1469598103934665603ULL, att = attempt;
	char err[64];

	memset(t, 0, sizeof(*t));
	if (field)
		p = strcmp(field, "off") && pt__chaos_parse(field, &own, err,
							    sizeof(err)) == 0
			    ? &own
			    : NULL;
	if (!p || !pt__chaos_has_process_faults(p))
		return;
	for (const char *c = job_id; *c; c++)
		h = (h ^ (unsigned char)*c) * 1099511628211ULL;
	/* 1 ms at least: after the start */
	if (p->kill_max > 0)
		t->kill =
			0.001 + pt__chaos_frac(seed, h, att * 2) * p->kill_max;
	if (p->pause_max > 0) {
		t->stop = 0.001 +
			  pt__chaos_frac(seed, h, att * 2 + 1) * p->pause_max;
		/* for a seeded time in (0, D]: its own stream (h + 2) */
		t->stop_len =
			(1 - pt__chaos_frac(seed, h + 2, att)) * p->pause_len;
	}
	if (p->kill_one_max > 0) {
		/* its own stream (h + 1): the same times for kill and pause
		 * as without it */
		t->kill_one = 0.001 + pt__chaos_frac(seed, h + 1, att * 2) *
					      p->kill_one_max;
		t->pick = (uint64_t)(pt__chaos_frac(seed, h + 1, att * 2 + 1) *
				     0x1p53);
	}
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

uint64_t pt__chaos_jump_read(const struct pt_chaos *c, uint64_t seed)
{
	/* a stream of its own: "rule" PT_CHAOS_MAX_RULES, call 0 */
	return 1 + (uint64_t)(pt__chaos_frac(seed, PT_CHAOS_MAX_RULES, 0) *
			      c->clock_jump_within);
}
