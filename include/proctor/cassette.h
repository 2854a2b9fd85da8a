/*
 * proctor/cassette.h - record/replay cassettes of HTTP interactions
 * (ReqCassette's JSON layout, version "2.0"), sequential sessions shared
 * across threads and processes, and a local record/replay HTTP proxy.
 *
 *	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
 *	struct pt_cassette *c;
 *	struct pt_http_response *resp;
 *
 *	o.mode = PT_CASSETTE_REPLAY;
 *	if (pt_cassette_open("test/cassettes/api.json", &o, diags, &c) < 0)
 *		...;
 *	r = pt_cassette_play(c, &req, forward, ctx, diags, &resp);
 *	...
 *	pt_http_response_free(resp);
 *	pt_cassette_free(c);
 *
 * Every function is safe to call from several threads on the same object.
 * Errors: -errno, PT_EPARSE (corrupt file, with line/column/byte in the
 * diagnostic), PT_ETOOBIG (a limit), PT_ENOTFOUND (replay of a missing
 * cassette), PT_ENOMATCH (replay miss; the diagnostic names the closest
 * recorded interaction and the fields that differ), PT_EFULL (no free
 * slot in a shared session file).
 */
#ifndef PROCTOR_CASSETTE_H
#define PROCTOR_CASSETTE_H

#include <proctor/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Modes (ReqCassette's :record, :replay, :bypass). */
enum pt_cassette_mode {
	PT_CASSETTE_RECORD = 0, /* replay when found, else forward + append */
	PT_CASSETTE_REPLAY = 1, /* replay only; a miss is PT_ENOMATCH */
	PT_CASSETTE_BYPASS = 2, /* always forward; never read or write */
};

/* Request fields compared by the matcher (bit set). */
enum {
	PT_MATCH_METHOD = 1u << 0,  /* case-insensitive */
	PT_MATCH_URI = 1u << 1,	    /* scheme://host[:port]/path, exact */
	PT_MATCH_QUERY = 1u << 2,   /* decoded key->value map, any order */
	PT_MATCH_HEADERS = 1u << 3, /* names lowercased, value lists sorted */
	PT_MATCH_BODY = 1u << 4,    /* same body kind and equal (JSON deep) */
	/* Bodies compared as JSON whatever their stored kind (a text body
	 * that parses as JSON equals the same JSON body); else as BODY. */
	PT_MATCH_BODY_JSON = 1u << 5,
	PT_MATCH_DEFAULT = PT_MATCH_METHOD | PT_MATCH_URI | PT_MATCH_QUERY |
			   PT_MATCH_HEADERS | PT_MATCH_BODY,
};

/*
 * Headers that every HTTP client sets its own way (user-agent, accept,
 * accept-encoding, connection, host, content-length): the proxy's default
 * opts.match_ignore_headers, so that a cassette recorded with one client
 * replays for another. NULL-terminated.
 */
PT_API extern const char *const pt_cassette_client_headers[];

/* Default limits (0 in the options means these). */
#define PT_CASSETTE_MAX_BYTES	     (64u << 20)
#define PT_CASSETTE_MAX_INTERACTIONS 100000u

struct pt_http_header {
	const char *name;
	const char *value;
};

/* A request as the client sent it. All borrowed. */
struct pt_http_request {
	const char *method;
	const char *url; /* absolute: scheme://host[:port]/path[?query] */
	const struct pt_http_header *headers;
	size_t n_headers;
	const void *body;
	size_t body_len;
};

/*
 * A response. Returned by pt_cassette_play() (owner: the caller, free with
 * pt_http_response_free) and filled by forward functions with the
 * pt_http_response_* setters. Multi-valued headers come out once per
 * value as recorded; body is NUL-terminated for convenience.
 */
struct pt_http_response {
	int status;
	struct pt_http_header *headers;
	size_t n_headers;
	void *body;
	size_t body_len;
};

