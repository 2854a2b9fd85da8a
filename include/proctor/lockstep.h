/*
 * proctor/lockstep.h - a controlled scheduler that finds and replays
 * concurrency bugs in message-passing code (docs/lockstep.md).
 *
 * Test code runs as managed *actors* (coroutines, each on its own stack),
 * of which at most one runs between two sync points. Every function of the
 * actor API below is a sync point: the controller hands the next step to
 * the actor its strategy picks (random, PCT, fair PCT, POS, iterative
 * deepening PCT, or replay of a trace). An iteration is a pure function of
 * those choices, so a failing schedule is saved as a trace and replayed.
 *
 *	static void body(void *arg)
 *	{
 *		int a = pt_ls_spawn(worker, NULL), b = pt_ls_spawn(worker,
 *NULL);
 *		... pt_ls_recv(&m) twice ...
 *		PT_LS_ASSERT(counter == 2);
 *	}
 *	struct pt_ls_opts o = { .iterations = 100, .strategy = PT_LS_PCT };
 *	pt_ls_run("counter", &o, body, NULL, &report);
 *
 * Actor functions may only be called from inside an iteration (from an
 * actor); elsewhere they return PT_ESTATE. Pids are registration indices:
 * 1 for the test body, then 2, 3... in spawn order. Time is virtual:
 * sleeps and timeouts never sleep; timers fire only when every actor is
 * blocked. All memory of an iteration (mailboxes, registries, what
 * pt_ls_alloc() returned) is released when the iteration ends.
 *
 * Scheduling is cooperative: code between two sync points runs alone and
 * cannot be preempted. Each actor has a fixed stack (opts.stack_size,
 * default 256 KiB) with a guard page below it: overflowing it is a
 * SIGSEGV, as for a thread. Receive predicates must be pure (no pt_ls_*
 * calls): they also run in the sender when it delivers.
 */
#ifndef PROCTOR_LOCKSTEP_H
#define PROCTOR_LOCKSTEP_H

#include <proctor/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- messages --------------------------------------------------------- */

/* Types below 0 are the library's; user messages use types >= 0. */
enum {
	PT_LS_DOWN = -1, /* monitor fired: from = dead pid, ref, a = reason */
	PT_LS_EXIT = -2, /* exit signal to a trapping actor: from, a = reason */
};

/* Exit reasons (a DOWN/EXIT message's a). User reasons are > 0x100. */
enum {
	PT_LS_NORMAL = 0, /* the actor function returned, or exit(normal) */
	PT_LS_KILLED = 1, /* pt_ls_kill(pid, PT_LS_KILLED): untrappable */
	PT_LS_NOPROC = 2, /* monitor of a pid that is not alive */
	PT_LS_SHUTDOWN = 3,
};

/* A message: a small value, copied on send. ptr is never dereferenced. */
struct pt_ls_msg {
	int type;     /* user type >= 0, or PT_LS_DOWN / PT_LS_EXIT */
	int from;     /* sender pid (set by the library) */
	int64_t a, b; /* payload */
	void *ptr;    /* payload (the sender keeps ownership) */
	/*
	 * Reference (monitor ref for DOWN, call ref...). pt_ls_call,
	 * pt_ls_reply and pt_ls_server_stop overwrite it in the message
	 * they send (it carries the call's reference): a request or reply
	 * cannot use ref as payload; use a, b or ptr. Casts and plain sends
	 * keep it.
	 */
	uint64_t ref;
};

/* ---- actors (sync points) --------------------------------------------- */

/* Spawns an actor running fn(arg); returns its pid (> 0) or an error. */
PT_API int pt_ls_spawn(void (*fn)(void *arg), void *arg);
/* Same, linked to the caller. */
PT_API int pt_ls_spawn_link(void (*fn)(void *arg), void *arg);
#define PT_LS_NAME_MAX 31 /* bytes of an actor's name */
/*
 * Same, with a name shown in reports, deadlock cycles and traces ("P3
 * (cache)"); at most PT_LS_NAME_MAX bytes are kept. A name is a label, not
 * a registration.
 */
PT_API int pt_ls_spawn_named(const char *name, bool link, void (*fn)(void *arg),
			     void *arg);
/* Names the calling actor (not a sync point); "" removes the name. */
PT_API int pt_ls_set_name(const char *name);
/* Pid of the calling actor. Not a sync point. */
PT_API int pt_ls_self(void);

