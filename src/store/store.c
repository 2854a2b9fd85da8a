/*
 * store/store.c - one session's storage: session.db (SQLite, WAL), the
 * writer handle, checkpoints, the resume load, peek and the pure resume
 * helpers. The repository side (ids, lock, listing) is in repo.c, io logs
 * in iolog.c, the export envelope in envelope.c.
 *
 * Schema (PRAGMA user_version = PT_STORE_SCHEMA_VERSION, application_id
 * "PTOR"); see docs/store.md for the reasoning:
 *
 *   session(one=1, title, running_job, running_attempt, app_id, app_blob,
 *           custom_joblist, last_job_start_ns, started_ns, total_jobs)
 *   flags(name)                      rejected(pos, job)
 *   plan(pos, key, value)            desired(pos, job)
 *   jobs(pos, id UNIQUE, checksum, flags, origin)   job_text(id, text)
 *   results(seq, job, outcome, return_code, duration, comments, io_log,
 *           attempt, started_ns, lane, flaky)
 *   handles(job, attempt, handle)    (version 2: executors' external ids)
 *
 * Version 1 (no lane, flaky, handles) is migrated by the first writer
 * that opens it (ALTER TABLE, one transaction); readers read it as it
 * is, with lane 0, flaky false and no handles.
 *   resources(job, rec, pos, key, value)
 *
 * Durability: the connection runs in WAL mode. pt_store_commit_result is
 * one transaction of three small statements (INSERT into results, UPDATE of
 * the session row); at PT_SYNC_NORMAL SQLite write()s the WAL frames before
 * COMMIT returns (the data is in the kernel and survives the death of the
 * process), at PT_SYNC_FULL it also fsyncs the WAL.
 */
#include "base/arena.h"
#include "base/buf.h"
#include "base/common.h"
#include "base/diag.h"
#include "base/map.h"
#include "os/clock.h"
#include "os/file.h"
#include "os/path.h"
#include "os/runos.h"
#include "store/store-internal.h"

#include <sys/stat.h>
#include <unistd.h>

int pt__store_sqlite_err(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_IOERR:
		return -EIO;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
	case SQLITE_FORMAT:
		return PT_ECORRUPT;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return PT_ELOCKED;
	case SQLITE_CANTOPEN:
		return PT_ENOTFOUND;
	case SQLITE_PERM:
	case SQLITE_READONLY:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_TOOBIG:
		return PT_ETOOBIG;
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
		return -EINVAL;
	default:
		return -EIO;
	}
}

static const char schema_sql[] =
	"CREATE TABLE session("
	" one INTEGER PRIMARY KEY CHECK (one = 1),"
	" title TEXT, running_job TEXT,"
	" running_attempt INTEGER NOT NULL DEFAULT 0,"
	" app_id TEXT, app_blob BLOB,"
	" custom_joblist INTEGER NOT NULL DEFAULT 0,"
	" last_job_start_ns INTEGER NOT NULL DEFAULT 0,"
	" started_ns INTEGER NOT NULL DEFAULT 0,"
	" total_jobs INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE flags(name TEXT PRIMARY KEY) WITHOUT ROWID;"
	"CREATE TABLE rejected(pos INTEGER PRIMARY KEY, job TEXT NOT NULL);"
	"CREATE TABLE plan(pos INTEGER PRIMARY KEY, key TEXT NOT NULL,"
	" value TEXT NOT NULL);"
	"CREATE TABLE jobs(pos INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
	" checksum TEXT NOT NULL, flags INTEGER NOT NULL, origin TEXT);"
	"CREATE TABLE job_text(id TEXT PRIMARY KEY, text TEXT NOT NULL)"
	" WITHOUT ROWID;"
	"CREATE TABLE desired(pos INTEGER PRIMARY KEY, job TEXT NOT NULL);"
	"CREATE TABLE results(seq INTEGER PRIMARY KEY, job TEXT NOT NULL,"
	" outcome TEXT NOT NULL, return_code INTEGER NOT NULL,"
	" duration REAL NOT NULL, comments TEXT, io_log TEXT,"
	" attempt INTEGER NOT NULL, started_ns INTEGER NOT NULL,"
	" lane INTEGER NOT NULL DEFAULT 0, flaky INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE handles(job TEXT NOT NULL, attempt INTEGER NOT NULL,"
	" handle TEXT NOT NULL, PRIMARY KEY (job, attempt)) WITHOUT ROWID;"
	/*
	 * No index on results(job): it would cost every committed result a
	 * second B-tree insert (~40% of the commit); only pt_store_peek's
	 * count of distinct jobs would use it (a scan: ~70 ms per 100k
	 * results). Sessions made before keep theirs.
	 */
	"CREATE TABLE resources(job TEXT NOT NULL, rec INTEGER NOT NULL,"
	" pos INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
	" PRIMARY KEY (job, rec, pos)) WITHOUT ROWID;"
	"INSERT INTO session(one) VALUES (1);";

static const char *const stmt_sql[ST_COUNT_] = {
	[ST_SET_RUNNING] = "UPDATE session SET running_job = ?1,"
			   " running_attempt = ?2, last_job_start_ns ="
			   " CASE WHEN ?1 IS NULL THEN last_job_start_ns"
			   " ELSE ?3 END",
	[ST_CLEAR_RUNNING] = "UPDATE session SET running_job = NULL,"
			     " running_attempt = 0 WHERE running_job = ?1",
	[ST_ADD_RESULT] = "INSERT INTO results(job, outcome, return_code,"
			  " duration, comments, io_log, attempt, started_ns,"
			  " lane, flaky)"
			  " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[ST_PUT_JOB] = "INSERT INTO jobs(id, checksum, flags, origin)"
		       " VALUES (?1, ?2, ?3, ?4) ON CONFLICT(id) DO UPDATE"
		       " SET checksum = ?2, flags = ?3, origin = ?4",
	[ST_ADD_DESIRED] = "INSERT INTO desired(job) VALUES (?)",
	[ST_DEL_RESOURCE] = "DELETE FROM resources WHERE job = ?",
	[ST_ADD_RESOURCE] = "INSERT INTO resources(job, rec, pos, key, value)"
			    " VALUES (?, ?, ?, ?, ?)",
	[ST_SET_FLAG] = "INSERT OR IGNORE INTO flags(name) VALUES (?)",
	[ST_DEL_FLAG] = "DELETE FROM flags WHERE name = ?",
	[ST_SET_TOTAL] = "UPDATE session SET total_jobs = ?",
	[ST_SET_HANDLE] = "INSERT OR REPLACE INTO handles(job, attempt, handle)"
			  " VALUES (?, ?, ?)",
	[ST_DEL_HANDLE] = "DELETE FROM handles WHERE job = ? AND attempt = ?",
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
};

int pt__store_exec(struct pt_store *s, const char *sql)
{
	return pt__store_sqlite_err(sqlite3_exec(s->db, sql, NULL, NULL, NULL));
}

/* Runs a prepared statement to completion and resets it. */
static int step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0
						     : pt__store_sqlite_err(rc);
}

static int stmt(struct pt_store *s, enum stmt_id id, sqlite3_stmt **ret)
{
	if (!s->st[id]) {
		int rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1,
					    SQLITE_PREPARE_PERSISTENT,
					    &s->st[id], NULL);
		if (rc != SQLITE_OK)
			return pt__store_sqlite_err(rc);
	}
	*ret = s->st[id];
	return 0;
}

static int run(struct pt_store *s, enum stmt_id id)
{
	sqlite3_stmt *st = NULL;
	int r = stmt(s, id, &st);

	return r < 0 ? r : step_done(st);
}

/* ROLLBACK; what the running job is becomes unknown again. */
static int rollback(struct pt_store *s)
{
	s->running_set = true;
	return run(s, ST_ROLLBACK);
}

static int bind_text(sqlite3_stmt *st, int i, const char *v)
{
	int rc = v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC)
		   : sqlite3_bind_null(st, i);
	return pt__store_sqlite_err(rc);
}

