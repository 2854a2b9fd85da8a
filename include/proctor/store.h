/*
 * proctor/store.h - durable sessions: the repository of sessions, the
 * storage of one session (SQLite in WAL mode), checkpoints, peek, resume
 * data, io logs, attachments, export/import. Semantics: docs/plainbox.md
 * §6 and §3.7; design and durability argument: docs/store.md.
 *
 * The store deals in plain data (ids, checksums, results, key/value
 * records); it knows nothing of the unit loader or the session engine. The
 * runner glues them: it creates a session, records the unit snapshot and
 * the desired list, then for each job sets the running job, runs it and
 * commits the result; on resume it loads everything back in one call.
 *
 * Ownership: struct pt_store owns its connection and its lock; every
 * struct pt_store_state / pt_store_info / pt_store_list owns all the strings
 * and arrays it exposes (valid until freed). Strings passed in are copied.
 *
 * Errors: 0 (or a count) on success; -errno for system errors (-ENOSPC,
 * -EIO...); PT_ELOCKED (another writer holds the session), PT_ECORRUPT
 * (damaged storage or envelope), PT_EINCOMPAT (unknown format version),
 * PT_ENOTFOUND (no such session). Functions taking a struct pt_diags *
 * (may be NULL) append a message naming the file, field or byte position.
 * Not thread-safe: one thread per struct pt_store.
 */
#ifndef PROCTOR_STORE_H
#define PROCTOR_STORE_H

#include <proctor/common.h>
#include <proctor/result.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How durable a commit is before the call returns (docs/store.md). */
enum pt_sync {
	/*
	 * Written to the WAL with write(2) before returning: survives the
	 * death of the process (kill -9, crash), not a power loss.
	 */
	PT_SYNC_NORMAL = 1,
	/* Also fsync(2)ed: survives a power loss or kernel crash. */
	PT_SYNC_FULL = 2,
};

/* A key/value pair (plan options, resource record fields). */
struct pt_store_kv {
	const char *key;
	const char *value;
};

/*
 * Session metadata (§3.7) plus the "plan": how the session was built
 * (unit paths, test plan, options) so that resume can reload the units.
 * The plan is an ordered list of key/value pairs whose keys the runner
 * chooses (e.g. "path", "test-plan", "include", "option"); keys repeat.
 */
struct pt_store_meta {
	const char *title;	  /* NULL when none */
	const char *const *flags; /* "incomplete", "submitted"... */
	size_t n_flags;		  /* read back sorted and unique */
	const char *running_job;  /* job about to run / running; NULL */
	unsigned running_attempt; /* its attempt (1, 2...); 0 when none */
	const char *app_id;	  /* NULL when none */
	const void *app_blob;	  /* opaque bytes; NULL when none */
	size_t app_blob_len;
	bool custom_joblist;
	const char *const *rejected; /* rejected job ids, in order */
	size_t n_rejected;
	int64_t last_job_start_ns; /* wall clock; 0 when none */
	int64_t started_ns;	   /* session creation, wall clock */
	size_t total_jobs;	   /* run-list length for progress; 0 unknown */
	const struct pt_store_kv *plan;
	size_t n_plan;
};

/* Bits of struct pt_store_job.flags. */
enum pt_store_job_flag {
	PT_STORE_JOB_NORETURN = 1u << 0,  /* the running-job rule gives pass */
	PT_STORE_JOB_GENERATED = 1u << 1, /* instantiated from a template */
	PT_STORE_JOB_RESOURCE = 1u << 2,  /* a resource job */
};

/* One job of the unit snapshot. */
struct pt_store_job {
	const char *id;
	const char
		*checksum;  /* sha256 hex (or any string the caller compares) */
	unsigned flags;	    /* enum pt_store_job_flag */
	const char *origin; /* "file:line"; NULL when unknown */
	const char *text;   /* the unit text; NULL when not kept (not loaded
			     * by pt_store_load: see pt_store_job_text) */
};

