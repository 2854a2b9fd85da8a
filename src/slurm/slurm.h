/*
 * slurm/slurm.h - running proctor jobs as Slurm batch jobs
 * (docs/slurm.md).
 *
 * Slurm is driven through its command-line clients (sbatch, squeue,
 * scancel), never libslurm: libslurm's ABI changes with every Slurm
 * release (a new soname each time), so a binary linked to one release
 * breaks on a cluster running another; the clients' options and the
 * fields their -o formats print have been stable for a decade. Each job
 * runs under a small batch wrapper (a Perl script proctor writes into
 * the session, wrapper.c) that makes the job's temporary directory and
 * leases its TCP ports on the node, enforces its time limit to the
 * second, and writes how the job ended into the job's directory. That
 * file is the durable truth; Slurm's own state (squeue, which shows
 * finished jobs for MinJobAge seconds) explains the jobs that ended
 * without one: time limit, cancellation, node failure.
 */
#ifndef PT_SLURM_SLURM_H
#define PT_SLURM_SLURM_H

#include "base/chaos.h"
#include "base/common.h"

/* Job states as squeue prints them (%T). */
enum pt_slurm_state {
	PT_SLURM_UNKNOWN = 0, /* a name this code does not know */
	PT_SLURM_PENDING,
	PT_SLURM_CONFIGURING,
	PT_SLURM_RUNNING,
	PT_SLURM_SUSPENDED,
	PT_SLURM_COMPLETING,
	PT_SLURM_STAGE_OUT,
	PT_SLURM_SIGNALING,
	PT_SLURM_RESIZING,
	PT_SLURM_REQUEUED,
	PT_SLURM_REQUEUE_HOLD,
	PT_SLURM_REQUEUE_FED,
	PT_SLURM_RESV_DEL_HOLD,
	PT_SLURM_STOPPED,
	/* final states from here on */
	PT_SLURM_COMPLETED,
	PT_SLURM_CANCELLED,
	PT_SLURM_FAILED,
	PT_SLURM_TIMEOUT,
	PT_SLURM_NODE_FAIL,
	PT_SLURM_PREEMPTED,
	PT_SLURM_BOOT_FAIL,
	PT_SLURM_DEADLINE,
	PT_SLURM_OUT_OF_MEMORY,
	PT_SLURM_REVOKED,
	PT_SLURM_SPECIAL_EXIT,
};

enum pt_slurm_state pt__slurm_state(const char *name, size_t len);
bool pt__slurm_state_final(enum pt_slurm_state s);

/*
 * How a job that ended without the wrapper's status ends for proctor,
 * from Slurm's final state: TIMEOUT and DEADLINE are timeouts, FAILED a
 * failure, CANCELLED by proctor (Ctrl-C) not run (started false: a
 * resume runs it again), anything else (CANCELLED by someone else,
 * NODE_FAIL, OUT_OF_MEMORY, BOOT_FAIL, PREEMPTED, COMPLETED without a
 * status) a crash.
 */
struct pt_slurm_end {
	enum pt_outcome outcome;
	bool started, timed_out;
};
struct pt_slurm_end pt__slurm_end_of(enum pt_slurm_state s,
				     bool cancelled_by_proctor);

/*
 * Its comment into buf: "Slurm job ID: STATE[, reason R]" with what
 * proctor knows ("interrupted: cancelled by proctor; ...", "(cancelled
 * outside proctor)", "COMPLETED without a status"); when Slurm no
 * longer lists the job (listed false): that, and MinJobAge as the likely
 * reason.
 */
void pt__slurm_end_comment(char *buf, size_t size, uint64_t id, bool listed,
			   enum pt_slurm_state s, const char *state_name,
			   const char *reason, bool cancelled_by_proctor);

/* Limits of what the parsers accept. */
#define PT_SLURM_LINE_MAX   4096	/* one line of squeue or a status */
#define PT_SLURM_OUTPUT_MAX (16u << 20) /* what a client may print */
#define PT_SLURM_STATUS_MAX 4096	/* a status file */

/*
 * The squeue format proctor asks for, one job a line:
 * "<id>|<state>|<reason>|<comment>" (squeue -h -t all -o PT_SLURM_SQUEUE_FMT).
 */
#define PT_SLURM_SQUEUE_FMT "%i|%T|%r|%k"

/* A line of squeue output; strings point into the parsed text. */
struct pt_slurm_row {
	uint64_t id;
	enum pt_slurm_state state;
	const char *state_name; /* as printed, NUL-terminated */
	const char *reason;	/* "None", "TimeLimit", ... */
	const char *tag; /* its comment (the job directory name proctor gave) */
	unsigned line;	 /* 1-based */
};

/*
 * Parses squeue output in place (text is modified: fields become
 * NUL-terminated; text[len] must exist and be 0), calling fn for each job.
 * Empty lines are skipped. A malformed line fails with PT_EPARSE and "line N:
 * ..." in err (size errsize); fn's negative return stops the parse and is
 * returned.
 */
int pt__slurm_parse_queue(char *text, size_t len,
			  int (*fn)(void *ctx, const struct pt_slurm_row *row),
			  void *ctx, char *err, size_t errsize);

/* How the wrapper saw the job end (its status file). */
enum pt_slurm_how {
	PT_SLURM_HOW_EXIT = 1, /* code: the exit status */
	PT_SLURM_HOW_SIGNAL,   /* code: the signal that ended it */
	PT_SLURM_HOW_TIMEOUT,  /* code: 15 (SIGTERM sufficed) or 9 */
	PT_SLURM_HOW_ERROR,    /* not run: message says why */
};

struct pt_slurm_status {
	enum pt_slurm_how how;
	int code;
	double start, end;  /* seconds since the epoch, on the node */
	unsigned port_base; /* 0: none */
	char host[256];
	char message[1024]; /* "" when none */
	char chaos[1024];   /* the --chaos process faults done; "" none */
};

/*
 * Parses a status file ("proctor-slurm-status 1" then "key value"
 * lines). PT_EPARSE with the line and field in err on malformed input.
 */
int pt__slurm_parse_status(const char *text, size_t len,
			   struct pt_slurm_status *ret, char *err,
			   size_t errsize);

/* The wrapper script's text (Perl), line by line, NULL-terminated. */
extern const char *const pt__slurm_wrapper[];

/*
 * Writes the wrapper into path, created exclusively (O_EXCL, no symlink
 * followed), mode 0700. -EEXIST when it is there.
 */
int pt__slurm_write_wrapper(const char *path);

/* What one job runs; written to <job dir>/spec by pt__slurm_write_spec. */
struct pt_slurm_spec {
	const char *shell; /* "bash" */
	const char *command;
	double timeout;		     /* s, enforced by the wrapper; 0: none */
	double grace;		     /* SIGTERM to SIGKILL, s */
	unsigned ports;		     /* ports per job; 0: none */
	unsigned port_min, port_max; /* 0: 20000-32000 */
	const char *cwd;	     /* NULL or "": the job's temp dir */
	bool keep_tmp;
	const char *const *env; /* "NAME=value", NULL-terminated */
	/* --chaos process faults for the wrapper to do (NULL or all 0:
	 * none), and the log they go to (NULL: none) */
	const struct pt_chaos_times *chaos;
	const char *chaos_log;
};

/* Creates the file exclusively; -EEXIST when it is there. */
int pt__slurm_write_spec(const char *path, const struct pt_slurm_spec *s);

/* The Slurm clients, with one setting shared by every call. */
struct pt_slurm_client {
	const char *partition; /* NULL: the cluster's default */
	int timeout_ms;	       /* per client call; <= 0: 30 s */
};

/* One batch job to submit. */
struct pt_slurm_submit {
	const char *name;      /* the job name (squeue -n finds it) */
	const char *comment;   /* its comment: the job directory name */
	const char *wrapper;   /* the wrapper's path */
	const char *job_dir;   /* its argument; also the job's -D */
	const char *out, *err; /* -o, -e */
	unsigned time_min;     /* -t in minutes; 0: the partition's */
};

/*
 * sbatch --parsable: *ret_id on success. When Slurm refuses the job
 * (sbatch exits non-zero) returns PT_EFAILED with sbatch's message in
 * msg; other failures (sbatch missing, hung) -errno with a message too.
 */
int pt__slurm_submit(const struct pt_slurm_client *c,
		     const struct pt_slurm_submit *s, uint64_t *ret_id,
		     char *msg, size_t msgsize);

/*
 * squeue -h -t all -n NAME: every job of that name Slurm still knows,
 * finished ones included (for MinJobAge), through fn.
 */
int pt__slurm_query(const struct pt_slurm_client *c, const char *name,
		    int (*fn)(void *ctx, const struct pt_slurm_row *row),
		    void *ctx, char *msg, size_t msgsize);

/* scancel of jobs ids[0..n-1]; one call. */
int pt__slurm_cancel(const struct pt_slurm_client *c, const uint64_t *ids,
		     size_t n, char *msg, size_t msgsize);

#endif