int pt__store_new_handle(const char *repo, const char *id,
			 struct pt_store **ret)
{
	struct pt_store *s = pt__calloc(1, sizeof(*s));
	struct pt_buf dir = PT_BUF_INIT;

	if (!s)
		return -ENOMEM;
	s->lock_fd = -1;
	s->running_set = true; /* until known */
	s->repo = pt__strdup(repo);
	s->id = pt__strdup(id);
	if (pt__buf_addf(&dir, "%s/%s", repo, id) < 0 || !s->repo || !s->id) {
		pt__buf_release(&dir);
		pt_store_free(s);
		return -ENOMEM;
	}
	s->dir = pt__buf_detach(&dir, NULL);
	if (!s->dir) {
		pt_store_free(s);
		return -ENOMEM;
	}
	*ret = s;
	return 0;
}

struct pt_store *pt_store_free(struct pt_store *s)
{
	if (!s)
		return NULL;
	pt__arena_release(&s->group_mem); /* a group never committed: lost */
	if (s->in_tx)
		rollback(s);
	for (size_t i = 0; i < ST_COUNT_; i++)
		sqlite3_finalize(s->st[i]);
	if (s->db)
		sqlite3_close_v2(s->db);
	pt__close(s->lock_fd);
	pt__free(s->repo);
	pt__free(s->dir);
	pt__free(s->id);
	pt__free(s);
	return NULL;
}

const char *pt_store_id(const struct pt_store *s)
{
	return s ? s->id : NULL;
}

const char *pt_store_dir(const struct pt_store *s)
{
	return s ? s->dir : NULL;
}

static int pragma_int(sqlite3 *db, const char *sql, int64_t *ret)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			*ret = sqlite3_column_int64(st, 0);
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(st);
	return pt__store_sqlite_err(rc);
}

/* Checks application_id and schema version of an open database. */
static int check_schema(sqlite3 *db, const char *path, struct pt_diags *d,
			int *ret_ver)
{
	int64_t app = 0, ver = 0;
	int r;

	r = pragma_int(db, "PRAGMA application_id", &app);
	if (r == 0)
		r = pragma_int(db, "PRAGMA user_version", &ver);
	if (r < 0) {
		pt__store_diag(d, PT_SEV_ERROR, r, path, 0, NULL, "%s",
			       sqlite3_errmsg(db));
		return r;
	}
	if (app != PT_STORE_APP_ID) {
		pt__store_diag(d, PT_SEV_ERROR, PT_ECORRUPT, path, 0,
			       "application_id",
			       "not a proctor session database (application_id "
			       "%" PRId64 ")",
			       app);
		return PT_ECORRUPT;
	}
	if (ver < PT_STORE_SCHEMA_OLDEST || ver > PT_STORE_SCHEMA_VERSION) {
		pt__store_diag(
			d, PT_SEV_ERROR, PT_EINCOMPAT, path, 0, "user_version",
			"session schema version %" PRId64
			" is not supported (this proctor reads %d to "
			"%d)",
			ver, PT_STORE_SCHEMA_OLDEST, PT_STORE_SCHEMA_VERSION);
		return PT_EINCOMPAT;
	}
	*ret_ver = (int)ver;
	return 0;
}

static int open_conn(const char *dir, bool write, bool create,
		     struct pt_diags *d, sqlite3 **ret, int *ret_ver)
{
	struct pt_buf path = PT_BUF_INIT;
	sqlite3 *db = NULL;
	int flags, rc, r;