/* A committed result of a job (one per attempt, in commit order). */
struct pt_store_result {
	const char *job_id;
	struct pt_result r; /* strings owned by the state */
};

/* One record of a resource job: fields in the order given. */
struct pt_store_record {
	size_t n;
	const struct pt_store_kv *kv;
};

struct pt_store_resource {
	const char *job_id;
	size_t n_records;
	const struct pt_store_record *records;
};

/* An executor's external id of a job's attempt (pt_store_set_handle). */
struct pt_store_handle {
	const char *job_id;
	unsigned attempt;
	const char *handle;
};

/* Everything resume needs, loaded in one pass (pt_store_load). */
struct pt_store_state {
	const char *id; /* the session id */
	struct pt_store_meta meta;
	size_t n_jobs; /* the snapshot, in first-recorded order */
	const struct pt_store_job *jobs;
	size_t n_desired;
	const char *const *desired;
	size_t n_results; /* the result history, in commit order */
	const struct pt_store_result *results;
	size_t n_resources;
	const struct pt_store_resource *resources;
	size_t n_handles; /* by job id, then attempt */
	const struct pt_store_handle *handles;
};

/* What peek and list return: metadata only, plus progress. */
struct pt_store_info {
	const char *id;
	struct pt_store_meta meta;
	size_t n_done;	/* jobs with at least one result */
	size_t n_total; /* meta.total_jobs, or the desired list length */
	int lock_pid;	/* pid of the live writer, 0 when not locked */
	int error;	/* list only: 0, or why this session can't be read */
};

struct pt_store_list {
	size_t n; /* newest first (started_ns, then id) */
	struct pt_store_info *v;
};

struct pt_store;

/* ---- repository -------------------------------------------------------- */

/*
 * The repository path: $PROCTOR_SESSION_REPOSITORY, else
 * ${XDG_CACHE_HOME:-$HOME/.cache}/proctor/sessions. Free with pt_free().
 */
PT_API int pt_store_repository(char **ret);

/*
 * Sessions of the repository (repo NULL: the default one), newest first.
 * An absent repository is an empty list. Sessions that cannot be read are
 * listed with .error set. Free with pt_store_list_free().
 */
PT_API int pt_store_list(const char *repo, struct pt_store_list **ret);
PT_API struct pt_store_list *pt_store_list_free(struct pt_store_list *l);

/* The id the last-session symlink names (free with pt_free); PT_ENOTFOUND. */
PT_API int pt_store_last(const char *repo, char **ret_id);

/*
 * Resolves a user-given session name: NULL or "last-session" give the
 * last session; otherwise the id itself must exist. Free with pt_free().
 */
PT_API int pt_store_resolve(const char *repo, const char *name, char **ret_id);

/*
 * Removes a session directory. PT_ELOCKED when a writer holds it (the
 * message names its pid); the last-session link is removed if it named it.
 */
PT_API int pt_store_remove(const char *repo, const char *id,
			   struct pt_diags *diags);

/*
 * Breaks a stale lock: one whose recorded owner pid is dead while the lock
 * is still held (a leaked descriptor in an orphaned child). Returns 1 when
 * broken, 0 when the session was not locked, PT_ELOCKED when the owner is
 * alive.
 */
PT_API int pt_store_break_lock(const char *repo, const char *id,
			       struct pt_diags *diags);

/* ---- one session --------------------------------------------------------- */

enum pt_store_mode {
	PT_STORE_READ = 0,  /* never blocks nor waits for the writer */
	PT_STORE_WRITE = 1, /* takes the session lock for the handle's life */
};

/*
 * Creates a new session in repo (NULL: default; created 0700) with a fresh
 * random id, takes its lock, records meta (started_ns 0 means now) and
 * points last-session at it. The handle is a writer.
 */
PT_API int pt_store_create(const char *repo, const struct pt_store_meta *meta,
			   struct pt_diags *diags, struct pt_store **ret);

