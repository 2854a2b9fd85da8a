/* base/error.c - error messages and names, version. */
#include "base/common.h"

struct errname {
	int value;
	const char *name;
	const char *msg;
};

static const struct errname pt_errors[] = {
#define PT__ERR_ROW(name, value, msg) { value, "PT_" #name, msg },
	PT_ERROR_MAP(PT__ERR_ROW)
#undef PT__ERR_ROW
};

/* errno names for the codes the library actually returns. */
static const struct errname sys_errors[] = {
#define E(x) { x, #x, NULL }
	E(EPERM), E(ENOENT), E(ESRCH), E(EINTR), E(EIO), E(ENXIO),
	E(E2BIG), E(ENOEXEC), E(EBADF), E(ECHILD), E(EAGAIN), E(ENOMEM),
	E(EACCES), E(EFAULT), E(EBUSY), E(EEXIST), E(EXDEV), E(ENODEV),
	E(ENOTDIR), E(EISDIR), E(EINVAL), E(ENFILE), E(EMFILE), E(ENOTTY),
	E(EFBIG), E(ENOSPC), E(ESPIPE), E(EROFS), E(EMLINK), E(EPIPE),
	E(EDOM), E(ERANGE), E(EDEADLK), E(ENAMETOOLONG), E(ENOLCK),
	E(ENOSYS), E(ENOTEMPTY), E(ELOOP), E(EOVERFLOW), E(EILSEQ),
	E(ENOTSUP), E(EADDRINUSE), E(ECONNREFUSED), E(ECONNRESET),
	E(ETIMEDOUT), E(EALREADY), E(EINPROGRESS), E(ECANCELED),
	E(EPROTO), E(EMSGSIZE), E(EBADMSG),
#undef E
};

static const struct errname *lookup(int err)
{
	for (size_t i = 0; i < PT_ARRAY_SIZE(pt_errors); i++) {
		if (pt_errors[i].value == err)
			return &pt_errors[i];
	}
	return NULL;
}

const char *pt_strerror(int err)
{
	const struct errname *e;

	if (err >= 0)
		return "success";
	e = lookup(err);
	if (e)
		return e->msg;
	if (err > -1000)
		return strerror(-err);
	return "unknown error";
}

const char *pt_error_name(int err)
{
	const struct errname *e;

	if (err >= 0)
		return "OK";
	e = lookup(err);
	if (e)
		return e->name;
	for (size_t i = 0; i < PT_ARRAY_SIZE(sys_errors); i++) {
		if (sys_errors[i].value == -err)
			return sys_errors[i].name;
	}
	return "E?";
}

const char *pt_version(void)
{
	return PT_VERSION_STRING;
}

static const char *const outcome_names[PT_OUTCOME_COUNT_] = {
	[PT_OUTCOME_NONE] = "none",
	[PT_OUTCOME_PASS] = "pass",
	[PT_OUTCOME_FAIL] = "fail",
	[PT_OUTCOME_SKIP] = "skip",
	[PT_OUTCOME_SKIPPED_DEPENDENCY] = "skipped-dependency",
	[PT_OUTCOME_SKIPPED_RESOURCE] = "skipped-resource",
	[PT_OUTCOME_SKIPPED_MANIFEST] = "skipped-manifest",
	[PT_OUTCOME_NOT_SUPPORTED] = "not-supported",
	[PT_OUTCOME_NOT_IMPLEMENTED] = "not-implemented",
	[PT_OUTCOME_UNDECIDED] = "undecided",
	[PT_OUTCOME_CRASH] = "crash",
	[PT_OUTCOME_TIMEOUT] = "timeout",
};

const char *pt_outcome_name(enum pt_outcome o)
{
	if ((unsigned)o >= PT_OUTCOME_COUNT_)
		return "none";
	return outcome_names[o];
}

int pt_outcome_parse(const char *name, enum pt_outcome *ret)
{
	for (int i = 0; i < PT_OUTCOME_COUNT_; i++) {
		if (name && !strcmp(name, outcome_names[i])) {
			*ret = (enum pt_outcome)i;
			return 0;
		}
	}
	return PT_EPARSE;
}

const char *pt_outcome_class(enum pt_outcome o)
{
	switch (o) {
	case PT_OUTCOME_NONE:
	case PT_OUTCOME_COUNT_:
		return "none";
	case PT_OUTCOME_PASS:
		return "pass";
	case PT_OUTCOME_FAIL:
	case PT_OUTCOME_CRASH:
	case PT_OUTCOME_TIMEOUT:
		return "fail";
	default:
		return "skip";
	}
}
