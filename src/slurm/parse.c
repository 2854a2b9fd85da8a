/*
 * slurm/parse.c - squeue output and the wrapper's status files (see
 * slurm.h). Both come from outside proctor's process (Slurm's clients,
 * a script on a node), so every line and field is checked and limited.
 */
#include "base/common.h"
#include "slurm/slurm.h"

#include "base/str.h"

static const struct {
	const char *name;
	enum pt_slurm_state state;
} states[] = {
	{ "PENDING", PT_SLURM_PENDING },
	{ "CONFIGURING", PT_SLURM_CONFIGURING },
	{ "RUNNING", PT_SLURM_RUNNING },
	{ "SUSPENDED", PT_SLURM_SUSPENDED },
	{ "COMPLETING", PT_SLURM_COMPLETING },
	{ "STAGE_OUT", PT_SLURM_STAGE_OUT },
	{ "SIGNALING", PT_SLURM_SIGNALING },
	{ "RESIZING", PT_SLURM_RESIZING },
	{ "REQUEUED", PT_SLURM_REQUEUED },
	{ "REQUEUE_HOLD", PT_SLURM_REQUEUE_HOLD },
	{ "REQUEUE_FED", PT_SLURM_REQUEUE_FED },
	{ "RESV_DEL_HOLD", PT_SLURM_RESV_DEL_HOLD },
	{ "STOPPED", PT_SLURM_STOPPED },
	{ "COMPLETED", PT_SLURM_COMPLETED },
	{ "CANCELLED", PT_SLURM_CANCELLED },
	{ "FAILED", PT_SLURM_FAILED },
	{ "TIMEOUT", PT_SLURM_TIMEOUT },
	{ "NODE_FAIL", PT_SLURM_NODE_FAIL },
	{ "PREEMPTED", PT_SLURM_PREEMPTED },
	{ "BOOT_FAIL", PT_SLURM_BOOT_FAIL },
	{ "DEADLINE", PT_SLURM_DEADLINE },
	{ "OUT_OF_MEMORY", PT_SLURM_OUT_OF_MEMORY },
	{ "REVOKED", PT_SLURM_REVOKED },
	{ "SPECIAL_EXIT", PT_SLURM_SPECIAL_EXIT },
};

enum pt_slurm_state pt__slurm_state(const char *name, size_t len)
{
	for (size_t i = 0; i < PT_ARRAY_SIZE(states); i++) {
		if (strlen(states[i].name) == len &&
		    !memcmp(states[i].name, name, len))
			return states[i].state;
	}
	return PT_SLURM_UNKNOWN;
}

bool pt__slurm_state_final(enum pt_slurm_state s)
{
	return s >= PT_SLURM_COMPLETED;
}

PT_PRINTF(4, 5)
static int fail(char *err, size_t errsize, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (err && errsize) {
		n = snprintf(err, errsize, "line %u: ", line);
		if (n < 0 || (size_t)n >= errsize)
			n = 0;
		va_start(ap, fmt);
		vsnprintf(err + n, errsize - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return PT_EPARSE;
}

/* The next field of line ending at sep (NUL-terminated in place). */
static char *field(char **p, char *end, char sep)
{
	char *s = *p, *e = memchr(s, sep, (size_t)(end - s));

	if (!e)
		return NULL;
	*e = '\0';
	*p = e + 1;
	return s;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
	}
	return true;
}

int pt__slurm_parse_queue(char *text, size_t len,
			  int (*fn)(void *ctx, const struct pt_slurm_row *row),
			  void *ctx, char *err, size_t errsize)
{
	char *p = text, *end = text + len;
	unsigned line = 0;

	if (len > PT_SLURM_OUTPUT_MAX)
		return fail(err, errsize, 0, "output of %zu bytes (at most %u)",
			    len, PT_SLURM_OUTPUT_MAX);
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *le = nl ? nl : end, *q = p;
		struct pt_slurm_row row = { .line = ++line };
		char *id, *state;
		uint64_t v;
		int r;

		if (le > p && le[-1] == '\r')
			le--;
		if ((size_t)(le - p) > PT_SLURM_LINE_MAX)
			return fail(err, errsize, line, "longer than %u bytes",
				    PT_SLURM_LINE_MAX);
		if (le == p) {
			p = nl ? nl + 1 : end;
			continue;
		}
		if (memchr(p, '\0', (size_t)(le - p)))
			return fail(err, errsize, line, "NUL byte");
		*le = '\0'; /* the '\n', '\r' or (at end) beyond: see below */
		id = field(&q, le, '|');
		state = id ? field(&q, le, '|') : NULL;
		row.reason = state ? field(&q, le, '|') : NULL;
		if (!row.reason)
			return fail(err, errsize, line,
				    "expected id|state|reason|comment");
		row.tag = q; /* the rest: a comment may hold a "|" */
		/* squeue prints array jobs as 12_3 and het jobs as 12+0 */
		if (!all_digits(id) || pt__parse_u64(id, &v) < 0 || v == 0)
			return fail(err, errsize, line, "job id '%.40s'", id);
		row.id = v;
		if (!*state)
			return fail(err, errsize, line, "empty state");
		row.state = pt__slurm_state(state, strlen(state));
		row.state_name = state;
		r = fn(ctx, &row);
		if (r < 0)
			return r;
		p = nl ? nl + 1 : end;
	}
	return 0;
}