/*
 * Opens session id (NULL: last-session). PT_STORE_WRITE fails with
 * PT_ELOCKED ("session is locked by pid N") while another writer lives.
 */
PT_API int pt_store_open(const char *repo, const char *id,
			 enum pt_store_mode mode, struct pt_diags *diags,
			 struct pt_store **ret);

/*
 * Creates a session (as pt_store_create) holding a whole state in one
 * transaction, synced FULL: st->meta, the snapshot (with unit texts when
 * jobs[i].text is set), the desired list, the results (in order) and the
 * resources. st->id is ignored (a new id is drawn).
 */
PT_API int pt_store_create_with_state(const char *repo,
				      const struct pt_store_state *st,
				      struct pt_diags *diags,
				      struct pt_store **ret);

/* Closes (rolling back an open transaction) and releases the lock. */
PT_API struct pt_store *pt_store_free(struct pt_store *s);

PT_API const char *pt_store_id(const struct pt_store *s);
/* The session directory (absolute or as given by the repository path). */
PT_API const char *pt_store_dir(const struct pt_store *s);

/*
 * Group commit: writes between begin and commit form one transaction.
 * Without begin, each write below is its own PT_SYNC_NORMAL transaction.
 * Commit returns only when the transaction is durable at level sync.
 */
PT_API int pt_store_begin(struct pt_store *s);
PT_API PT_NODISCARD int pt_store_commit(struct pt_store *s, enum pt_sync sync);
PT_API int pt_store_rollback(struct pt_store *s);
/*
 * A checkpoint outside any transaction: makes everything committed so far
 * durable at level sync (FULL: fsync of the WAL; NORMAL: already so). Use
 * before a noreturn job and at the end of a session. PT_ESTATE inside
 * begin/commit.
 */
PT_API PT_NODISCARD int pt_store_checkpoint(struct pt_store *s,
					    enum pt_sync sync);

/* Replaces all metadata (flags, rejected list and plan included). */
PT_API int pt_store_set_meta(struct pt_store *s,
			     const struct pt_store_meta *meta);
/* Sets or clears one flag. */
PT_API int pt_store_set_flag(struct pt_store *s, const char *flag, bool on);
/*
 * Records the job about to run (NULL clears it), its attempt and its start
 * time (also last_job_start_ns). Call before starting the job.
 */
PT_API int pt_store_set_running(struct pt_store *s, const char *job_id,
				unsigned attempt, int64_t start_ns);
PT_API int pt_store_set_total(struct pt_store *s, size_t total_jobs);

/* Adds or replaces snapshot entries (by id; the first position is kept). */
PT_API int pt_store_put_jobs(struct pt_store *s,
			     const struct pt_store_job *jobs, size_t n);
/*
 * Replaces the desired list. Duplicates are dropped (first kept), so
 * prepending mandatory jobs again on resume never grows it.
 */
PT_API int pt_store_set_desired(struct pt_store *s, const char *const *ids,
				size_t n);
/*
 * Replaces the rejected list of the metadata (job ids, in order; the jobs
 * the user deselected: `proctor run -x`). Duplicates are dropped.
 */
PT_API int pt_store_set_rejected(struct pt_store *s, const char *const *ids,
				 size_t n);
/* Replaces the records of a resource job. */
PT_API int pt_store_put_resource(struct pt_store *s, const char *job_id,
				 const struct pt_store_record *records,
				 size_t n);

/*
 * Appends a result to the job's history and clears the running job when
 * it is this job: one small transaction (O(1), prepared statements),
 * durable at level sync when the call returns. Inside begin/commit it
 * joins that transaction and sync is applied by pt_store_commit.
 */
PT_API PT_NODISCARD int pt_store_commit_result(struct pt_store *s,
					       const char *job_id,
					       const struct pt_result *r,
					       enum pt_sync sync);

