/*
 * store/store-internal.h - shared by the files of src/store and its tests.
 */
#ifndef PT_STORE_INTERNAL_H
#define PT_STORE_INTERNAL_H

#include "base/arena.h"
#include "base/buf.h"
#include "base/common.h"
#include "base/diag.h"
#include "os/fd.h"

#include <proctor/store.h>
#include <sqlite3.h>

/* Schema version kept in PRAGMA user_version; application_id "PTOR". */
#define PT_STORE_SCHEMA_VERSION 2
/* The oldest schema still read (migrated to the current one when a
 * writer opens it; readers read it as it is). */
#define PT_STORE_SCHEMA_OLDEST 1
#define PT_STORE_APP_ID	       0x50544f52

/* Length of a session id: 16 lowercase hex digits (64 random bits). */
#define PT_STORE_ID_LEN 16

/* Limits on what a session stores (strings, lists). */
#define PT_STORE_MAX_STR    (16u << 20)
#define PT_STORE_MAX_JOB_ID 4096

enum stmt_id {
	ST_SET_RUNNING,
	ST_CLEAR_RUNNING,
	ST_ADD_RESULT,
	ST_PUT_JOB,
	ST_ADD_DESIRED,
	ST_DEL_RESOURCE,
	ST_ADD_RESOURCE,
	ST_SET_FLAG,
	ST_DEL_FLAG,
	ST_SET_TOTAL,
	ST_SET_HANDLE,
	ST_DEL_HANDLE,
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_COUNT_
};

struct pt_store {
	char *repo;
	char *dir;
	char *id;
	sqlite3 *db;
	int lock_fd; /* -1 for readers */
	bool writer;
	int schema;	  /* PRAGMA user_version of session.db */
	bool in_tx;	  /* inside pt_store_begin/commit */
	bool running_set; /* running_job may be set (false: known NULL) */
	/* Results waiting in the group (pt_store_group_add), in order; their
	 * strings live in group_mem. Written at pt_store_group_commit. */
	struct pt_store_waiting {
		const char *job;
		struct pt_result r;
	} group[PT_STORE_GROUP_MAX];
	size_t group_n;
	int64_t group_ns; /* when its first result came (monotonic) */
	struct pt_arena group_mem;
	sqlite3_stmt *st[ST_COUNT_];
};

/* The SQLite VFS shim ("proctor"), registered once; consults the hooks. */
int pt__store_vfs_register(void);
#define PT_STORE_VFS "proctor"
/* Fault hooks for the SQLite files (tests); fd is -1. NULL removes. */
void pt__store_set_faults(const struct pt_io_faults *f);

/* pt__diags_add when d is not NULL (diags are optional in the API). */
#define pt__store_diag(d, ...) ((d) ? pt__diags_add((d), __VA_ARGS__) : 0)

/* SQLite result code -> -errno / PT_E*. */
int pt__store_sqlite_err(int rc);

/* Repository helpers (repo.c). */
int pt__store_repo_path(const char *repo, char **ret);
bool pt__store_id_valid(const char *id);
int pt__store_new_id(char ret[PT_STORE_ID_LEN + 1]);
/* Takes the session lock of dir; PT_ELOCKED with the pid in diags. */
int pt__store_lock(const char *dir, struct pt_diags *diags, int *ret_fd);
/* Pid recorded in dir/lock if the lock is held, else 0. */
int pt__store_lock_owner(const char *dir);
int pt__store_set_last(const char *repo, const char *id);

/* Database (store.c). */
int pt__store_open_db(struct pt_store *s, bool create, struct pt_diags *diags);
int pt__store_new_handle(const char *repo, const char *id,
			 struct pt_store **ret);
int pt__store_peek_db(sqlite3 *db, const char *id, struct pt_arena *a,
		      struct pt_store_info *info);
int pt__store_exec(struct pt_store *s, const char *sql);
/* pt_store_create with a given id (import); -EEXIST when taken. */
int pt__store_create_id(const char *repo, const char *want_id,
			const struct pt_store_meta *meta, struct pt_diags *d,
			struct pt_store **ret);
/* A deep copy of m into a new info. */
int pt__store_info_new(const char *id, const struct pt_store_meta *m,
		       size_t n_done, size_t n_total,
		       struct pt_store_info **ret);
/* Opens an io log at a given relative path "io-logs/NAME" (import). */
int pt__store_iolog_create_at(struct pt_store *s, const char *rel,
			      struct pt_iolog **ret);
/* True for "DIR/NAME" with NAME a plain file name. */
bool pt__store_rel_path_ok(const char *p, const char *dir);
/* Reads the whole meta into m (strings in a); sqlite error mapped. */
int pt__store_read_meta(sqlite3 *db, struct pt_arena *a,
			struct pt_store_meta *m);

/* Slug of a job id for file names: [-_.A-Za-z0-9], others '_'. */
int pt__store_slug(struct pt_buf *b, const char *s);

/* Parses a durations file in memory (durations.c; the fuzz target). */
int pt__store_durations_parse(const char *data, size_t len, const char *name,
			      struct pt_diags *diags,
			      struct pt_store_durations **ret);

/* "<repo>/<name>" (repo NULL: the default); ret_repo may be NULL. */
int pt__store_repo_file(const char *repo, const char *name, char **ret_repo,
			char **ret);
/* Creates the repository, opens and takes <repo>/<lockname> exclusively;
 * returns its fd (closing it releases the lock) and "<repo>/<file>". */
int pt__store_repo_lock(const char *repo, const char *file,
			const char *lockname, char **ret_path);
/* Reads a repository file of at most max bytes into *data (heap):
 * -ENOENT when absent (no diagnostic), PT_ETOOBIG with an error naming
 * the limit, -errno. */
int pt__store_read_repo_file(const char *path, unsigned max,
			     struct pt_diags *diags, char **data, size_t *len);
/* A decimal integer >= 0 ending at a space before end; *p moves past
 * it: 0 or -EINVAL. */
int pt__store_field_i64(const char **p, const char *end, int64_t *ret);

/* Parses a history file in memory (history.c; the fuzz target). */
int pt__store_history_parse(const char *data, size_t len, const char *name,
			    struct pt_diags *diags,
			    struct pt_store_history **ret);

/* Envelope parsing from memory (envelope.c; the fuzz target's entry). */
struct pt_envelope;
int pt__envelope_parse(const void *data, size_t len, bool header_only,
		       struct pt_diags *diags, struct pt_envelope **ret);
void pt__envelope_free(struct pt_envelope *e);

#endif