	r = pt__store_vfs_register();
	if (r < 0)
		return r;
	r = pt__buf_addf(&path, "%s/session.db", dir);
	if (r < 0)
		return r;
	if (!create && (r = pt__path_kind(path.s)) <= 0) {
		r = r == PT_PATH_NONE ? PT_ENOTFOUND : r;
		goto out;
	}
	flags = (write ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY) |
		(create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX |
		SQLITE_OPEN_PRIVATECACHE;
	rc = sqlite3_open_v2(path.s, &db, flags, PT_STORE_VFS);
	if (rc != SQLITE_OK) {
		r = pt__store_sqlite_err(rc);
		pt__store_diag(d, PT_SEV_ERROR, r, path.s, 0, NULL, "%s",
			       db ? sqlite3_errmsg(db) : "cannot open");
		goto out;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, 5000);
	*ret_ver = PT_STORE_SCHEMA_VERSION;
	if (!create) {
		r = check_schema(db, path.s, d, ret_ver);
		if (r < 0)
			goto out;
	}
	*ret = db;
	db = NULL;
	r = 0;
out:
	if (db)
		sqlite3_close_v2(db);
	pt__buf_release(&path);
	return r;
}

/*
 * PT_SYNC_FULL: fsync the WAL after COMMIT. This is what synchronous=FULL
 * does in WAL mode (sync after the commit frame), but the level can then be
 * chosen per transaction: SQLite refuses to change PRAGMA synchronous
 * inside one. The file handle is our VFS shim, so faults apply.
 */
static int sync_wal(struct pt_store *s)
{
	sqlite3_file *f = NULL;
	int rc;

	rc = sqlite3_file_control(s->db, "main", SQLITE_FCNTL_JOURNAL_POINTER,
				  &f);
	if (rc != SQLITE_OK)
		return pt__store_sqlite_err(rc);
	if (!f || !f->pMethods)
		return 0; /* no WAL open: everything is in the database */
	rc = f->pMethods->xSync(f, SQLITE_SYNC_NORMAL);
	return pt__store_sqlite_err(rc);
}

/*
 * Version 1 -> 2: lane and flaky of each result, the handles table. One
 * transaction, synced: a crash leaves version 1 or version 2.
 */
static int migrate(struct pt_store *s, struct pt_diags *d)
{
	int r = pt__store_exec(s, "BEGIN IMMEDIATE");

	if (r == 0)
		r = pt__store_exec(
			s, "ALTER TABLE results ADD COLUMN lane INTEGER NOT "
			   "NULL DEFAULT 0;"
			   "ALTER TABLE results ADD COLUMN flaky INTEGER NOT "
			   "NULL DEFAULT 0;"
			   "CREATE TABLE handles(job TEXT NOT NULL, attempt "
			   "INTEGER NOT NULL, handle TEXT NOT NULL, PRIMARY "
			   "KEY (job, attempt)) WITHOUT ROWID;"
			   "PRAGMA user_version = 2");
	if (r == 0)
		r = pt__store_exec(s, "COMMIT");
	else
		(void)!pt__store_exec(s, "ROLLBACK");
	if (r == 0)
		r = sync_wal(s);
	if (r < 0) {
		pt__store_diag(d, PT_SEV_ERROR, r, s->dir, 0, "user_version",
			       "cannot migrate session.db from schema "
			       "version %d: %s",
			       s->schema, sqlite3_errmsg(s->db));
		return r;
	}
	s->schema = PT_STORE_SCHEMA_VERSION;
	return 0;
}

int pt__store_open_db(struct pt_store *s, bool create, struct pt_diags *d)
{
	int r;

	r = open_conn(s->dir, s->writer, create, d, &s->db, &s->schema);
	if (r < 0)
		return r;
	if (!s->writer)
		return 0;
	if (create) {
		/*
		 * 1 KiB pages: a result commit rewrites a few leaf pages in
		 * the WAL, so small pages write 3.4x fewer bytes per result
		 * (18 KB -> 5.4 KB) and cost less CPU (bench-store: 37 ->
		 * 19-25 us per result), for a slightly slower resume.
		 */
		r = pt__store_exec(s, "PRAGMA page_size = 1024");
		if (r == 0)
			r = pt__store_exec(s, "PRAGMA journal_mode = WAL");
		if (r == 0)
			r = pt__store_exec(s, "BEGIN IMMEDIATE");
		if (r == 0)
			r = pt__store_exec(s, schema_sql);
		if (r == 0) {
			char sql[96];
			snprintf(sql, sizeof(sql),
				 "PRAGMA application_id = %d;"
				 "PRAGMA user_version = %d",
				 PT_STORE_APP_ID, PT_STORE_SCHEMA_VERSION);
			r = pt__store_exec(s, sql);
		}
		if (r == 0)
			r = pt__store_exec(s, "COMMIT");
		if (r == 0)
			r = sync_wal(s);
		if (r < 0) {
			pt__store_diag(d, PT_SEV_ERROR, r, s->dir, 0, NULL,
				       "cannot initialise session.db: %s",
				       sqlite3_errmsg(s->db));
			return r;
		}
	} else {
		r = pt__store_exec(s, "PRAGMA journal_mode = WAL");
		if (r == 0 && s->schema < PT_STORE_SCHEMA_VERSION)
			r = migrate(s, d);
		if (r < 0)
			return r;
	}
	return pt__store_exec(s, "PRAGMA synchronous = NORMAL");
}

/* ---- transactions ------------------------------------------------------- */

static int check_writer(struct pt_store *s)
{
	if (!s)
		return -EINVAL;
	return s->writer ? 0 : PT_ESTATE;
}

static int add_result(struct pt_store *s, const char *job_id,
		      const struct pt_result *res);

/*
 * Writes the waiting results in one transaction: their results become
 * durable. The inserts run back to back, while SQLite's code and pages
 * are hot (interleaved with job starts, one insert costs the runner
 * several times more). On failure the group is lost.
 */
static int group_flush(struct pt_store *s)
{
	size_t n = s->group_n;
	int r;

	if (!n)
		return 0;
	s->group_n = 0;
	r = run(s, ST_BEGIN);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = add_result(s, s->group[i].job, &s->group[i].r);
	if (r == 0)
		r = run(s, ST_COMMIT);
	if (r < 0 && sqlite3_get_autocommit(s->db) == 0)
		rollback(s);
	pt__arena_release(&s->group_mem);
	return r;
}

/*
 * Before any other write: an open group is committed first, so that the
 * write is never held back with the group (and never commits it late).
 */
static int write_enter(struct pt_store *s)
{
	int r = check_writer(s);

	return r < 0 ? r : group_flush(s);
}

int pt_store_begin(struct pt_store *s)
{
	int r = write_enter(s);

	if (r < 0)
		return r;
	if (s->in_tx)
		return PT_ESTATE;
	r = run(s, ST_BEGIN);
	if (r == 0)
		s->in_tx = true;
	return r;
}

int pt_store_commit(struct pt_store *s, enum pt_sync sync)
{
	int r = check_writer(s);

	if (r < 0)
		return r;
	if (!s->in_tx)
		return PT_ESTATE;
	r = run(s, ST_COMMIT);
	if (r < 0 && sqlite3_get_autocommit(s->db) == 0)
		rollback(s);
	s->in_tx = false;
	if (r == 0 && sync == PT_SYNC_FULL)
		r = sync_wal(s);
	return r;
}

int pt_store_rollback(struct pt_store *s)
{
	int r = check_writer(s);

	if (r < 0)
		return r;
	if (!s->in_tx)
		return PT_ESTATE;
	s->in_tx = false;
	if (sqlite3_get_autocommit(s->db))
		return 0; /* SQLite already rolled back after an error */
	return rollback(s);
}

int pt_store_checkpoint(struct pt_store *s, enum pt_sync sync)
{
	int r = write_enter(s);

	if (r < 0)
		return r;
	if (s->in_tx)
		return PT_ESTATE;
	return sync == PT_SYNC_FULL ? sync_wal(s) : 0;
}

/* Opens a transaction unless the caller has one; *own says who closes. */
static int tx_enter(struct pt_store *s, bool *own)
{
	int r = write_enter(s);

	*own = false;
	if (r < 0 || s->in_tx)
		return r;
	r = pt_store_begin(s);
	if (r == 0)
		*own = true;
	return r;
}

static int tx_leave(struct pt_store *s, bool own, int r, enum pt_sync sync)
{
	if (!own)
		return r;
	if (r < 0) {
		(void)!pt_store_rollback(s);
		return r;
	}
	return pt_store_commit(s, sync);
}

/* ---- writes ------------------------------------------------------------- */

static bool id_ok(const char *id)
{
	return id && *id && strlen(id) <= PT_STORE_MAX_JOB_ID;
}

static int write_meta(struct pt_store *s, const struct pt_store_meta *m)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	rc = sqlite3_prepare_v2(s->db,
				"UPDATE session SET title = ?, running_job = ?,"
				" running_attempt = ?, app_id = ?,"
				" app_blob = ?, custom_joblist = ?,"
				" last_job_start_ns = ?, started_ns = ?,"
				" total_jobs = ?",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return pt__store_sqlite_err(rc);
	bind_text(st, 1, m->title);
	bind_text(st, 2, m->running_job);
	sqlite3_bind_int64(st, 3, m->running_job ? m->running_attempt : 0);
	bind_text(st, 4, m->app_id);
	if (m->app_blob)
		sqlite3_bind_blob64(st, 5, m->app_blob, m->app_blob_len,
				    SQLITE_STATIC);
	sqlite3_bind_int(st, 6, m->custom_joblist);
	sqlite3_bind_int64(st, 7, m->last_job_start_ns);
	sqlite3_bind_int64(st, 8, m->started_ns);
	sqlite3_bind_int64(st, 9, (sqlite3_int64)m->total_jobs);
	r = step_done(st);
	sqlite3_finalize(st);
	s->running_set = r < 0 || m->running_job;
	if (r == 0)
		r = pt__store_exec(s, "DELETE FROM flags; DELETE FROM rejected;"
				      " DELETE FROM plan");
	for (size_t i = 0; r == 0 && i < m->n_flags; i++)
		r = pt_store_set_flag(s, m->flags[i], true);
	if (r < 0)
		return r;
	rc = sqlite3_prepare_v2(s->db, "INSERT INTO rejected(job) VALUES (?)",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return pt__store_sqlite_err(rc);
	for (size_t i = 0; r == 0 && i < m->n_rejected; i++) {
		r = bind_text(st, 1, m->rejected[i]);
		if (r == 0)
			r = step_done(st);
	}
	sqlite3_finalize(st);
	if (r < 0)
		return r;
	rc = sqlite3_prepare_v2(s->db,
				"INSERT INTO plan(key, value) VALUES (?, ?)",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return pt__store_sqlite_err(rc);
	for (size_t i = 0; r == 0 && i < m->n_plan; i++) {
		if (!m->plan[i].key || !m->plan[i].value) {
			r = -EINVAL;
			break;
		}
		bind_text(st, 1, m->plan[i].key);
		bind_text(st, 2, m->plan[i].value);
		r = step_done(st);
	}
	sqlite3_finalize(st);
	return r;
}

/* NULL or within PT_STORE_MAX_STR. */
static bool str_ok(const char *v)
{
	return !v || strnlen(v, PT_STORE_MAX_STR + 1) <= PT_STORE_MAX_STR;
}

static int check_meta(const struct pt_store_meta *m)
{
	if (!str_ok(m->title) || !str_ok(m->app_id) ||
	    m->app_blob_len > PT_STORE_MAX_STR)
		return PT_ETOOBIG;
	for (size_t i = 0; i < m->n_flags; i++)
		if (!id_ok(m->flags[i]))
			return -EINVAL;
	for (size_t i = 0; i < m->n_rejected; i++)
		if (!id_ok(m->rejected[i]))
			return -EINVAL;
	if (m->running_job && !id_ok(m->running_job))
		return -EINVAL;
	return 0;
}

int pt_store_set_meta(struct pt_store *s, const struct pt_store_meta *m)
{
	bool own;
	int r;

	if (!m)
		return -EINVAL;
	r = check_meta(m);
	if (r < 0)
		return r;
	r = tx_enter(s, &own);
	if (r < 0)
		return r;
	return tx_leave(s, own, write_meta(s, m), PT_SYNC_NORMAL);
}

int pt_store_set_flag(struct pt_store *s, const char *flag, bool on)
{
	sqlite3_stmt *st = NULL;
	int r = write_enter(s);

	if (r < 0)
		return r;
	if (!id_ok(flag))
		return -EINVAL;
	r = stmt(s, on ? ST_SET_FLAG : ST_DEL_FLAG, &st);
	if (r == 0)
		r = bind_text(st, 1, flag);
	return r < 0 ? r : step_done(st);
}

int pt_store_set_running(struct pt_store *s, const char *job_id,
			 unsigned attempt, int64_t start_ns)
{
	sqlite3_stmt *st = NULL;
	int r = write_enter(s);

	if (r < 0)
		return r;
	if (job_id && !id_ok(job_id))
		return -EINVAL;
	r = stmt(s, ST_SET_RUNNING, &st);
	if (r < 0)
		return r;
	bind_text(st, 1, job_id);
	sqlite3_bind_int64(st, 2, job_id ? attempt : 0);
	sqlite3_bind_int64(st, 3, start_ns);
	r = step_done(st);
	s->running_set = r < 0 || job_id;
	return r;
}

int pt_store_set_total(struct pt_store *s, size_t total)
{
	sqlite3_stmt *st = NULL;
	int r = write_enter(s);

	if (r == 0)
		r = stmt(s, ST_SET_TOTAL, &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)total);
	return step_done(st);
}

int pt_store_set_handle(struct pt_store *s, const char *job_id,
			unsigned attempt, const char *handle, enum pt_sync sync)
{
	sqlite3_stmt *st = NULL;
	bool own;
	int r;

	if (!id_ok(job_id) || (handle && (!*handle || strlen(handle) > 4096)))
		return -EINVAL;
	r = tx_enter(s, &own);
	if (r == 0)
		r = stmt(s, handle ? ST_SET_HANDLE : ST_DEL_HANDLE, &st);
	if (r == 0) {
		bind_text(st, 1, job_id);
		sqlite3_bind_int64(st, 2, attempt);
		if (handle)
			bind_text(st, 3, handle);
		r = step_done(st);
	}
	return tx_leave(s, own, r, sync);
}

static int put_jobs(struct pt_store *s, const struct pt_store_job *jobs,
		    size_t n)
{
	sqlite3_stmt *st = NULL, *tx = NULL;
	int r = stmt(s, ST_PUT_JOB, &st);

	for (size_t i = 0; r == 0 && i < n; i++) {
		const struct pt_store_job *j = &jobs[i];

		if (!id_ok(j->id) || !j->checksum) {
			r = -EINVAL;
			break;
		}
		bind_text(st, 1, j->id);
		bind_text(st, 2, j->checksum);
		sqlite3_bind_int64(st, 3, j->flags);
		bind_text(st, 4, j->origin);
		r = step_done(st);
		if (r < 0 || !j->text)
			continue;
		if (!tx) {
			int rc = sqlite3_prepare_v2(
				s->db,
				"INSERT OR REPLACE INTO job_text VALUES (?, ?)",
				-1, &tx, NULL);
			if (rc != SQLITE_OK) {
				r = pt__store_sqlite_err(rc);
				break;
			}
		}
		bind_text(tx, 1, j->id);
		bind_text(tx, 2, j->text);
		r = step_done(tx);
	}
	sqlite3_finalize(tx);
	return r;
}

int pt_store_put_jobs(struct pt_store *s, const struct pt_store_job *jobs,
		      size_t n)
{
	bool own;
	int r;

	if (n && !jobs)
		return -EINVAL;
	r = tx_enter(s, &own);
	if (r < 0)
		return r;
	return tx_leave(s, own, put_jobs(s, jobs, n), PT_SYNC_NORMAL);
}

static int set_desired(struct pt_store *s, const char *const *ids, size_t n)
{
	struct pt_map seen = PT_MAP_INIT;
	sqlite3_stmt *st = NULL;
	int r;

	r = pt__store_exec(s, "DELETE FROM desired");
	if (r == 0)
		r = stmt(s, ST_ADD_DESIRED, &st);
	if (r == 0)
		r = pt__map_reserve(&seen, n);
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (!id_ok(ids[i])) {
			r = -EINVAL;
			break;
		}
		r = pt__map_put(&seen, ids[i], strlen(ids[i]), NULL, NULL);
		if (r == 0)
			continue; /* a duplicate: the first one stays */
		if (r < 0)
			break;
		bind_text(st, 1, ids[i]);
		r = step_done(st);
	}
	pt__map_release(&seen);
	return r;
}

int pt_store_set_desired(struct pt_store *s, const char *const *ids, size_t n)
{
	bool own;
	int r;

	if (n && !ids)
		return -EINVAL;
	r = tx_enter(s, &own);
	if (r < 0)
		return r;
	return tx_leave(s, own, set_desired(s, ids, n), PT_SYNC_NORMAL);
}

static int set_rejected(struct pt_store *s, const char *const *ids, size_t n)
{
	struct pt_map seen = PT_MAP_INIT;
	sqlite3_stmt *st = NULL;
	int rc, r;

	r = pt__store_exec(s, "DELETE FROM rejected");
	if (r < 0)
		return r;
	rc = sqlite3_prepare_v2(s->db, "INSERT INTO rejected(job) VALUES (?)",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return pt__store_sqlite_err(rc);
	r = pt__map_reserve(&seen, n);
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (!id_ok(ids[i])) {
			r = -EINVAL;
			break;
		}
		r = pt__map_put(&seen, ids[i], strlen(ids[i]), NULL, NULL);
		if (r == 0)
			continue; /* a duplicate: the first one stays */
		if (r < 0)
			break;
		r = bind_text(st, 1, ids[i]);
		if (r == 0)
			r = step_done(st);
	}
	sqlite3_finalize(st);
	pt__map_release(&seen);
	return r;
}

int pt_store_set_rejected(struct pt_store *s, const char *const *ids, size_t n)
{
	bool own;
	int r;

	if (n && !ids)
		return -EINVAL;
	r = tx_enter(s, &own);
	if (r < 0)
		return r;
	return tx_leave(s, own, set_rejected(s, ids, n), PT_SYNC_NORMAL);
}

static int put_resource(struct pt_store *s, const char *job_id,
			const struct pt_store_record *recs, size_t n)
{
	sqlite3_stmt *del = NULL, *add = NULL;
	int r;

	r = stmt(s, ST_DEL_RESOURCE, &del);
	if (r == 0)
		r = stmt(s, ST_ADD_RESOURCE, &add);
	if (r < 0)
		return r;
	bind_text(del, 1, job_id);
	r = step_done(del);
	for (size_t i = 0; r == 0 && i < n; i++) {
		for (size_t k = 0; r == 0 && k < recs[i].n; k++) {
			const struct pt_store_kv *kv = &recs[i].kv[k];

			if (!kv->key || !kv->value) {
				r = -EINVAL;
				break;
			}
			bind_text(add, 1, job_id);
			sqlite3_bind_int64(add, 2, (sqlite3_int64)i);
			sqlite3_bind_int64(add, 3, (sqlite3_int64)k);
			bind_text(add, 4, kv->key);
			bind_text(add, 5, kv->value);
			r = step_done(add);
		}
	}
	return r;
}

int pt_store_put_resource(struct pt_store *s, const char *job_id,
			  const struct pt_store_record *records, size_t n)
{
	bool own;
	int r;

	if (!id_ok(job_id) || (n && !records))
		return -EINVAL;
	r = tx_enter(s, &own);
	if (r < 0)
		return r;
	return tx_leave(s, own, put_resource(s, job_id, records, n),
			PT_SYNC_NORMAL);
}

static int add_result(struct pt_store *s, const char *job_id,
		      const struct pt_result *res)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = stmt(s, ST_ADD_RESULT, &st);
	if (r < 0)
		return r;
	bind_text(st, 1, job_id);
	bind_text(st, 2, pt_outcome_name(res->outcome));
	sqlite3_bind_int(st, 3, res->return_code);
	sqlite3_bind_double(st, 4, res->duration);
	bind_text(st, 5, res->comments);
	bind_text(st, 6, res->io_log);
	sqlite3_bind_int64(st, 7, res->attempt);
	sqlite3_bind_int64(st, 8, res->started_ns);
	sqlite3_bind_int64(st, 9, res->lane);
	sqlite3_bind_int(st, 10, res->flaky ? 1 : 0);
	r = step_done(st);
	if (r < 0 || !s->running_set)
		return r; /* at -jN no running job is recorded: no UPDATE */
	r = stmt(s, ST_CLEAR_RUNNING, &st);
	if (r < 0)
		return r;
	bind_text(st, 1, job_id);
	r = step_done(st);
	/* Cleared, or it names another job (still set). */
	if (r == 0 && sqlite3_changes(s->db) > 0)
		s->running_set = false;
	return r;
}