/*
 * Records (or, handle NULL, forgets) the external id a persistent
 * executor gave a job's attempt (a cluster job id), so that a run that
 * crashed can re-attach to the job instead of running it again
 * (docs/run.md). Durable at level sync when it returns (inside
 * begin/commit: at the commit). Handles are kept after the job's result
 * (reports may name them); at most 4096 bytes.
 */
PT_API PT_NODISCARD int
pt_store_set_handle(struct pt_store *s, const char *job_id, unsigned attempt,
		    const char *handle, enum pt_sync sync);

/*
 * Group commit, for many short jobs at once (proctor run at -jN): the
 * result of a short job may wait a little (PT_STORE_GROUP_WINDOW_NS, at
 * most PT_STORE_GROUP_MAX results) so that one transaction commits
 * several, inserted back to back when it is committed (bench-runner: the
 * runner's CPU per job 104-111 us with a commit per result, 90-96 us
 * grouped).
 *
 * A result in the group is NOT durable: the caller must neither report
 * it nor let it release anything (a dependent job, a summary) before
 * pt_store_group_commit() returned 0; after a crash the jobs of a lost
 * group have no result and run again, like jobs that were running. So
 * the caller commits the group when it is due, before it would idle,
 * and before it ends. Any other write (or begin/commit/checkpoint)
 * commits the group first; pt_store_free() drops it.
 *
 * pt_store_group_add copies the result (strings included) and returns
 * the number of results in the group; inside begin/commit it joins that
 * transaction instead and returns 0. A full group is committed first;
 * when that fails, its error is returned and that group is lost. Other
 * errors (-EINVAL, PT_ETOOBIG, -ENOMEM) leave the group as it was.
 */
#define PT_STORE_GROUP_WINDOW_NS 10000000LL /* 10 ms after its first result */
#define PT_STORE_GROUP_MAX	 32
#define PT_STORE_GROUP_SHORT_S	 0.1 /* only jobs shorter than this wait */

PT_API PT_NODISCARD int pt_store_group_add(struct pt_store *s,
					   const char *job_id,
					   const struct pt_result *r);
/* Results waiting in the open group (0: none open). */
PT_API size_t pt_store_group_pending(const struct pt_store *s);
/*
 * Monotonic time (CLOCK_MONOTONIC ns, as pt_runner uses) by which the
 * open group must be committed; -1 when none is open.
 */
PT_API int64_t pt_store_group_due_ns(const struct pt_store *s);
/* Commits the open group (durable at PT_SYNC_NORMAL); 0 when none. */
PT_API PT_NODISCARD int pt_store_group_commit(struct pt_store *s);
/*
 * The rule for which results may wait: a pass of a job that ran less
 * than PT_STORE_GROUP_SHORT_S (redoing it after a crash costs little).
 * Failures are committed at once (--fail-fast acts on them).
 */
PT_API bool pt_store_group_may_wait(const struct pt_result *r);

/*
 * Loads metadata, snapshot (without unit texts), desired list, results and
 * resources in one read transaction. Free with pt_store_state_free().
 */
PT_API int pt_store_load(struct pt_store *s, struct pt_store_state **ret);
PT_API struct pt_store_state *pt_store_state_free(struct pt_store_state *st);

/* The unit text recorded for a job (free with pt_free); PT_ENOTFOUND. */
PT_API int pt_store_job_text(struct pt_store *s, const char *job_id,
			     char **ret);

/*
 * Metadata and progress only, without loading the rest (and without taking
 * the lock). id NULL: last-session. Free with pt_store_info_free().
 */
PT_API int pt_store_peek(const char *repo, const char *id,
			 struct pt_diags *diags, struct pt_store_info **ret);
PT_API struct pt_store_info *pt_store_info_free(struct pt_store_info *info);

/* ---- resume helpers (pure) ---------------------------------------------- */