static int parse_num(const char *v, double lo, double hi, double *ret)
{
	double d;

	if (pt__parse_double(v, &d) < 0 || !(d >= lo && d <= hi))
		return -EINVAL;
	*ret = d;
	return 0;
}

int pt__slurm_parse_status(const char *text, size_t len,
			   struct pt_slurm_status *ret, char *err,
			   size_t errsize)
{
	struct pt_slurm_status st = { 0 };
	char buf[PT_SLURM_LINE_MAX + 1];
	const char *p = text, *end = text + len;
	unsigned line = 0;
	bool have_code = false;

	if (len > PT_SLURM_STATUS_MAX)
		return fail(err, errsize, 0, "%zu bytes (at most %u)", len,
			    PT_SLURM_STATUS_MAX);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		char *key, *val, *sp;
		double d;

		line++;
		if (!nl)
			return fail(err, errsize, line, "no end of line");
		if (n > PT_SLURM_LINE_MAX)
			return fail(err, errsize, line, "too long");
		memcpy(buf, p, n);
		buf[n] = '\0';
		p = nl + 1;
		if (strlen(buf) != n)
			return fail(err, errsize, line, "NUL byte");
		if (line == 1) {
			if (strcmp(buf, "proctor-slurm-status 1"))
				return fail(err, errsize, line,
					    "not a proctor Slurm status");
			continue;
		}
		sp = strchr(buf, ' ');
		if (!sp)
			return fail(err, errsize, line, "expected 'key value'");
		*sp = '\0';
		key = buf;
		val = sp + 1;
		if (!strcmp(key, "how")) {
			if (!strcmp(val, "exit"))
				st.how = PT_SLURM_HOW_EXIT;
			else if (!strcmp(val, "signal"))
				st.how = PT_SLURM_HOW_SIGNAL;
			else if (!strcmp(val, "timeout"))
				st.how = PT_SLURM_HOW_TIMEOUT;
			else if (!strcmp(val, "error"))
				st.how = PT_SLURM_HOW_ERROR;
			else
				return fail(err, errsize, line, "how: '%.40s'",
					    val);
		} else if (!strcmp(key, "code")) {
			if (parse_num(val, 0, 255, &d) < 0 || d != (int)d)
				return fail(err, errsize, line, "code: '%.40s'",
					    val);
			st.code = (int)d;
			have_code = true;
		} else if (!strcmp(key, "start") || !strcmp(key, "end")) {
			if (parse_num(val, 0, 1e11, &d) < 0)
				return fail(err, errsize, line, "%s: '%.40s'",
					    key, val);
			*(key[0] == 's' ? &st.start : &st.end) = d;
		} else if (!strcmp(key, "port_base")) {
			if (parse_num(val, 1, 65535, &d) < 0 || d != (int)d)
				return fail(err, errsize, line,
					    "port_base: '%.40s'", val);
			st.port_base = (unsigned)d;
		} else if (!strcmp(key, "host")) {
			if (strlen(val) >= sizeof(st.host))
				return fail(err, errsize, line,
					    "host too long");
			memcpy(st.host, val, strlen(val) + 1);
		} else if (!strcmp(key, "message")) {
			snprintf(st.message, sizeof(st.message), "%s", val);
		} else if (!strcmp(key, "chaos")) {
			snprintf(st.chaos, sizeof(st.chaos), "%s", val);
		} else {
			return fail(err, errsize, line, "unknown key '%.40s'",
				    key);
		}
	}
	if (line == 0)
		return fail(err, errsize, 0, "empty");
	if (!st.how || !have_code)
		return fail(err, errsize, line, "no 'how' or 'code'");
	if (st.end < st.start)
		return fail(err, errsize, line, "ends before it starts");
	*ret = st;
	return 0;
}

struct pt_slurm_end pt__slurm_end_of(enum pt_slurm_state s,
				     bool cancelled_by_proctor)
{
	struct pt_slurm_end e = { .outcome = PT_OUTCOME_CRASH,
				  .started = true };

	switch (s) {
	case PT_SLURM_TIMEOUT:
	case PT_SLURM_DEADLINE:
		e.outcome = PT_OUTCOME_TIMEOUT;
		e.timed_out = true;
		break;
	case PT_SLURM_CANCELLED:
		if (cancelled_by_proctor) {
			e.outcome = PT_OUTCOME_NONE;
			e.started = false;
		}
		break;
	case PT_SLURM_FAILED:
		e.outcome = PT_OUTCOME_FAIL;
		break;
	default:
		break;
	}
	return e;
}

void pt__slurm_end_comment(char *buf, size_t size, uint64_t id, bool listed,
			   enum pt_slurm_state s, const char *state_name,
			   const char *reason, bool cancelled_by_proctor)
{
	bool ours = s == PT_SLURM_CANCELLED && cancelled_by_proctor;
	bool has_reason = reason && reason[0] && strcmp(reason, "None");

	if (!listed) {
		snprintf(buf, size,
			 "Slurm no longer knows job %" PRIu64
			 " and it left no status (MinJobAge?)",
			 id);
		return;
	}
	snprintf(buf, size, "%sSlurm job %" PRIu64 ": %.40s%s%s%.80s%s",
		 ours ? "interrupted: cancelled by proctor; " : "", id,
		 state_name && state_name[0] ? state_name : "ended",
		 s == PT_SLURM_COMPLETED ? " without a status" : "",
		 has_reason ? ", reason " : "", has_reason ? reason : "",
		 s == PT_SLURM_CANCELLED && !ours
			 ? " (cancelled outside proctor)"
			 : "");
}