/* A result the table can take: 0, -EINVAL or PT_ETOOBIG. */
static int result_ok(const char *job_id, const struct pt_result *res)
{
	if (!id_ok(job_id) || !res ||
	    (unsigned)res->outcome >= PT_OUTCOME_COUNT_)
		return -EINVAL;
	if (!str_ok(res->comments) || !str_ok(res->io_log))
		return PT_ETOOBIG;
	return 0;
}

int pt_store_commit_result(struct pt_store *s, const char *job_id,
			   const struct pt_result *res, enum pt_sync sync)
{
	bool own;
	int r = result_ok(job_id, res);

	if (r < 0)
		return r;
	if (sync != PT_SYNC_NORMAL && sync != PT_SYNC_FULL)
		return -EINVAL;
	r = tx_enter(s, &own);
	if (r < 0)
		return r;
	return tx_leave(s, own, add_result(s, job_id, res), sync);
}

int pt_store_group_add(struct pt_store *s, const char *job_id,
		       const struct pt_result *res)
{
	struct pt_store_waiting *w;
	int r = check_writer(s);

	if (r == 0)
		r = result_ok(job_id, res);
	if (r < 0)
		return r;
	/* Inside the caller's transaction: it joins that. */
	if (s->in_tx)
		return add_result(s, job_id, res);
	if (s->group_n == PT_STORE_GROUP_MAX && (r = group_flush(s)) < 0)
		return r;
	if (!s->group_n)
		s->group_ns = pt__now_ns();
	w = &s->group[s->group_n];
	w->r = *res;
	w->job = pt__arena_strdup(&s->group_mem, job_id);
	w->r.comments = res->comments
				? pt__arena_strdup(&s->group_mem, res->comments)
				: NULL;
	w->r.io_log = res->io_log ? pt__arena_strdup(&s->group_mem, res->io_log)
				  : NULL;
	if (!w->job || (res->comments && !w->r.comments) ||
	    (res->io_log && !w->r.io_log))
		return -ENOMEM; /* not added; the group stays as it was */
	return (int)++s->group_n;
}