/*
 * The running-job rule (§6.7): the outcome the job recorded as running
 * gets on resume. already_done: it has a result for its running attempt
 * (the process died after the commit) -> PT_OUTCOME_NONE (keep it);
 * noreturn -> PT_OUTCOME_PASS; otherwise PT_OUTCOME_CRASH.
 */
PT_API enum pt_outcome pt_store_running_outcome(bool already_done,
						bool noreturn);

/*
 * Applies the rule to a loaded state: returns 1 and fills *ret_result
 * (outcome crash or pass, comments "Crashed after resuming execution" /
 * "Passed after resuming execution", the running attempt and start time;
 * strings static or owned by st) and *ret_job_id when a result must be
 * committed; 0 when there is no running job or it already has its result.
 * noreturn: 1 or 0 as the caller knows it, -1 to use the snapshot flag.
 */
PT_API int pt_store_running_rule(const struct pt_store_state *st, int noreturn,
				 const char **ret_job_id,
				 struct pt_result *ret_result);

/*
 * Compares the snapshot with the jobs loaded now (id + checksum). Returns
 * the number of changed jobs and, when ret_ids is not NULL, their ids in
 * snapshot order (a NULL-terminated array owned by the caller: pt_free it;
 * the strings point into st). A job of the snapshot that no longer exists
 * counts as changed. The caller refuses resume unless --accept-changed.
 */
PT_API int pt_store_changed_jobs(const struct pt_store_state *st,
				 const struct pt_store_job *current, size_t n,
				 const char ***ret_ids);

/* ---- io logs and attachments -------------------------------------------- */

enum pt_stream {
	PT_STREAM_STDOUT = 1,
	PT_STREAM_STDERR = 2,
};

struct pt_iolog;

/*
 * Opens a new io log for (job_id, attempt) under io-logs/ (writer only).
 * pt_iolog_path() gives the path relative to the session directory, to put
 * in struct pt_result.io_log.
 */
PT_API int pt_store_iolog_open(struct pt_store *s, const char *job_id,
			       unsigned attempt, struct pt_iolog **ret);
/* Appends one record; offset_ns is the time since the job started. */
PT_API int pt_iolog_append(struct pt_iolog *w, int64_t offset_ns,
			   enum pt_stream stream, const void *data, size_t len);
PT_API const char *pt_iolog_path(const struct pt_iolog *w);
/* Makes the log durable at level sync (FULL: fsync); 0 or -errno. */
PT_API int pt_iolog_sync(struct pt_iolog *w, enum pt_sync sync);
PT_API struct pt_iolog *pt_iolog_free(struct pt_iolog *w);

struct pt_iolog_record {
	int64_t offset_ns;
	enum pt_stream stream;
	const void *data; /* valid during the callback only */
	size_t len;
};

/*
 * Reads an io log (path relative to the session, as in pt_result.io_log),
 * calling fn for each record in order; fn returning non-zero stops and is
 * returned. A torn tail (crash mid-write) ends the log silently; damage
 * elsewhere is PT_ECORRUPT with the byte offset in diags.
 */
PT_API int pt_store_iolog_read(struct pt_store *s, const char *path,
			       int (*fn)(void *ctx,
					 const struct pt_iolog_record *rec),
			       void *ctx, struct pt_diags *diags);

/*
 * Stores an attachment of a job under attachments/ (atomic write, fsynced).
 * Returns its path relative to the session in *ret_path (pt_free) if
 * ret_path is not NULL.
 */
PT_API int pt_store_attach(struct pt_store *s, const char *job_id,
			   const char *name, const void *data, size_t len,
			   char **ret_path);
/*
 * The path (relative to the session) where pt_store_attach puts the
 * attachment name of job_id, whether it exists or not (pt_free).
 */
PT_API int pt_store_attachment_path(const struct pt_store *s,
				    const char *job_id, const char *name,
				    char **ret);

/* ---- learned durations (per repository) -----------------------------------
 */