PT_API int pt_http_response_new(struct pt_http_response **ret);
PT_API struct pt_http_response *
pt_http_response_free(struct pt_http_response *r);
PT_API int pt_http_response_add_header(struct pt_http_response *r,
				       const char *name, const char *value);
PT_API int pt_http_response_set_body(struct pt_http_response *r,
				     const void *body, size_t len);

/*
 * Sends req to the real server (record and bypass modes) and fills resp
 * (status preset to 0). Returns 0 or an error, which pt_cassette_play()
 * passes on; ctx is the forward_ctx given to it.
 */
typedef int (*pt_cassette_forward_fn)(void *ctx,
				      const struct pt_http_request *req,
				      struct pt_http_response *resp);

/*
 * A request or a response as it is stored, handed to filter callbacks.
 * Fields by name: "method", "uri", "query_string", "body" (the body's
 * text: JSON compact, blob bytes) and, for responses, "status".
 */
struct pt_cassette_msg;

/* Borrowed value of a field, or NULL when the message has none. */
PT_API const char *pt_cassette_msg_get(const struct pt_cassette_msg *m,
				       const char *field);
/* Replaces a field. Setting "body" keeps its kind (JSON if it parses). */
PT_API int pt_cassette_msg_set(struct pt_cassette_msg *m, const char *field,
			       const char *value);
/* First value of a header (name case-insensitive), or NULL. */
PT_API const char *pt_cassette_msg_header(const struct pt_cassette_msg *m,
					  const char *name);
/* Replaces every value of a header; value NULL removes the header. */
PT_API int pt_cassette_msg_set_header(struct pt_cassette_msg *m,
				      const char *name, const char *value);

/* {regex, replacement}: PCRE2 syntax, "$1" refers to a group. */
struct pt_cassette_filter {
	const char *pattern;
	const char *replacement;
};

/*
 * Templates (ReqCassette): values matched by named patterns in a request
 * (uri, query, body) are stored as markers {{name.i}}, in the request and
 * where they occur in the response; a replayed request with other values
 * matches, and its values fill the response. Presets: "anthropic",
 * "openai", "llm" (both), "common" (uuid, iso_timestamp); patterns with
 * the same name override the preset's. A template implies sequential
 * matching; headers are never compared for templated interactions.
 */
struct pt_cassette_pattern {
	const char *name;
	const char *regex; /* PCRE2 */
};

struct pt_cassette_template {
	const char *preset; /* or NULL */
	const struct pt_cassette_pattern *patterns;
	size_t n_patterns;
	bool allow_key_templates; /* also template JSON object keys */
};

/*
 * Sessions: the interaction index of sequential matching, per cassette
 * path. A local session lives in this process; a shared session lives in
 * a file mapped by every process that opens it, and its get-and-advance
 * is one atomic fetch-add (linearisable across threads and processes).
 * Nesting a cassette that is already active keeps the index; ending the
 * outermost use forgets the key (its slot is freed), so the next use
 * starts at 0. Sequential cassettes opened without a session share the
 * process's default local session, so nested uses of one path in one
 * process share one index. Keys are compared in full (at most 3967
 * bytes: -ENAMETOOLONG); a session holds 256 active keys (PT_EFULL).
 * Waiting for the shared file's lock ends after 10 s with PT_ELOCKED.
 */
struct pt_cassette_session;

PT_API int pt_cassette_session_new(struct pt_cassette_session **ret);
/* Creates the file if needed (mode 0600). Not a symbolic link, owned by
 * this user; a file of another layout is PT_EINCOMPAT. */
PT_API int pt_cassette_session_open_shared(const char *file,
					   struct pt_cassette_session **ret);
PT_API struct pt_cassette_session *
pt_cassette_session_free(struct pt_cassette_session *s);
/* The session's id (> 0): the same in every process that opens the same
 * shared file, unique for a local session. */
PT_API uint64_t pt_cassette_session_id(const struct pt_cassette_session *s);
/* Begins one (possibly nested) use of key (a cassette path); returns the
 * session's id (> 0) or an error. */