size_t pt_store_group_pending(const struct pt_store *s)
{
	return s ? s->group_n : 0;
}

int64_t pt_store_group_due_ns(const struct pt_store *s)
{
	if (!s || !s->group_n)
		return -1;
	if (s->group_n >= PT_STORE_GROUP_MAX)
		return s->group_ns;
	return s->group_ns + PT_STORE_GROUP_WINDOW_NS;
}

int pt_store_group_commit(struct pt_store *s)
{
	int r = check_writer(s);

	return r < 0 ? r : group_flush(s);
}

bool pt_store_group_may_wait(const struct pt_result *res)
{
	return res && res->outcome == PT_OUTCOME_PASS && res->duration >= 0 &&
	       res->duration < PT_STORE_GROUP_SHORT_S;
}

/* ---- reads -------------------------------------------------------------- */

static const char *col_str(sqlite3_stmt *st, int i, struct pt_arena *a,
			   bool *oom)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	const char *c;

	if (!t)
		return NULL;
	c = pt__arena_strndup(a, (const char *)t,
			      (size_t)sqlite3_column_bytes(st, i));
	if (!c)
		*oom = true;
	return c;
}

/*
 * Runs a query returning one integer: a count, or for the big tables an
 * upper bound on it read in O(log n) (max of the rowid, which SQLite
 * assigns as max + 1: the tables only grow, and desired is emptied before
 * it is refilled). The readers stop at the real end.
 */
static int count_rows(sqlite3 *db, const char *sql, size_t *ret)
{
	int64_t v = 0;
	int r = pragma_int(db, sql, &v);

	if (r == 0)
		*ret = v < 0 ? 0 : (size_t)v;
	return r;
}

/*
 * The skeleton of every list read: an arena array sized by count_sql (an
 * upper bound on the rows), filled with one element of `size` bytes per
 * row of sql by fill(), which returns false for a corrupt row. Returns 0
 * with the array and the number of rows read, -ENOMEM, or the SQLite error
 * (PT_ECORRUPT for a corrupt row).
 */
typedef bool row_fill(sqlite3_stmt *st, void *elem, struct pt_arena *a,
		      bool *oom);

static int read_rows(sqlite3 *db, const char *count_sql, const char *sql,
		     size_t size, row_fill *fill, struct pt_arena *a,
		     void **ret, size_t *ret_n)
{
	sqlite3_stmt *st = NULL;
	size_t n = 0, i = 0;
	bool oom = false;
	char *v;
	int rc, r;

	r = count_rows(db, count_sql, &n);
	if (r < 0)
		return r;
	v = pt__arena_zalloc(a, (n ? n : 1) * size);
	if (!v)
		return -ENOMEM;
	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	while ((rc == SQLITE_OK || rc == SQLITE_ROW) &&
	       (rc = sqlite3_step(st)) == SQLITE_ROW && i < n) {
		if (!fill(st, v + i * size, a, &oom)) {
			rc = SQLITE_CORRUPT;
			break;
		}
		i++;
	}
	sqlite3_finalize(st);
	if (oom)
		return -ENOMEM;
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return pt__store_sqlite_err(rc);
	*ret = v;
	*ret_n = i;
	return 0;
}

static bool fill_str(sqlite3_stmt *st, void *elem, struct pt_arena *a,
		     bool *oom)
{
	*(const char **)elem = col_str(st, 0, a, oom);
	return true;
}

/* Reads a one-column list of strings (already ordered) into the arena. */
static int read_strv(sqlite3 *db, const char *count_sql, const char *sql,
		     struct pt_arena *a, const char *const **ret, size_t *ret_n)
{
	void *v = NULL;
	size_t n = 0;
	int r = read_rows(db, count_sql, sql, sizeof(const char *), fill_str, a,
			  &v, &n);

	if (r == 0) {
		*ret = v;
		*ret_n = n;
	}
	return r;
}

static bool fill_kv(sqlite3_stmt *st, void *elem, struct pt_arena *a, bool *oom)
{
	struct pt_store_kv *kv = elem;

	kv->key = col_str(st, 0, a, oom);
	kv->value = col_str(st, 1, a, oom);
	return true;
}

int pt__store_read_meta(sqlite3 *db, struct pt_arena *a,
			struct pt_store_meta *m)
{
	sqlite3_stmt *st = NULL;
	bool oom = false;
	int rc, r;
	size_t n = 0;