/*
 * Durations learned from earlier sessions of a repository, used by the
 * runner to start long jobs first when a job has no estimated_duration
 * (docs/store.md, "Learned durations"). Kept in <repo>/durations: per job
 * id, the duration of its last measured run (outcome pass or fail) in the
 * most recent session that ran it. Bounded: at most
 * PT_STORE_DURATIONS_MAX_JOBS jobs, the most recently measured kept; the
 * file is never larger than PT_STORE_DURATIONS_MAX_BYTES.
 */
#define PT_STORE_DURATIONS_MAX_JOBS  65536u
#define PT_STORE_DURATIONS_MAX_BYTES (16u << 20)

struct pt_store_duration {
	const char *job_id;
	double duration;    /* seconds, > 0 (whole nanoseconds) */
	int64_t updated_ns; /* wall clock of the update (ignored by record) */
};

struct pt_store_durations;

/*
 * Loads the learned durations of repo (NULL: default). An absent file (or
 * repository) is an empty set. A damaged file is PT_ECORRUPT (diags name
 * the file and line), a file over the limit PT_ETOOBIG: callers treat the
 * set as a hint and go on without it. Free with pt_store_durations_free().
 */
PT_API int pt_store_durations_load(const char *repo, struct pt_diags *diags,
				   struct pt_store_durations **ret);
PT_API struct pt_store_durations *
pt_store_durations_free(struct pt_store_durations *d);
PT_API size_t pt_store_durations_count(const struct pt_store_durations *d);
/* Entry i (newest first as loaded), NULL when out of range. */
PT_API const struct pt_store_duration *
pt_store_durations_get(const struct pt_store_durations *d, size_t i);
/* The entry of a job id, or NULL (O(1)). */
PT_API const struct pt_store_duration *
pt_store_durations_find(const struct pt_store_durations *d, const char *job_id);

/*
 * Merges durations (job ids without '\n', durations >= 0, rounded to whole
 * nanoseconds) into repo's file, stamped with the current time: read,
 * merge and an atomic rewrite under an flock of <repo>/durations.lock, so
 * concurrent writers lose nothing. A damaged file is started again (a
 * warning in diags). The oldest entries are dropped beyond the limits.
 */
PT_API int pt_store_durations_record(const char *repo,
				     const struct pt_store_duration *v,
				     size_t n, struct pt_diags *diags);

/*
 * Learns from session s: for each job, the duration of its last result
 * with outcome pass or fail (and duration > 0), recorded into the
 * session's repository with pt_store_durations_record. Returns the number
 * of jobs learned.
 */
PT_API int pt_store_learn_durations(struct pt_store *s, struct pt_diags *diags);

/* ---- job history (per repository) ----------------------------------------
 */

/*
 * Every attempt of every job run in a repository's sessions (docs/store.md,
 * "Job history"): its outcome as it ran (before --repeat folds the runs
 * into one verdict), attempt number, duration, peak memory, session and
 * seed. Kept in <repo>/history, written once per run (pt_run_finish), for
 * `proctor flakes` and for "slower than its history" in reports. Bounded:
 * the last PT_STORE_HISTORY_PER_JOB attempts of each job, at most
 * PT_STORE_HISTORY_MAX_ENTRIES entries, the newest kept; the file is never
 * larger than PT_STORE_HISTORY_MAX_BYTES.
 */
#define PT_STORE_HISTORY_PER_JOB     64u
#define PT_STORE_HISTORY_MAX_ENTRIES (1u << 18)
#define PT_STORE_HISTORY_MAX_BYTES   (32u << 20)

struct pt_store_hist {
	const char *job_id;
	const char *session_id; /* no space, no '\n'; "" allowed */
	uint64_t seed;
	int64_t ended_ns; /* wall clock at its end (0: record stamps now) */
	enum pt_outcome outcome;
	unsigned attempt;    /* >= 1 */
	double duration;     /* seconds, >= 0 (whole nanoseconds) */
	uint64_t maxrss_kib; /* peak resident memory; 0: unknown */
};