PT_API int64_t pt_cassette_session_start(struct pt_cassette_session *s,
					 const char *key);
/* Ends one use; the outermost forgets the key. No-op for an unknown key. */
PT_API int pt_cassette_session_end(struct pt_cassette_session *s,
				   const char *key);
/* Index, then advance: returns the index (>= 0) or an error. */
PT_API int64_t pt_cassette_session_next(struct pt_cassette_session *s,
					const char *key);
/* Advances without reading: 0 or an error. */
PT_API int pt_cassette_session_advance(struct pt_cassette_session *s,
				       const char *key);
/* The index (0 for an unknown key). */
PT_API int64_t pt_cassette_session_current(struct pt_cassette_session *s,
					   const char *key);

struct pt_cassette_opts {
	enum pt_cassette_mode mode;
	unsigned match;	 /* PT_MATCH_* bits; 0: PT_MATCH_DEFAULT */
	bool sequential; /* strict per index (see the session) */
	/* With sequential: one index per (method, uri) stream instead of one
	 * for the cassette, so concurrent clients that interleave their
	 * requests differently from the recording still replay in order
	 * within each stream. Kept in the cassette object (not a session);
	 * templated interactions are not part of any stream. */
	bool per_path;
	/* Session for sequential matching; NULL: the process's default. */
	struct pt_cassette_session *session;
	/* Regex replacements on request uri, query and body, and on the
	 * recorded response body. */
	const struct pt_cassette_filter *filters;
	size_t n_filters;
	/* NULL-terminated header names not compared by PT_MATCH_HEADERS
	 * (still recorded); e.g. pt_cassette_client_headers. */
	const char *const *match_ignore_headers;
	/* NULL-terminated header names removed (case-insensitive). */
	const char *const *filter_request_headers;
	const char *const *filter_response_headers;
	/* Callbacks (0 or an error that aborts the request). The request
	 * filter runs on every request in every mode, before the regex and
	 * header filters; the others only when recording. */
	int (*filter_request)(void *ctx, struct pt_cassette_msg *req);
	int (*filter_response)(void *ctx, struct pt_cassette_msg *resp);
	int (*before_record)(void *ctx, struct pt_cassette_msg *req,
			     struct pt_cassette_msg *resp);
	void *filter_ctx;
	/* Templates for recording (NULL: none); implies sequential. */
	const struct pt_cassette_template *tmpl;
	size_t max_bytes;	 /* file size limit; 0: default */
	size_t max_interactions; /* 0: default */
};

#define PT_CASSETTE_OPTS_INIT \
 {                            \
  .mode = PT_CASSETTE_RECORD  \
 }

struct pt_cassette;

/*
 * Opens the cassette at path (it may not exist yet, except in replay
 * mode: PT_ENOTFOUND). A corrupt file is PT_EPARSE with file, line and
 * column in diags (may be NULL); a file over the limits is PT_ETOOBIG.
 * Versions "1.0" and v0.1 single responses are migrated in memory; the
 * next save writes "2.0". opts is copied (its strings are borrowed until
 * the cassette is freed).
 */
PT_API int pt_cassette_open(const char *path,
			    const struct pt_cassette_opts *opts,
			    struct pt_diags *diags, struct pt_cassette **ret);
/* Ends the session use begun by open. NULL-safe; returns NULL. */
PT_API struct pt_cassette *pt_cassette_free(struct pt_cassette *c);

/*
 * Serves one request according to the mode: replays the matching
 * interaction, or forwards with fwd (record, bypass) and, in record
 * mode, appends the interaction to the file in place (under a lock,
 * after catching up with other recorders, so none loses anything). *ret_resp is
 * the caller's. A replay miss is PT_ENOMATCH, explained in diags.
 */
PT_API int pt_cassette_play(struct pt_cassette *c,
			    const struct pt_http_request *req,
			    pt_cassette_forward_fn fwd, void *fwd_ctx,
			    struct pt_diags *diags,
			    struct pt_http_response **ret_resp);

