/*
 * cassette/internal.h - shared between the files of src/cassette.
 *
 * A cassette keeps its document as jansson values (so unknown keys added
 * by other tools survive a save) plus, per interaction, the request in a
 * canonical form for matching (struct canon). Incoming requests become a
 * struct pt_cassette_msg, go through the filters, and are canonicalised
 * the same way, so what is compared is exactly what is stored.
 */
#ifndef PT_CASSETTE_INTERNAL_H
#define PT_CASSETTE_INTERNAL_H

#include "base/base64.h"
#include "base/buf.h"
#include "base/common.h"
#include "base/map.h"
#include "base/vec.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include <proctor/cassette.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

enum body_kind { BODY_TEXT = 0, BODY_JSON = 1, BODY_BLOB = 2 };

extern const char *const pt__body_kind_names[3];

struct msg_hdr {
	char *name;
	char *value;
};

/* A request or response in stored form (see cassette.h). */
struct pt_cassette_msg {
	bool response;
	char *method, *uri, *query; /* request; never NULL once built */
	int status;		    /* response */
	char status_text[16];
	PT_VEC(struct msg_hdr) headers;
	enum body_kind kind;
	char *body; /* raw bytes, NUL-terminated; JSON as compact text */
	size_t body_len;
	json_t *json; /* parsed body when kind == BODY_JSON */
};

void pt__msg_clear(struct pt_cassette_msg *m);
/* Body kind by ReqCassette's rules (content type, then content). */
enum body_kind pt__body_detect(const struct pt_cassette_msg *m);
/* The bytes are JSON exactly as stored and replayed (compact, keys
 * sorted, jansson's number text): storing them as body_json loses nothing. */
bool pt__json_canonical(const char *p, size_t n);
/* Sets body bytes and kind; JSON that does not parse becomes text. */
int pt__msg_set_body(struct pt_cassette_msg *m, const void *p, size_t n,
		     enum body_kind kind);
int pt__msg_add_header(struct pt_cassette_msg *m, const char *name,
		       const char *value, bool lower);
/* Builds from the "request" / "response" object of a file. */
int pt__msg_from_json(struct pt_cassette_msg *m, json_t *o, bool response,
		      struct pt_buf *err);
/* The "request" / "response" object to store. NULL on ENOMEM/bad UTF-8
 * (bad text becomes a blob first, so only ENOMEM). */
json_t *pt__msg_to_json(const struct pt_cassette_msg *m);
/* Request from the client's view: parses the URL. */
int pt__msg_from_request(struct pt_cassette_msg *m,
			 const struct pt_http_request *req);

/* Canonical request for matching. */
struct canon {
	char *method; /* upper case */
	char *uri;
	char *query; /* raw, for messages */
	/* One block: the index key (method/uri per match bits) and NUL,
	 * then the query key and the headers key (few allocations per
	 * lookup). */
	struct pt_buf keys;
	size_t key_len, q_off, q_len, h_off, h_len;
	struct pt_buf bkey, jkey;
	enum body_kind kind;
	bool jvalid; /* jkey holds canonical JSON */
};

/* steal: take the method, uri and query strings from m (left NULL).
 * Headers named in ignore_headers (NULL-terminated) are not compared. */
int pt__canon_build(struct canon *c, struct pt_cassette_msg *m, unsigned match,
		    const char *const *ignore_headers, bool steal);
void pt__canon_clear(struct canon *c);
/* Bit set of PT_MATCH_* fields that differ (0: match). */
unsigned pt__canon_diff(const struct canon *a, const struct canon *b,
			unsigned match);

/* Frees a string that jansson allocated (json_dumps). */
void pt__json_free(void *p);

/* Sorts the raw '&' segments of req's "query_string" (in place). */
int pt__sort_query(json_t *req);
/* Well-formed UTF-8 (control characters allowed). */
bool pt__utf8_valid(const char *p, size_t n);

/* Sessions (session.c). A slot is the per-key state in the table. */
struct pt__slot;
int pt__session_acquire(struct pt_cassette_session *s, const char *key,
			struct pt__slot **ret);
int64_t pt__slot_next(struct pt__slot *slot);
int64_t pt__slot_current(struct pt__slot *slot);
int pt__session_release(struct pt_cassette_session *s, struct pt__slot *slot);
/* Deadline of the waits for a shared session's lock (0: 10 s). */
void pt__session_set_lock_timeout(int ms);
/* The process's default local session (never freed). */
int pt__session_default(struct pt_cassette_session **ret);