struct pt_store_history;

/*
 * Loads repo's history (NULL: default); an absent file is empty. Damaged:
 * PT_ECORRUPT (diags name the file and line); over the limit: PT_ETOOBIG.
 * Entries are ordered by job id, then oldest first.
 */
PT_API int pt_store_history_load(const char *repo, struct pt_diags *diags,
				 struct pt_store_history **ret);
PT_API struct pt_store_history *
pt_store_history_free(struct pt_store_history *h);
PT_API size_t pt_store_history_count(const struct pt_store_history *h);
PT_API const struct pt_store_hist *
pt_store_history_get(const struct pt_store_history *h, size_t i);
/* The entries of job_id: index of the first and how many (0: none). */
PT_API size_t pt_store_history_job(const struct pt_store_history *h,
				   const char *job_id, size_t *ret_first);
/* Median duration of job_id's measured attempts (pass, fail); < 0: none. */
PT_API double pt_store_history_median(const struct pt_store_history *h,
				      const char *job_id);

/* An empty history in memory (a run's own attempts). */
PT_API int pt_store_history_new(struct pt_store_history **ret);
/* Adds a copy of v (checked as by record; ended_ns 0: now), in order. */
PT_API int pt_store_history_add(struct pt_store_history *h,
				const struct pt_store_hist *v);

/*
 * Appends entries to repo's history: read, merge and atomic rewrite under
 * an flock of <repo>/history.lock. A damaged file is started again (a
 * warning in diags); the oldest entries are dropped beyond the limits.
 */
PT_API int pt_store_history_record(const char *repo,
				   const struct pt_store_hist *v, size_t n,
				   struct pt_diags *diags);

/* A job's flakiness over the history: attempts with a pass and a fail. */
struct pt_store_flake {
	const char *job_id;
	unsigned runs;	   /* attempts that passed or failed */
	unsigned fails;	   /* of them fail, crash or timeout */
	unsigned sessions; /* distinct sessions of those attempts */
	double rate;	   /* fails / runs */
};

/*
 * Jobs whose history has both passed and failed attempts (flaky), by
 * rate (highest first), then job id; with all, every job with a measured
 * attempt. *ret (pt_free) points into h.
 */
PT_API int pt_store_history_flakes(const struct pt_store_history *h, bool all,
				   struct pt_store_flake **ret, size_t *ret_n);

/* ---- export / import ----------------------------------------------------- */

/* Format version of the envelope written by pt_store_export. */
#define PT_STORE_ENVELOPE_VERSION 1
/* Limits on envelopes read: compressed input and decompressed size. */
#define PT_STORE_ENVELOPE_MAX_IN  (256u << 20)
#define PT_STORE_ENVELOPE_MAX_OUT (1024u << 20)

/*
 * Writes the whole session (metadata, snapshot with texts, desired list,
 * results, resources, io logs, attachments) as a gzip-JSON envelope at
 * path, atomically (an exclusively created temporary file, fsync, rename
 * over path, fsync of the directory; a symlink at or beside path is never
 * followed).
 */
PT_API int pt_store_export(struct pt_store *s, const char *path,
			   struct pt_diags *diags);

/*
 * Creates a session in repo from an envelope, keeping its id (-EEXIST if
 * that session exists). Corrupt or truncated input is PT_ECORRUPT, an
 * unknown version PT_EINCOMPAT, with the field or byte position in diags.
 * *ret_id (pt_free) names the new session when ret_id is not NULL.
 */
PT_API int pt_store_import(const char *repo, const char *path,
			   struct pt_diags *diags, char **ret_id);

/* Metadata of an envelope, decompressing only its header line. */
PT_API int pt_store_envelope_peek(const char *path, struct pt_diags *diags,
				  struct pt_store_info **ret);

#ifdef __cplusplus
}
#endif

#endif