	memset(m, 0, sizeof(*m));
	rc = sqlite3_prepare_v2(db,
				"SELECT title, running_job, running_attempt,"
				" app_id, app_blob, custom_joblist,"
				" last_job_start_ns, started_ns, total_jobs"
				" FROM session WHERE one = 1",
				-1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		r = rc == SQLITE_DONE ? PT_ECORRUPT : pt__store_sqlite_err(rc);
		sqlite3_finalize(st);
		return r;
	}
	m->title = col_str(st, 0, a, &oom);
	m->running_job = col_str(st, 1, a, &oom);
	m->running_attempt = (unsigned)sqlite3_column_int64(st, 2);
	m->app_id = col_str(st, 3, a, &oom);
	if (sqlite3_column_type(st, 4) != SQLITE_NULL) {
		const void *b = sqlite3_column_blob(st, 4);
		m->app_blob_len = (size_t)sqlite3_column_bytes(st, 4);
		m->app_blob =
			pt__arena_memdup(a, b ? b : "", m->app_blob_len + 1);
		if (!m->app_blob)
			oom = true;
	}
	m->custom_joblist = sqlite3_column_int(st, 5) != 0;
	m->last_job_start_ns = sqlite3_column_int64(st, 6);
	m->started_ns = sqlite3_column_int64(st, 7);
	m->total_jobs = (size_t)sqlite3_column_int64(st, 8);
	sqlite3_finalize(st);
	if (oom)
		return -ENOMEM;
	r = read_strv(db, "SELECT count(*) FROM flags",
		      "SELECT name FROM flags ORDER BY name", a, &m->flags,
		      &m->n_flags);
	if (r == 0)
		r = read_strv(db, "SELECT count(*) FROM rejected",
			      "SELECT job FROM rejected ORDER BY pos", a,
			      &m->rejected, &m->n_rejected);
	if (r == 0) {
		void *kv;

		r = read_rows(db, "SELECT count(*) FROM plan",
			      "SELECT key, value FROM plan ORDER BY pos",
			      sizeof(struct pt_store_kv), fill_kv, a, &kv, &n);
		if (r == 0 && n) {
			m->plan = kv;
			m->n_plan = n;
		}
	}
	return r;
}

struct state_impl {
	struct pt_store_state pub;
	struct pt_arena a;
};

struct pt_store_state *pt_store_state_free(struct pt_store_state *st)
{
	struct state_impl *si;

	if (!st)
		return NULL;
	si = pt_container_of(st, struct state_impl, pub);
	pt__arena_release(&si->a);
	pt__free(si);
	return NULL;
}

static bool fill_job(sqlite3_stmt *st, void *elem, struct pt_arena *a,
		     bool *oom)
{
	struct pt_store_job *j = elem;

	j->id = col_str(st, 0, a, oom);
	j->checksum = col_str(st, 1, a, oom);
	j->flags = (unsigned)sqlite3_column_int64(st, 2);
	j->origin = col_str(st, 3, a, oom);
	return true;
}

static int load_jobs(sqlite3 *db, struct pt_arena *a, struct pt_store_state *s)
{
	void *v = NULL;
	size_t n = 0;
	int r = read_rows(db, "SELECT coalesce(max(pos), 0) FROM jobs",
			  "SELECT id, checksum, flags, origin FROM jobs"
			  " ORDER BY pos",
			  sizeof(struct pt_store_job), fill_job, a, &v, &n);

	if (r == 0) {
		s->jobs = v;
		s->n_jobs = n;
	}
	return r;
}

/* A result row; an unknown outcome name makes the session corrupt. */
static bool fill_result(sqlite3_stmt *st, void *elem, struct pt_arena *a,
			bool *oom)
{
	struct pt_store_result *x = elem;
	const char *o = (const char *)sqlite3_column_text(st, 1);

	x->job_id = col_str(st, 0, a, oom);
	if (!o || pt_outcome_parse(o, &x->r.outcome) < 0)
		return false;
	x->r.return_code = sqlite3_column_int(st, 2);
	x->r.duration = sqlite3_column_double(st, 3);
	x->r.comments = col_str(st, 4, a, oom);
	x->r.io_log = col_str(st, 5, a, oom);
	x->r.attempt = (unsigned)sqlite3_column_int64(st, 6);
	x->r.started_ns = sqlite3_column_int64(st, 7);
	x->r.lane = (unsigned)sqlite3_column_int64(st, 8);
	x->r.flaky = sqlite3_column_int(st, 9) != 0;
	return true;
}

static int load_results(sqlite3 *db, int schema, struct pt_arena *a,
			struct pt_store_state *s)
{
	void *v = NULL;
	size_t n = 0;
	int r = read_rows(db, "SELECT coalesce(max(seq), 0) FROM results",
			  schema >= 2 ? "SELECT job, outcome, return_code,"
					" duration, comments, io_log, attempt,"
					" started_ns, lane, flaky"
					" FROM results ORDER BY seq"
				      : "SELECT job, outcome, return_code,"
					" duration, comments, io_log, attempt,"
					" started_ns, 0, 0"
					" FROM results ORDER BY seq",
			  sizeof(struct pt_store_result), fill_result, a, &v,
			  &n);

	if (r == 0) {
		s->results = v;
		s->n_results = n;
	}
	return r;
}

static bool fill_handle(sqlite3_stmt *st, void *elem, struct pt_arena *a,
			bool *oom)
{
	struct pt_store_handle *h = elem;

	h->job_id = col_str(st, 0, a, oom);
	h->attempt = (unsigned)sqlite3_column_int64(st, 1);
	h->handle = col_str(st, 2, a, oom);
	return h->job_id && h->handle;
}

static int load_handles(sqlite3 *db, struct pt_arena *a,
			struct pt_store_state *s)
{
	void *v = NULL;
	size_t n = 0;
	int r = read_rows(db, "SELECT count(*) FROM handles",
			  "SELECT job, attempt, handle FROM handles"
			  " ORDER BY job, attempt",
			  sizeof(struct pt_store_handle), fill_handle, a, &v,
			  &n);

	if (r == 0) {
		s->handles = v;
		s->n_handles = n;
	}
	return r;
}

static int load_resources(sqlite3 *db, struct pt_arena *a,
			  struct pt_store_state *s)
{
	sqlite3_stmt *st = NULL;
	struct pt_store_resource *res;
	struct pt_store_record *recs;
	struct pt_store_kv *kv;
	size_t n = 0, i = 0, nres = 0, nrec = 0;
	int64_t last_rec = -1;
	bool oom = false;
	int rc, r;

	r = count_rows(db, "SELECT count(*) FROM resources", &n);
	if (r < 0 || n == 0)
		return r;
	kv = pt__arena_zalloc(a, n * sizeof(*kv));
	recs = pt__arena_zalloc(a, n * sizeof(*recs));
	res = pt__arena_zalloc(a, n * sizeof(*res));
	if (!kv || !recs || !res)
		return -ENOMEM;
	rc = sqlite3_prepare_v2(db,
				"SELECT job, rec, key, value FROM resources"
				" ORDER BY job, rec, pos",
				-1, &st, NULL);
	while ((rc == SQLITE_OK || rc == SQLITE_ROW) &&
	       (rc = sqlite3_step(st)) == SQLITE_ROW && i < n) {
		const char *job = (const char *)sqlite3_column_text(st, 0);
		int64_t rec = sqlite3_column_int64(st, 1);

		if (!job) {
			rc = SQLITE_CORRUPT;
			break;
		}
		if (!nres || strcmp(res[nres - 1].job_id, job) != 0) {
			res[nres].job_id = col_str(st, 0, a, &oom);
			if (oom)
				break;
			res[nres].records = &recs[nrec];
			nres++;
			last_rec = -1;
		}
		if (rec != last_rec) {
			recs[nrec].kv = &kv[i];
			recs[nrec].n = 0;
			nrec++;
			res[nres - 1].n_records++;
			last_rec = rec;
		}
		kv[i].key = col_str(st, 2, a, &oom);
		kv[i].value = col_str(st, 3, a, &oom);
		recs[nrec - 1].n++;
		i++;
	}
	sqlite3_finalize(st);
	if (oom)
		return -ENOMEM;
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return pt__store_sqlite_err(rc);
	s->resources = res;
	s->n_resources = nres;
	return 0;
}