/* Templates (template.c). */
struct pt__tpl;
struct pt__tpl_match;
int pt__tpl_from_opts(const struct pt_cassette_template *o, struct pt_buf *err,
		      struct pt__tpl **ret);
int pt__tpl_from_json(json_t *block, struct pt_buf *err, struct pt__tpl **ret);
void pt__tpl_free(struct pt__tpl *t);
/* Templates req and resp in place; *ret_block: the "template" object. */
int pt__tpl_record(const struct pt__tpl *t, struct pt_cassette_msg *req,
		   struct pt_cassette_msg *resp, json_t **ret_block);
int pt__tpl_compare(const struct pt__tpl *t, unsigned match,
		    const struct canon *stored, const char *method,
		    const char *uri, const char *query,
		    const struct pt_cassette_msg *m,
		    struct pt__tpl_match **ret);
int pt__tpl_apply(const struct pt__tpl_match *mm, struct pt_cassette_msg *resp);
void pt__tpl_match_free(struct pt__tpl_match *m);

/* What is known of the file on disk (disk.c). */
struct pt__disk {
	bool valid; /* the fields below describe the file */
	dev_t dev;
	ino_t ino;
	uint64_t size;
	uint64_t arr_end; /* where the tail starts */
	char *tail;	  /* the text after the last interaction */
	size_t tail_len;
};

struct entry {
	json_t *ia; /* borrowed from the interactions array */
	struct canon c;
	struct pt__tpl *tpl; /* stored template block, or NULL */
};

struct pt_cassette {
	pthread_mutex_t mu;
	char *path;	/* as given */
	char *key;	/* absolute path: the session key */
	char *lockpath; /* <path>.lock */
	struct pt_cassette_opts o;
	unsigned match;
	pcre2_code **re;
	json_t *doc; /* {"version": "2.0", "interactions": [...]} */
	PT_VEC(struct entry) e;
	struct pt_map index; /* canon.key -> struct bucket * */
	/* per-path sequential: "METHOD uri" -> struct stream * (kept across
	 * rebuilds of the table: the counters live on) */
	struct pt_map streams;
	PT_VEC(uint32_t) tpl_ix; /* templated entries: not in the index */
	struct pt__tpl *tpl;	 /* template for recording, or NULL */
	struct pt_cassette_session *session;
	struct pt__slot *slot;
	struct pt_cassette_info info_cache;
	struct pt__disk disk; /* under the file lock (disk.c) */
};

/* cassette.c: the interaction table. */
int pt__entry_add(struct pt_cassette *c, json_t *ia, size_t i,
		  struct pt_diags *diags);
int pt__entries_build(struct pt_cassette *c, json_t *doc,
		      struct pt_diags *diags);

/* disk.c: the file. */
struct stat;
void pt__disk_clear(struct pt__disk *d);
/* Reads the whole file between appends; *st its identity and size. */
int pt__disk_read(struct pt_cassette *c, char **ret, size_t *ret_len,
		  struct stat *st);
/* Records what the text read says about the file (for in-place appends). */
int pt__disk_know(struct pt_cassette *c, json_t *doc, const char *text,
		  size_t len, const struct stat *st);
/* Applies an undo record (the lock file's text) to the file's text: a
 * torn append is replaced by the old tail. 0 when there is none. */
int pt__undo_apply(const char *rec, size_t rn, char **text, size_t *len);
/* Under the file lock: catches up with the file (other recorders). */
int pt__disk_refresh(struct pt_cassette *c, struct pt_diags *diags);
/* Appends interaction ia (taken) to the file and the cassette. */
int pt__disk_append(struct pt_cassette *c, json_t *ia, struct pt_diags *diags);

/* Parses a cassette document (with migration); the root on success. */
int pt__cassette_parse(const char *path, const char *text, size_t len,
		       size_t max_interactions, struct pt_diags *diags,
		       json_t **ret);
/* A cassette from text in memory (no file, no session): the fuzz target
 * and tests of the loader. */
int pt__cassette_from_text(const char *name, const char *text, size_t len,
			   const struct pt_cassette_opts *opts,
			   struct pt_diags *diags, struct pt_cassette **ret);
/* An interaction as saved: query segments sorted, runtime-only template
 * fields dropped. */
int pt__ia_normalize(json_t *ia);
/* Sorted keys, indent 2, query segments sorted; heap string. */
char *pt__cassette_dump(json_t *doc);
/* Applies regex filters to a string in place (reallocating). */
int pt__apply_regex(struct pt_cassette *c, char **s, size_t *len);

#endif