/* Sends a copy of *m (from is set to the caller). Dead pid: dropped. */
PT_API int pt_ls_send(int pid, const struct pt_ls_msg *m);
/* Receives the oldest message. Blocks (virtually) until there is one. */
PT_API int pt_ls_recv(struct pt_ls_msg *ret);
/*
 * Selective receive: the oldest message for which pred(m, ctx) is true;
 * the others stay in the mailbox in order. timeout_ms < 0 waits forever;
 * otherwise returns -ETIMEDOUT after timeout_ms of virtual time.
 */
PT_API int pt_ls_recv_match(bool (*pred)(const struct pt_ls_msg *m, void *ctx),
			    void *ctx, int64_t timeout_ms,
			    struct pt_ls_msg *ret);
/* Any message, with a timeout (virtual milliseconds). */
PT_API int pt_ls_recv_timeout(int64_t timeout_ms, struct pt_ls_msg *ret);

/* Lets another actor run (a sync point doing nothing). */
PT_API int pt_ls_yield(void);
/* Sleeps ms of virtual time. */
PT_API int pt_ls_sleep(int64_t ms);
/* Virtual time of the iteration in milliseconds (not a sync point). */
PT_API int64_t pt_ls_now(void);

/*
 * Delivers *m to pid after ms of virtual time. Returns a timer reference
 * (> 0) through *ret_ref. pt_ls_cancel_timer returns the milliseconds
 * that were left, or -ENOENT when the timer already fired or is unknown.
 */
PT_API int pt_ls_send_after(int pid, const struct pt_ls_msg *m, int64_t ms,
			    uint64_t *ret_ref);
PT_API int64_t pt_ls_cancel_timer(uint64_t ref);

/*
 * Monitors pid: when it exits (or at once, with PT_LS_NOPROC, when it is
 * not alive) the caller receives a PT_LS_DOWN message with this ref.
 * demonitor with flush also removes a DOWN already in the mailbox.
 */
PT_API int pt_ls_monitor(int pid, uint64_t *ret_ref);
PT_API int pt_ls_demonitor(uint64_t ref, bool flush);

/*
 * Links (bidirectional). When a linked actor exits with a reason other
 * than PT_LS_NORMAL, the caller exits with the same reason, unless it
 * traps exits: then it receives a PT_LS_EXIT message instead.
 */
PT_API int pt_ls_link(int pid);
PT_API int pt_ls_unlink(int pid);
/* Sets trap_exit for the caller; returns the previous value (0/1). */
PT_API int pt_ls_trap_exit(bool on);
/* Sends an exit signal to pid (Erlang exit/2). */
PT_API int pt_ls_kill(int pid, int reason);
/* 1 when pid is alive, 0 when not. */
PT_API int pt_ls_alive(int pid);
/*
 * Ends the calling actor with reason (never returns). Calling it outside
 * an iteration is a programming error: there is nothing to return to, so
 * it aborts.
 */
PT_API __attribute__((noreturn)) void pt_ls_exit(int reason);

/* A reference unique within the iteration (not a sync point). */
PT_API uint64_t pt_ls_make_ref(void);
/* Memory released when the iteration ends (NULL on ENOMEM). */
PT_API void *pt_ls_alloc(size_t size);

/*
 * Failure of the iteration: an assertion (kind "assert") or a crash in an
 * actor (kind "crash"). Neither returns. Outside an iteration they do
 * nothing.
 */