/*
 * First-match lookup only (no session, no forwarding): the index of the
 * interaction that req matches, or PT_ENOMATCH.
 */
PT_API int pt_cassette_find(struct pt_cassette *c,
			    const struct pt_http_request *req);

PT_API size_t pt_cassette_count(struct pt_cassette *c);

/*
 * ReqCassette's file name for a cassette name: every character that is
 * not a word character, white space or '-' becomes '_', runs of white
 * space become one '_', then ".json" ("my cassette" -> "my_cassette.json").
 * *ret is the caller's (pt_free).
 */
PT_API int pt_cassette_file_name(const char *name, char **ret);

/* Summary of interaction i; strings borrowed until the next change. */
struct pt_cassette_info {
	const char *method;
	const char *uri;
	const char *query_string;
	const char *request_body_type; /* "json", "text" or "blob" */
	int status;
	const char *response_body_type;
	size_t response_body_len; /* decoded bytes */
	const char *recorded_at;  /* or "" */
};

PT_API int pt_cassette_info(struct pt_cassette *c, size_t i,
			    struct pt_cassette_info *ret);

/*
 * Writes the cassette in its canonical form (version "2.0", sorted keys,
 * indented, query segments sorted) to path atomically.
 */
PT_API int pt_cassette_save_as(struct pt_cassette *c, const char *path);

/*
 * The HTTP proxy: a server on 127.0.0.1 that answers every request from
 * the cassette (sequential unless first_match), forwarding to upstream
 * with libcurl when the mode needs it. A request whose target is not a
 * path ("/path?query") answers 400. A replay miss answers miss_status
 * (default 599) with the explanation as text and the header
 * X-Proctor-Cassette: no-match; an upstream failure 502 (tag "error");
 * a limit 413 (request body), 431 (header count), 507 (cassette file or
 * interaction count) or 502 (upstream response body), tag "limit".
 */
#define PT_CASSETTE_PROXY_MAX_BODY	   (64u << 20)
#define PT_CASSETTE_PROXY_MAX_HEADERS	   256u
#define PT_CASSETTE_PROXY_MAX_HEADER_BYTES (64u << 10)
#define PT_CASSETTE_PROXY_MAX_CONNECTIONS  256u
#define PT_CASSETTE_PROXY_IDLE_TIMEOUT	   60u
#define PT_CASSETTE_PROXY_MISS_STATUS	   599

struct pt_cassette_proxy_opts {
	const char *upstream; /* "http://127.0.0.1:8080[/prefix]" */
	const char *listen;   /* "127.0.0.1:PORT"; NULL or port 0: any port */
	long timeout_ms;      /* upstream timeout; 0: 30 s */
	/* Limits; 0 means the PT_CASSETTE_PROXY_* default. */
	size_t max_body;	  /* request and upstream response bodies */
	unsigned max_headers;	  /* request header count */
	size_t max_header_bytes;  /* per connection: request line+headers */
	unsigned max_connections; /* clients served at once */
	unsigned idle_timeout_s;  /* an idle client connection is closed */
	int miss_status;	  /* status of a replay miss (100..999) */
};

struct pt_cassette_proxy;

/* c is borrowed and must outlive the proxy. */
PT_API int pt_cassette_proxy_start(struct pt_cassette *c,
				   const struct pt_cassette_proxy_opts *o,
				   struct pt_cassette_proxy **ret);
PT_API int pt_cassette_proxy_port(const struct pt_cassette_proxy *p);
/* Stops serving (waits for the requests in progress); NULL-safe. */
PT_API struct pt_cassette_proxy *
pt_cassette_proxy_stop(struct pt_cassette_proxy *p);

/* The forward function the proxy uses (libcurl); ctx: NULL or a long *
 * timeout in milliseconds. Exposed for tools and tests. */
PT_API int pt_cassette_forward_curl(void *ctx,
				    const struct pt_http_request *req,
				    struct pt_http_response *resp);

#ifdef __cplusplus
}
#endif

#endif