int pt_store_load(struct pt_store *s, struct pt_store_state **ret)
{
	struct state_impl *si;
	bool own_tx = false;
	int r;

	if (!s || !ret)
		return -EINVAL;
	si = pt__calloc(1, sizeof(*si));
	if (!si)
		return -ENOMEM;
	if (!s->in_tx) {
		/* One read transaction: a consistent snapshot. */
		r = pt__store_exec(s, "BEGIN");
		if (r < 0)
			goto out;
		own_tx = true;
	}
	si->pub.id = pt__arena_strdup(&si->a, s->id);
	r = si->pub.id ? 0 : -ENOMEM;
	if (r == 0)
		r = pt__store_read_meta(s->db, &si->a, &si->pub.meta);
	if (r == 0)
		r = load_jobs(s->db, &si->a, &si->pub);
	if (r == 0)
		r = read_strv(s->db,
			      "SELECT coalesce(max(pos), 0) FROM desired",
			      "SELECT job FROM desired ORDER BY pos", &si->a,
			      &si->pub.desired, &si->pub.n_desired);
	if (r == 0)
		r = load_results(s->db, s->schema, &si->a, &si->pub);
	if (r == 0 && s->schema >= 2)
		r = load_handles(s->db, &si->a, &si->pub);
	if (r == 0)
		r = load_resources(s->db, &si->a, &si->pub);
out:
	if (own_tx)
		(void)!pt__store_exec(s, "COMMIT");
	if (r < 0) {
		pt_store_state_free(&si->pub);
		return r;
	}
	*ret = &si->pub;
	return 0;
}

int pt_store_job_text(struct pt_store *s, const char *job_id, char **ret)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if (!s || !job_id || !ret)
		return -EINVAL;
	rc = sqlite3_prepare_v2(s->db, "SELECT text FROM job_text WHERE id = ?",
				-1, &st, NULL);
	if (rc == SQLITE_OK) {
		bind_text(st, 1, job_id);
		rc = sqlite3_step(st);
	}
	if (rc == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		*ret = pt__strndup(t ? t : "",
				   (size_t)sqlite3_column_bytes(st, 0));
		r = *ret ? 0 : -ENOMEM;
	} else {
		r = rc == SQLITE_DONE ? PT_ENOTFOUND : pt__store_sqlite_err(rc);
	}
	sqlite3_finalize(st);
	return r;
}

/* ---- create / open / peek ----------------------------------------------- */

int pt_store_create(const char *repo, const struct pt_store_meta *meta,
		    struct pt_diags *d, struct pt_store **ret)
{
	return pt__store_create_id(repo, NULL, meta, d, ret);
}

int pt__store_create_id(const char *repo, const char *want_id,
			const struct pt_store_meta *meta, struct pt_diags *d,
			struct pt_store **ret)
{
	static const struct pt_store_meta empty;
	struct pt_store_meta m = meta ? *meta : empty;
	struct pt_store *s = NULL;
	struct pt_buf sub = PT_BUF_INIT;
	char *path = NULL, id[PT_STORE_ID_LEN + 1];
	int r;

	if (!ret || (want_id && !pt__store_id_valid(want_id)))
		return -EINVAL;
	r = check_meta(&m);
	if (r == 0)
		r = pt__store_repo_path(repo, &path);
	if (r < 0)
		return r;
	r = pt__mkdir_p(path, 0700);
	if (r < 0) {
		pt__store_diag(d, PT_SEV_ERROR, r, path, 0, NULL,
			       "cannot create the session repository: %s",
			       strerror(-r));
		goto out;
	}
	/* mkdir is the arbiter: a clash (never seen in practice) retries. */
	for (int tries = 0;; tries++) {
		if (want_id)
			memcpy(id, want_id, sizeof(id));
		else
			r = pt__store_new_id(id);
		if (r < 0)
			goto out;
		pt__buf_reset(&sub);
		r = pt__buf_addf(&sub, "%s/%s", path, id);
		if (r < 0)
			goto out;
		r = pt__mkdir(sub.s, 0700);
		if (r == 0)
			break;
		if (r != -EEXIST || tries > 100 || want_id)
			goto out;
	}
	r = pt__store_new_handle(path, id, &s);
	if (r < 0)
		goto out_rmdir;
	s->writer = true;
	r = pt__store_lock(s->dir, d, &s->lock_fd);
	if (r < 0)
		goto out_rmdir;
	pt__buf_reset(&sub);
	r = pt__buf_addf(&sub, "%s/io-logs", s->dir);
	if (r == 0)
		r = pt__mkdir(sub.s, 0700);
	pt__buf_reset(&sub);
	if (r == 0)
		r = pt__buf_addf(&sub, "%s/attachments", s->dir);
	if (r == 0)
		r = pt__mkdir(sub.s, 0700);
	if (r < 0)
		goto out_rmdir;
	r = pt__store_open_db(s, true, d);
	if (r < 0)
		goto out_rmdir;
	if (!m.started_ns)
		m.started_ns = pt__wall_ns();
	r = pt_store_set_meta(s, &m);
	/* The session directory and its entry in the repository. */
	if (r == 0)
		r = pt__fsync_dir_of(s->dir);
	if (r == 0)
		r = pt__fsync_dir_of(path);
	if (r == 0)
		r = pt__store_set_last(path, id);
	if (r < 0)
		goto out_rmdir;
	*ret = s;
	s = NULL;
	goto out;
out_rmdir:
	pt__buf_reset(&sub);
	if (pt__buf_addf(&sub, "%s/%s", path, id) == 0)
		(void)!pt__rm_rf(sub.s);
out:
	pt_store_free(s);
	pt__buf_release(&sub);
	pt__free(path);
	return r;
}

int pt_store_create_with_state(const char *repo,
			       const struct pt_store_state *st,
			       struct pt_diags *d, struct pt_store **ret)
{
	struct pt_store *s = NULL;
	char *id = NULL;
	int r;

	if (!st || !ret)
		return -EINVAL;
	r = pt_store_create(repo, &st->meta, d, &s);
	if (r < 0)
		return r;
	r = pt_store_begin(s);
	if (r == 0)
		r = pt_store_put_jobs(s, st->jobs, st->n_jobs);
	if (r == 0)
		r = pt_store_set_desired(s, st->desired, st->n_desired);
	for (size_t i = 0; r == 0 && i < st->n_results; i++)
		r = pt_store_commit_result(s, st->results[i].job_id,
					   &st->results[i].r, PT_SYNC_NORMAL);
	for (size_t i = 0; r == 0 && i < st->n_resources; i++)
		r = pt_store_put_resource(s, st->resources[i].job_id,
					  st->resources[i].records,
					  st->resources[i].n_records);
	for (size_t i = 0; r == 0 && i < st->n_handles; i++)
		r = pt_store_set_handle(s, st->handles[i].job_id,
					st->handles[i].attempt,
					st->handles[i].handle, PT_SYNC_NORMAL);
	/* Last: committing results clears the running mark. */
	if (r == 0)
		r = pt_store_set_meta(s, &st->meta);
	if (r == 0)
		r = pt_store_commit(s, PT_SYNC_FULL);
	else
		(void)!pt_store_rollback(s);
	if (r < 0) {
		id = pt__strdup(s->id);
		s = pt_store_free(s);
		if (id)
			(void)!pt_store_remove(repo, id, NULL);
		pt__free(id);
		return r;
	}
	*ret = s;
	return 0;
}

int pt_store_open(const char *repo, const char *name, enum pt_store_mode mode,
		  struct pt_diags *d, struct pt_store **ret)
{
	struct pt_store *s = NULL;
	char *path = NULL, *id = NULL;
	int r;

	if (!ret)
		return -EINVAL;
	r = pt__store_repo_path(repo, &path);
	if (r == 0)
		r = pt_store_resolve(path, name, &id);
	if (r == PT_ENOTFOUND)
		pt__store_diag(d, PT_SEV_ERROR, r, path, 0, NULL,
			       "no session '%s'", name ? name : "last-session");
	if (r == 0)
		r = pt__store_new_handle(path, id, &s);
	if (r < 0)
		goto out;
	s->writer = mode == PT_STORE_WRITE;
	if (s->writer) {
		r = pt__store_lock(s->dir, d, &s->lock_fd);
		if (r < 0)
			goto out;
	}
	r = pt__store_open_db(s, false, d);
	if (r < 0)
		goto out;
	*ret = s;
	s = NULL;
out:
	pt_store_free(s);
	pt__free(path);
	pt__free(id);
	return r;
}

struct info_impl {
	struct pt_store_info pub;
	struct pt_arena a;
};

struct pt_store_info *pt_store_info_free(struct pt_store_info *info)
{
	struct info_impl *ii;