PT_API void pt_ls_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
PT_API void pt_ls_crash(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define PT_LS_ASSERT(cond)                                        \
 do {                                                             \
  if (!(cond))                                                    \
   pt_ls_fail(__FILE__, __LINE__, "assertion failed: %s", #cond); \
 } while (0)
#define PT_LS_ASSERT_INT_EQ(x, y)                                             \
 do {                                                                         \
  long long pt_ls_x_ = (long long)(x), pt_ls_y_ = (long long)(y);             \
  if (pt_ls_x_ != pt_ls_y_)                                                   \
   pt_ls_fail(__FILE__, __LINE__, "%s == %s: %lld vs %lld", #x, #y, pt_ls_x_, \
	      pt_ls_y_);                                                      \
 } while (0)

/* ---- GenServer-shaped servers ----------------------------------------- */

/* Who to reply to (handle_call's from; pt_ls_reply for deferred replies). */
struct pt_ls_from {
	int pid;
	uint64_t ref;
};

/* What handle_call returns. */
enum {
	PT_LS_REPLY = 0,   /* send *reply now */
	PT_LS_NOREPLY = 1, /* reply later with pt_ls_reply(from, ...) */
	PT_LS_STOP = 2,	   /* send *reply, then stop with reason normal */
};

/* What init returns to decline to start (Elixir's :ignore). */
enum { PT_LS_IGNORE = 1 };

struct pt_ls_server_ops {
	/*
	 * Required. 0 to start; PT_LS_IGNORE declines (the server ends
	 * normally and start returns PT_LS_IGNORE); a negative error fails
	 * (the server ends and start returns the error).
	 */
	int (*init)(void *arg, void **ret_state);
	int (*handle_call)(void *state, const struct pt_ls_msg *req,
			   struct pt_ls_from from, struct pt_ls_msg *reply);
	/* 0, or PT_LS_STOP to stop (normal). */
	int (*handle_cast)(void *state, const struct pt_ls_msg *msg);
	/* Any other message (DOWN, EXIT, plain sends). 0 or PT_LS_STOP. */
	int (*handle_info)(void *state, const struct pt_ls_msg *msg);
	/* Name shown in reports (default: the key of a named start). */
	const char *name;
};

/*
 * Starts a server: spawns it, runs init in it, and returns once init is
 * done: 0 and *ret_pid, PT_LS_IGNORE when init declined (no server,
 * *ret_pid untouched), or init's error. Named start: the server registers
 * key in reg (a unique registry) before init; -EEXIST when the name is
 * taken (*ret_pid is then the holder's pid).
 */
PT_API int pt_ls_server_start(const struct pt_ls_server_ops *ops, void *arg,
			      int *ret_pid);
PT_API int pt_ls_server_start_link(const struct pt_ls_server_ops *ops,
				   void *arg, int *ret_pid);
struct pt_ls_registry;
PT_API int pt_ls_server_start_named(struct pt_ls_registry *reg, const char *key,
				    bool link,
				    const struct pt_ls_server_ops *ops,
				    void *arg, int *ret_pid);
/*
 * Calls a server: monitor + send + selective receive on a unique
 * reference, so other messages stay in the caller's mailbox. Returns 0
 * with the reply, or PT_EWORKER when the server is not alive or exits
 * before replying (never hangs on a dead server).
 */
PT_API int pt_ls_call(int pid, const struct pt_ls_msg *req,
		      struct pt_ls_msg *ret_reply);
/* Same; the timeout is ignored under the controller (as upstream). */
PT_API int pt_ls_call_timeout(int pid, const struct pt_ls_msg *req,
			      int64_t timeout_ms, struct pt_ls_msg *ret_reply);
PT_API int pt_ls_cast(int pid, const struct pt_ls_msg *msg);
/*
 * By name (Elixir's {:via, Registry, key}): the key is looked up in reg
 * in the same sync point that sends, so nothing can run between the
 * lookup and the send. No live holder: call and stop give PT_EWORKER (as
 * a call to a dead pid), cast is dropped and returns 0 (as
 * GenServer.cast).
 */
PT_API int pt_ls_call_name(struct pt_ls_registry *reg, const char *key,
			   const struct pt_ls_msg *req,
			   struct pt_ls_msg *ret_reply);
PT_API int pt_ls_cast_name(struct pt_ls_registry *reg, const char *key,
			   const struct pt_ls_msg *msg);
PT_API int pt_ls_server_stop_name(struct pt_ls_registry *reg, const char *key,
				  int reason);
/* Deferred reply to a call that handle_call answered PT_LS_NOREPLY. */
PT_API int pt_ls_reply(struct pt_ls_from from, const struct pt_ls_msg *reply);
/* Stops a server synchronously with reason; PT_EWORKER if not alive. */
PT_API int pt_ls_server_stop(int pid, int reason);

/* ---- registry ---------------------------------------------------------- */

enum pt_ls_keys { PT_LS_UNIQUE = 0, PT_LS_DUPLICATE = 1 };

struct pt_ls_entry {
	int pid;
	int64_t value;
};

/*
 * A registry of keys (strings, at most 255 bytes) to (pid, value). An
 * entry is removed when its pid exits. The registry belongs to the
 * iteration. Every operation but new is a sync point.
 */
PT_API struct pt_ls_registry *pt_ls_registry_new(enum pt_ls_keys kind);
/* Registers the caller under key; -EEXIST for a taken unique key. */
PT_API int pt_ls_register(struct pt_ls_registry *r, const char *key,
			  int64_t value);
/* Removes the caller's entries under key; returns how many. */
PT_API int pt_ls_unregister(struct pt_ls_registry *r, const char *key);
/* Up to max entries under key into out; returns how many there are. */
PT_API int pt_ls_lookup(struct pt_ls_registry *r, const char *key,
			struct pt_ls_entry *out, size_t max);
/* Pid registered under a unique key, or 0. */
PT_API int pt_ls_whereis(struct pt_ls_registry *r, const char *key);
/* Calls fn for every entry under key (in registration order). */
PT_API int pt_ls_dispatch(struct pt_ls_registry *r, const char *key,
			  void (*fn)(const struct pt_ls_entry *e, void *ctx),
			  void *ctx);
/* Number of entries in the registry. */
PT_API int pt_ls_count(struct pt_ls_registry *r);
/* Number of keys pid is registered under. */
PT_API int pt_ls_keys(struct pt_ls_registry *r, int pid);

/* ---- strategies, runs, reports ----------------------------------------- */

enum pt_ls_strategy {
	PT_LS_PCT = 0, /* default */
	PT_LS_RANDOM,
	PT_LS_FAIR_PCT,
	PT_LS_POS,
	PT_LS_IDPCT,
	PT_LS_REPLAY,
	/*
	 * Systematic depth-first search (proctor lockstep exec only): every
	 * schedule with at most `bound` preemptions (or delays).
	 */
	PT_LS_DFS,
};

enum pt_ls_kind {
	PT_LS_PASS = 0,
	PT_LS_FAIL_ASSERT,   /* "assert": a failed assertion in an actor */
	PT_LS_FAIL_CRASH,    /* "crash": pt_ls_crash, or the body killed */
	PT_LS_FAIL_DEADLOCK, /* "deadlock": nobody ready, somebody blocked */
	PT_LS_FAIL_STEPS,    /* "max_steps": step budget exceeded */
	PT_LS_FAIL_TIMEOUT,  /* "timeout": wall-time budget exceeded */
	PT_LS_FAIL_DIVERGED, /* "diverged": replay could not follow */
	PT_LS_FAIL_EXIT,     /* "exit": a program exited with a status != 0 */
};

PT_API const char *pt_ls_kind_name(enum pt_ls_kind k);
PT_API const char *pt_ls_strategy_name(enum pt_ls_strategy s);

/*
 * Options of a run. Zero means the default for every field (documented
 * on each); designated initializers are the intended use.
 */
struct pt_ls_opts {
	uint64_t seed;		      /* top seed (default 0) */
	unsigned iterations;	      /* default 100 */
	unsigned max_steps;	      /* per iteration, default 1000 */
	enum pt_ls_strategy strategy; /* default PT_LS_PCT */
	unsigned depth;		      /* PCT bug depth d, default 3 */
	unsigned fair_switch; /* fair PCT: step of the switch, max_steps/2 */
	double resample_prob; /* POS; used when resample_set, else 0.5 */
	bool resample_set;
	unsigned d_min, d_max; /* IDPCT: default 2 and 6 */
	unsigned timeout_ms;   /* wall time per iteration, default 10000 */
	size_t stack_size;     /* per actor, default 256 KiB */
	/*
	 * Each iteration in a forked child: an actor that calls abort() or
	 * assert(), or crashes, fails the iteration (kind "crash", with the
	 * schedule up to its last step) instead of killing the run, and
	 * global state the actors change does not leak into the next
	 * iteration. Costs a fork per iteration (about 0.1 ms).
	 */
	bool fork;
	const char *trace_dir; /* default $PT_LOCKSTEP_TRACE_DIR or "traces" */
	bool no_trace_file;    /* do not write a trace file on failure */
	const char *binary;    /* recorded in the trace (the replay command) */
	/* Replay: the trace's choices; fallback to seeded random when over. */
	const struct pt_ls_trace *replay;
	bool replay_fallback_random;
	uint64_t fallback_seed;
};

/* A trace: metadata and one registration index per step. */
struct pt_ls_trace;

/* The outcome of a run (owned by the caller; pt_ls_report_free). */
struct pt_ls_report {
	enum pt_ls_kind kind; /* PT_LS_PASS when every iteration passed */
	char *test;	      /* name of the test */
	unsigned iterations;  /* iterations run */
	unsigned iteration;   /* failing iteration (1-based), or 0 */
	uint64_t seed, iter_seed;
	char *strategy;		   /* "pct depth=3 max_steps=1000" */
	char *reason;		   /* one line, e.g. "counter == 2: 1 vs 2" */
	size_t fail_step;	   /* 1-based step of the failure, or 0 */
	uint64_t total_steps;	   /* steps of all iterations */
	struct pt_ls_trace *trace; /* failing iteration's trace, or NULL */
	char *trace_path;	   /* written trace file, or NULL */
	char *text;		   /* the whole human report, or NULL */
	/* lockstep exec, PT_LS_DFS: every schedule within the bound ran */
	bool exhausted;
};

PT_API struct pt_ls_report *pt_ls_report_free(struct pt_ls_report *r);

/*
 * Runs body as the root actor for opts->iterations iterations (or once
 * with opts->replay). Returns 0 when the run completed (pass or bug found:
 * see (*ret)->kind) or a negative error; *ret is written on success. On a
 * bug, the trace is written to <trace_dir>/<name>-iter<N>-seed<S>.lockstep
 * unless no_trace_file.
 */
PT_API int pt_ls_run(const char *name, const struct pt_ls_opts *opts,
		     void (*body)(void *arg), void *arg,
		     struct pt_ls_report **ret);

/*
 * Shrinks a failing trace: shortest failing prefix under strict replay,
 * then removal of single steps while the same failure kind reproduces,
 * repeated until nothing changes. *ret is a new trace (never longer).
 * PT_EFAILED when the trace does not reproduce at all.
 */
PT_API int pt_ls_shrink(const char *name, const struct pt_ls_opts *opts,
			const struct pt_ls_trace *t, void (*body)(void *arg),
			void *arg, struct pt_ls_trace **ret);

/* Traces: parse/format (format in docs/lockstep.md), accessors. */
#define PT_LS_TRACE_MAX_BYTES (16u << 20)
#define PT_LS_TRACE_MAX_STEPS 1000000u
/*
 * Parses a trace. On PT_EPARSE / PT_ETOOBIG, err (if not NULL) receives
 * "line N: message".
 */
PT_API int pt_ls_trace_parse(const char *data, size_t len,
			     struct pt_ls_trace **ret, char *err,
			     size_t errlen);
PT_API int pt_ls_trace_load(const char *path, struct pt_ls_trace **ret,
			    char *err, size_t errlen);
/* The file text of a trace (free with pt_free). */
PT_API int pt_ls_trace_format(const struct pt_ls_trace *t, char **ret,
			      size_t *ret_len);
PT_API int pt_ls_trace_save(const struct pt_ls_trace *t, const char *path);
/* A readable rendering: metadata, then "step k P<i> <event>" lines. */
PT_API int pt_ls_trace_show(const struct pt_ls_trace *t, char **ret);
PT_API struct pt_ls_trace *pt_ls_trace_free(struct pt_ls_trace *t);
PT_API size_t pt_ls_trace_steps(const struct pt_ls_trace *t);
/* Registration index chosen at step i (0-based), or 0 out of range. */
PT_API unsigned pt_ls_trace_choice(const struct pt_ls_trace *t, size_t i);
PT_API const char *pt_ls_trace_test(const struct pt_ls_trace *t);
PT_API const char *pt_ls_trace_binary(const struct pt_ls_trace *t);
PT_API enum pt_ls_kind pt_ls_trace_kind(const struct pt_ls_trace *t);

/* ---- real C programs: proctor lockstep exec ---------------------------- */

/*
 * Runs an unmodified pthread program many times, each iteration in a
 * fresh process forked from a prepared one, under one controlled schedule
 * (docs/lockstep.md, "Real C programs"): the runtime library
 * (libproctor-lockstep-rt.so) is preloaded and interposes threads, locks,
 * condition variables, semaphores, barriers, once, sleeps and clocks; a
 * program compiled with -fsanitize=thread and linked against that library
 * also schedules at every load, store and atomic. An iteration fails when
 * the program exits with a status other than 0, dies of a signal (assert,
 * abort, a crash), deadlocks, exceeds the step, virtual-time or wall-time
 * budget. On a failure the report carries the trace (written to
 * <trace_dir>/<program>-iter<N>-seed<S>.lockstep unless no_trace_file).
 */
struct pt_ls_exec_opts {
	const char *const *argv; /* the program (a path) and its arguments */
	/*
	 * The runtime library; NULL: $PROCTOR_LOCKSTEP_RT, then next to the
	 * running binary, then the build tree's src/lockstep/, then the
	 * installed LIBDIR/proctor/.
	 */
	const char *runtime;
	uint64_t seed;
	unsigned iterations;	      /* default 1000 */
	unsigned max_steps;	      /* per iteration, default 100000 */
	enum pt_ls_strategy strategy; /* default PT_LS_PCT; or PT_LS_DFS */
	unsigned depth;		      /* PCT, default 3 */
	double resample_prob;	      /* POS, when resample_set */
	bool resample_set;
	unsigned bound;	       /* DFS: preemptions (or delays) allowed */
	bool delay_bounding;   /* DFS: bound delays, not preemptions */
	unsigned spurious;     /* spurious wake-ups per thread (default 0) */
	unsigned timeout_ms;   /* wall time per iteration, default 10000 */
	unsigned vtime_ms;     /* virtual time per iteration, default 1 h */
	const char *trace_dir; /* default $PT_LOCKSTEP_TRACE_DIR or traces */
	bool no_trace_file;
	bool show_output; /* the program's stdout/stderr go to ours */
	/* Replay: run the trace's schedule once (strict: ops must match). */
	const struct pt_ls_trace *replay;
	/* On an error return: a message (when err is not NULL). */
	char *err;
	size_t errlen;
};

PT_API int pt_ls_exec(const struct pt_ls_exec_opts *o,
		      struct pt_ls_report **ret);
/*
 * Shrinks an exec trace: fewer preemptions first (each preemption
 * replaced by the non-preemptive choice while the failure kind stays),
 * then the shortest prefix followed by non-preemptive scheduling. *ret is
 * a new trace; PT_EFAILED when the trace does not reproduce.
 */
PT_API int pt_ls_exec_shrink(const struct pt_ls_exec_opts *o,
			     const struct pt_ls_trace *t,
			     struct pt_ls_trace **ret);
/* The program of an exec trace (NULL for an actor trace). */
PT_API const char *pt_ls_trace_program(const struct pt_ls_trace *t);
/* Argument i (0-based, after the program) of an exec trace, or NULL. */
PT_API const char *pt_ls_trace_arg(const struct pt_ls_trace *t, size_t i);
/* Spurious wake-ups an exec trace allowed per thread (its replay does). */
PT_API unsigned pt_ls_trace_spurious(const struct pt_ls_trace *t);
/* Preemptions in a trace: a switch away from a task that could go on. */
PT_API unsigned pt_ls_trace_preemptions(const struct pt_ls_trace *t);

/* ---- test macro and runner for test binaries --------------------------- */

struct pt_ls_test {
	const char *name;
	void (*body)(void *arg);
	const char *file;
	int line;
	struct pt_ls_opts opts;
	bool expect_bug; /* the test passes when a bug is found */
	struct pt_ls_test *next;
};

PT_API void pt_ls_test_register(struct pt_ls_test *t);

/*
 *	PT_LOCKSTEP_TEST(counter, .iterations = 200, .strategy = PT_LS_POS) {
 *		...test body, the root actor...
 *	}
 *	int main(int argc, char **argv) { return pt_ls_main(argc, argv); }
 *
 * The options are a struct pt_ls_opts initializer; write 0 for defaults
 * (PT_LOCKSTEP_TEST(name, 0)). The body sees its argument as pt_ls_arg.
 */
#define PT_LOCKSTEP_TEST(name, ...)                                            \
 static void pt_ls_body_##name(void *pt_ls_arg);                               \
 static struct pt_ls_test pt_ls_test_##name = {                                \
	 #name, pt_ls_body_##name, __FILE__, __LINE__, { __VA_ARGS__ }, false, \
	 NULL                                                                  \
 };                                                                            \
 __attribute__((constructor)) static void pt_ls_reg_##name(void)               \
 {                                                                             \
  pt_ls_test_register(&pt_ls_test_##name);                                     \
 }                                                                             \
 static void pt_ls_body_##name(void *pt_ls_arg __attribute__((unused)))

/*
 * The runner of a test binary made of PT_LOCKSTEP_TESTs: runs them all
 * (TAP on stdout, reports on stderr) or replays/shrinks a trace. Options:
 * --list, --run=NAME, --seed=N, --iterations=N, --strategy=NAME,
 * --lockstep-replay=TRACE, --lockstep-shrink=TRACE, --lockstep-show=TRACE.
 * Exit: 0 pass (replay: bug did not reproduce), 1 bug found / reproduced,
 * 2 usage, 3 replay diverged. This is the one function of the library
 * that prints: it is a test binary's main.
 */
PT_API int pt_ls_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif
