/*
 * base/chaos.h - the fault plan of `proctor run --chaos` (docs/chaos.md):
 * parsed once by the run (to refuse a bad plan before anything starts)
 * and again by the preloaded runtime in each job process, which decides,
 * from the seed and a per-process call count only, which calls fail. The
 * same seed and plan fail the same calls at the same counts.
 */
#ifndef PT_BASE_CHAOS_H
#define PT_BASE_CHAOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pt_chaos_call {
	PT_CHAOS_WRITE,
	PT_CHAOS_READ,
	PT_CHAOS_FSYNC,
	PT_CHAOS_OPEN,
	PT_CHAOS_CONNECT,
	PT_CHAOS_SEND,
	PT_CHAOS_RECV,
	PT_CHAOS_ACCEPT,
	PT_CHAOS_MALLOC, /* malloc, calloc, realloc, the aligned ones */
	PT_CHAOS_NCALLS
};

/* The "errno" of a rule that returns a short count instead of failing. */
#define PT_CHAOS_SHORT (-1)

#define PT_CHAOS_MAX_RULES  16
#define PT_CHAOS_MAX_FILTER 128
#define PT_CHAOS_MAX_SPEC   2048

struct pt_chaos_rule {
	uint8_t call; /* enum pt_chaos_call */
	int err;      /* an errno value, or PT_CHAOS_SHORT */
	double rate;  /* fraction of the matching calls, (0, 1] */
	char filter[PT_CHAOS_MAX_FILTER]; /* path or "addr:port" prefix; "" */
	uint64_t min_size; /* malloc: only allocations of >= min_size bytes */
};

/* The largest size of a malloc filter (@>=SIZE): 1 TiB. */
#define PT_CHAOS_MAX_SIZE (UINT64_C(1) << 40)
/* The largest N of clock:jump:S@N, the largest |S| and FACTOR. */
#define PT_CHAOS_MAX_READS  1000000000u
#define PT_CHAOS_MAX_JUMP   (100.0 * 365 * 86400)
#define PT_CHAOS_MAX_FACTOR 1000.0

struct pt_chaos {
	struct pt_chaos_rule rules[PT_CHAOS_MAX_RULES];
	unsigned n;
	char exe[64]; /* only processes of this program name; "": not shells */
	/* Process faults (done by the runner): "kill@T" SIGKILL to the job's
	 * process group at a seeded time in (0, T] s; "pause@T:D" SIGSTOP to
	 * it at a seeded time in (0, T] s, SIGCONT D s later;
	 * "kill-one@T" SIGKILL to one process of the group, chosen by the
	 * seed, at a seeded time in (0, T] s. 0: none. */
	double kill_max, pause_max, pause_len, kill_one_max;
	/* Clock faults (done by the runtime, docs/chaos.md): "clock:jump:S[@N]"
	 * the clocks jump by S s (realtime only when S < 0) at a seeded read
	 * in [1, N] of each process (N: 100 by default); "clock:fast:F" the
	 * clocks run F times as fast from the start of the process. 0: none. */
	double clock_jump;
	uint32_t clock_jump_within;
	double clock_fast;
};

/*
 * Parses "ELEM[,ELEM...]" (',' or ';' separate): "CALL:ERR[:RATE][@FILTER]"
 * (for malloc the filter is ">=SIZE"), "clock:jump:S[@N]", "clock:fast:F",
 * "exe=NAME", "kill@T", "kill-one@T" or "pause@T:D". 0, or -EINVAL with a
 * message in err.
 */
int pt__chaos_parse(const char *spec, struct pt_chaos *c, char *err,
		    size_t errlen);

/*
 * When the process faults of a job happen, in seconds after its start
 * (0: not at all), and kill-one's seeded pick (the victim is the one at
 * pick % n among the n candidates): from the seed, the job id and the
 * attempt only, so every executor schedules the same faults.
 */
struct pt_chaos_times {
	double kill, stop, stop_len, kill_one;
	uint64_t pick;
};

/*
 * The process-fault plan of a job is run (the run's; NULL: none) unless
 * field, its chaos field, is "off" (or unparsable): none, or a plan of
 * its own. Its times go to *t (all 0 when it has no process faults).
 */
void pt__chaos_times(const struct pt_chaos *run, const char *field,
		     uint64_t seed, const char *job_id, unsigned attempt,
		     struct pt_chaos_times *t);

/* Whether c has process faults (kill@, kill-one@, pause@). */
bool pt__chaos_has_process_faults(const struct pt_chaos *c);

/* A uniform fraction in [0, 1) of (seed, a, b): the seeded times. */
double pt__chaos_frac(uint64_t seed, uint64_t a, uint64_t b);

/* True when call number n (from 1) of rule i fails under seed. */
bool pt__chaos_hit(uint64_t seed, unsigned i, uint64_t n, double rate);

/* The clock read (from 1) at which clock:jump jumps under seed. */
uint64_t pt__chaos_jump_read(const struct pt_chaos *c, uint64_t seed);

const char *pt__chaos_call_name(unsigned call);
/* "EIO", "short"... for a rule's err. */
const char *pt__chaos_err_name(int err);

#endif