	if (!info)
		return NULL;
	ii = pt_container_of(info, struct info_impl, pub);
	pt__arena_release(&ii->a);
	pt__free(ii);
	return NULL;
}

static const char *const *copy_strv(struct pt_arena *a, const char *const *v,
				    size_t n, bool *oom)
{
	const char **c = pt__arena_zalloc(a, (n ? n : 1) * sizeof(*c));

	if (!c) {
		*oom = true;
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (!(c[i] = pt__arena_strdup(a, v[i])))
			*oom = true;
	return c;
}

static const char *copy_str(struct pt_arena *a, const char *s, bool *oom)
{
	const char *c;

	if (!s)
		return NULL;
	c = pt__arena_strdup(a, s);
	if (!c)
		*oom = true;
	return c;
}

int pt__store_info_new(const char *id, const struct pt_store_meta *m,
		       size_t n_done, size_t n_total,
		       struct pt_store_info **ret)
{
	struct info_impl *ii = pt__calloc(1, sizeof(*ii));
	struct pt_store_meta *c;
	struct pt_store_kv *kv;
	bool oom = false;

	if (!ii)
		return -ENOMEM;
	c = &ii->pub.meta;
	*c = *m;
	ii->pub.id = copy_str(&ii->a, id, &oom);
	ii->pub.n_done = n_done;
	ii->pub.n_total = n_total;
	c->title = copy_str(&ii->a, m->title, &oom);
	c->running_job = copy_str(&ii->a, m->running_job, &oom);
	c->app_id = copy_str(&ii->a, m->app_id, &oom);
	if (m->app_blob) {
		c->app_blob = pt__arena_memdup(&ii->a, m->app_blob,
					       m->app_blob_len + 1);
		oom |= !c->app_blob;
	}
	c->flags = copy_strv(&ii->a, m->flags, m->n_flags, &oom);
	c->rejected = copy_strv(&ii->a, m->rejected, m->n_rejected, &oom);
	kv = pt__arena_zalloc(&ii->a,
			      (m->n_plan ? m->n_plan : 1) * sizeof(*kv));
	oom |= !kv;
	for (size_t i = 0; kv && i < m->n_plan; i++) {
		kv[i].key = copy_str(&ii->a, m->plan[i].key, &oom);
		kv[i].value = copy_str(&ii->a, m->plan[i].value, &oom);
	}
	c->plan = kv;
	if (oom) {
		pt_store_info_free(&ii->pub);
		return -ENOMEM;
	}
	*ret = &ii->pub;
	return 0;
}

int pt__store_peek_db(sqlite3 *db, const char *id, struct pt_arena *a,
		      struct pt_store_info *info)
{
	int r;

	(void)id;
	r = pt__store_sqlite_err(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL));
	if (r < 0)
		return r;
	r = pt__store_read_meta(db, a, &info->meta);
	if (r == 0)
		r = count_rows(db, "SELECT count(DISTINCT job) FROM results",
			       &info->n_done);
	if (r == 0) {
		info->n_total = info->meta.total_jobs;
		if (!info->n_total)
			r = count_rows(db, "SELECT count(*) FROM desired",
				       &info->n_total);
	}
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	return r;
}

int pt_store_peek(const char *repo, const char *name, struct pt_diags *d,
		  struct pt_store_info **ret)
{
	struct info_impl *ii = NULL;
	struct pt_buf dir = PT_BUF_INIT;
	char *path = NULL, *id = NULL;
	sqlite3 *db = NULL;
	int ver;
	int r;

	if (!ret)
		return -EINVAL;
	r = pt__store_repo_path(repo, &path);
	if (r == 0)
		r = pt_store_resolve(path, name, &id);
	if (r == 0)
		r = pt__buf_addf(&dir, "%s/%s", path, id);
	if (r < 0)
		goto out;
	ii = pt__calloc(1, sizeof(*ii));
	if (!ii) {
		r = -ENOMEM;
		goto out;
	}
	ii->pub.id = pt__arena_strdup(&ii->a, id);
	if (!ii->pub.id) {
		r = -ENOMEM;
		goto out;
	}
	r = open_conn(dir.s, false, false, d, &db, &ver);
	if (r == 0)
		r = pt__store_peek_db(db, id, &ii->a, &ii->pub);
	if (r < 0)
		goto out;
	ii->pub.lock_pid = pt__store_lock_owner(dir.s);
	*ret = &ii->pub;
	ii = NULL;
out:
	if (db)
		sqlite3_close_v2(db);
	if (ii)
		pt_store_info_free(&ii->pub);
	pt__buf_release(&dir);
	pt__free(path);
	pt__free(id);
	return r;
}

/* ---- pure resume helpers ------------------------------------------------ */

enum pt_outcome pt_store_running_outcome(bool already_done, bool noreturn)
{
	if (already_done)
		return PT_OUTCOME_NONE;
	return noreturn ? PT_OUTCOME_PASS : PT_OUTCOME_CRASH;
}

int pt_store_running_rule(const struct pt_store_state *st, int noreturn,
			  const char **ret_job_id, struct pt_result *ret)
{
	const struct pt_store_meta *m;
	bool done = false, nr = noreturn > 0;
	enum pt_outcome o;

	if (!st || !ret || !ret_job_id)
		return -EINVAL;
	m = &st->meta;
	if (!m->running_job)
		return 0;
	for (size_t i = 0; i < st->n_results; i++) {
		const struct pt_store_result *x = &st->results[i];
		if (x->r.attempt == m->running_attempt &&
		    !strcmp(x->job_id, m->running_job))
			done = true;
	}
	if (noreturn < 0) {
		nr = false;
		for (size_t i = 0; i < st->n_jobs; i++)
			if (!strcmp(st->jobs[i].id, m->running_job))
				nr = st->jobs[i].flags & PT_STORE_JOB_NORETURN;
	}
	o = pt_store_running_outcome(done, nr);
	if (o == PT_OUTCOME_NONE)
		return 0;
	memset(ret, 0, sizeof(*ret));
	ret->outcome = o;
	ret->return_code = 0;
	ret->duration = -1;
	ret->comments = o == PT_OUTCOME_PASS
				? "Passed after resuming execution"
				: "Crashed after resuming execution";
	ret->attempt = m->running_attempt ? m->running_attempt : 1;
	ret->started_ns = m->last_job_start_ns;
	*ret_job_id = m->running_job;
	return 1;
}

int pt_store_changed_jobs(const struct pt_store_state *st,
			  const struct pt_store_job *cur, size_t n,
			  const char ***ret_ids)
{
	struct pt_map now = PT_MAP_INIT;
	const char **ids = NULL;
	size_t k = 0;
	int r;

	if (!st || (n && !cur))
		return -EINVAL;
	r = pt__map_reserve(&now, n);
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (!cur[i].id || !cur[i].checksum) {
			r = -EINVAL;
			break;
		}
		r = pt__map_put(&now, cur[i].id, strlen(cur[i].id),
				(void *)(uintptr_t)cur[i].checksum, NULL);
		r = r < 0 ? r : 0;
	}
	if (r == 0 && ret_ids) {
		ids = pt__calloc(st->n_jobs + 1, sizeof(*ids));
		if (!ids)
			r = -ENOMEM;
	}
	for (size_t i = 0; r == 0 && i < st->n_jobs; i++) {
		const struct pt_store_job *j = &st->jobs[i];
		const char *c = pt__map_get(&now, j->id, strlen(j->id));

		if (c && !strcmp(c, j->checksum))
			continue;
		if (ids)
			ids[k] = j->id;
		k++;
	}
	pt__map_release(&now);
	if (r < 0) {
		pt__free(ids);
		return r;
	}
	if (ret_ids)
		*ret_ids = ids;
	return k > INT_MAX ? INT_MAX : (int)k;
}

int pt__store_slug(struct pt_buf *b, const char *s)
{
	for (; *s; s++) {
		char c = *s;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '-' || c == '_' ||
			  c == '.';
		int r = pt__buf_addch(b, ok ? c : '_');
		if (r < 0)
			return r;
	}
	return 0;
}
