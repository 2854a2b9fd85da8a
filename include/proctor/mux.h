/*
 * proctor/mux.h - the session pool: many logical sessions multiplexed over
 * long-lived worker processes, and the serve side with which a C program
 * becomes such a worker. Semantics: docs/peers.md §1 (Plushie
 * Test.SessionPool and the renderer wire protocol); docs/mux.md lists the
 * decisions and deviations.
 *
 * Messages are JSON objects held as jansson json_t values, whatever the
 * wire format (JSON lines or msgpack with a 4-byte big-endian length
 * prefix). Every message has a "type" and a "session" string; requests
 * carry an "id" and replies echo both.
 *
 * Ownership: functions that take a json_t * named "msg" BORROW it (they
 * never modify the caller's object); a json_t * returned through ret_* or
 * in a polled event is owned by the caller (json_decref). Callbacks get
 * borrowed messages valid for the duration of the call.
 *
 * Threads: a struct pt_mux_pool may be used from any number of threads at
 * once. Event callbacks run on whichever thread is reading the worker's
 * output at the time: the pool's own thread, or a thread waiting inside
 * pt_mux_request()/pt_mux_unregister(). They may call pt_mux_send() and
 * pt_mux_interact(), but not the functions that wait for the worker
 * (pt_mux_request, pt_mux_unregister): those return PT_ESTATE from a
 * callback. The library never touches signal dispositions: the worker's
 * stdin is a pipe whose read end the pool also holds, so writing to a dead
 * worker cannot raise SIGPIPE; a worker that stops reading is killed
 * after write_timeout_ms rather than blocking its writers for ever.
 */
#ifndef PROCTOR_MUX_H
#define PROCTOR_MUX_H

#include <jansson.h>
#include <sys/types.h>

#include <proctor/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Largest frame accepted or produced on either side (64 MiB). */
#define PT_MUX_MAX_FRAME (64u * 1024u * 1024u)
/* Deepest msgpack/JSON nesting accepted (containers inside containers). */
#define PT_MUX_MAX_DEPTH 128
/* The wire protocol version sent in settings and expected in hello. */
#define PT_MUX_PROTOCOL_VERSION 1
/* Room for a session or request id ("pool_N", "req_N"), NUL included. */
#define PT_MUX_ID_MAX 32

enum pt_mux_format {
	PT_MUX_MSGPACK = 0, /* the default, as upstream */
	PT_MUX_JSON = 1,
	PT_MUX_AUTO = 2, /* serve side only: detect from the first byte */
};

enum pt_mux_mode {
	PT_MUX_MULTIPLEXED = 0, /* one worker, --max-sessions N */
	PT_MUX_PER_SESSION = 1, /* one worker process per session */
};

/*
 * What the worker is asked to be, with a flag after the caller's
 * arguments (a renderer's modes). The worker's hello must name the same
 * "mode" when it names one.
 */
enum pt_mux_renderer_mode {
	/* --mock: protocol only, nothing drawn; actions that need a
	 * renderer get a renderer's stub answers (the default). */
	PT_MUX_RENDERER_MOCK = 0,
	/* --headless: draws without a display (real screenshots). */
	PT_MUX_RENDERER_HEADLESS = 1,
	/* No flag: the worker's own default (a windowed renderer); per-
	 * session mode only, -EINVAL with PT_MUX_MULTIPLEXED. */
	PT_MUX_RENDERER_WINDOWED = 2,
};

enum pt_mux_event_kind {
	/* A message from the worker for this session (any type). */
	PT_MUX_EV_MESSAGE = 0,
	/* The worker of this session exited; status is the wait status. */
	PT_MUX_EV_WORKER_EXITED = 1,
	/*
	 * Pool-wide only: a frame from the worker could not be decoded, or a
	 * message could not be routed. msg is a "diagnostic" message
	 * ({"type":"diagnostic","session":"","level":"warn","code":...,
	 * "message":...}) or the unrouted message itself.
	 */
	PT_MUX_EV_DIAGNOSTIC = 2,
	PT_MUX_EV_UNROUTED = 3,
	/* Pool-wide only: the multiplexed worker was restarted (or not). */
	PT_MUX_EV_WORKER_RESTARTED = 4,
	PT_MUX_EV_WORKER_GAVE_UP = 5,
};

struct pt_mux_event {
	enum pt_mux_event_kind kind;
	const char *session; /* "pool_N", or "" for pool-wide events */
	json_t *msg;	     /* may be NULL (worker events) */
	int status;	     /* wait status for WORKER_EXITED, else 0 */
	size_t lost;	     /* polled queues: events dropped before this */
};

/*
 * Receives events. ev and its strings and msg are borrowed for the call.
 * See the threads note above for where it runs.
 */
typedef void (*pt_mux_event_fn)(void *ctx, const struct pt_mux_event *ev);

struct pt_mux_pool_opts {
	/* Worker program and arguments (argv[0] is a path); required. */
	const char *const *argv;
	/* Worker environment; NULL inherits the caller's. */
	const char *const *envp;
	enum pt_mux_mode mode;
	enum pt_mux_renderer_mode renderer_mode; /* default: --mock */
	enum pt_mux_format format; /* PT_MUX_MSGPACK or PT_MUX_JSON */
	unsigned max_sessions;	   /* live sessions; 0 means 8 */
	int request_timeout_ms;	   /* pt_mux_request default; 0: 30000 */
	int unregister_timeout_ms; /* 0: 5000 */
	int start_timeout_ms;	   /* waiting for hello; 0: 10000 */
	int close_grace_ms;	/* per-session close before SIGKILL; 0: 1000 */
	unsigned max_restarts;	/* multiplexed restarts per window; 0: 3 */
	int restart_window_ms;	/* 0: 60000 */
	int restart_backoff_ms; /* first backoff, doubled each time; 0: 50 */
	size_t max_frame;	/* 0 or above the cap: PT_MUX_MAX_FRAME */
	size_t owner_queue_cap; /* polled event queue bound; 0: 65536 */
	/*
	 * A write to a worker that accepts no byte for this long means the
	 * worker is alive but not reading: it is killed and handled as a
	 * dead worker (the write and every waiter of that worker get
	 * PT_EWORKER, a "worker_write_timeout" diagnostic, restart). 0:
	 * 10000; negative: -EINVAL.
	 */
	int write_timeout_ms;
	/* Pool-wide events (diagnostics, unrouted messages, restarts). */
	pt_mux_event_fn on_event;
	void *ctx;
	/* Worker stderr: 0 (the default) inherits ours, -1 /dev/null, or an
	 * fd of the caller's. */
	int stderr_fd;
	/* Start errors are described here when not NULL (caller owns). */
	struct pt_diags *diags;
};

struct pt_mux_pool;

/*
 * Starts a pool. Multiplexed: spawns the worker with "--mock" or
 * "--headless" (renderer_mode), "--max-sessions N" and "--json" or
 * "--msgpack" appended to argv (per-session workers get the same without
 * "--max-sessions"), sends settings
 * (protocol_version 1) and waits for a valid hello. Per-session: spawns
 * nothing yet. Errors: -EINVAL (bad options), -errno from spawn,
 * PT_EPROTO (bad or missing hello, or a hello whose mode is not the one
 * asked for; the reason goes to opts->diags),
 * PT_EWORKER (the worker exited during the handshake).
 */
PT_API int pt_mux_pool_new(const struct pt_mux_pool_opts *opts,
			   struct pt_mux_pool **ret);
/*
 * Stops every worker (close stdin, grace period, SIGKILL), answers every
 * waiter with PT_EWORKER and frees the pool. Must not be called while
 * other threads still use the pool. NULL-safe; returns NULL.
 */
PT_API struct pt_mux_pool *pt_mux_pool_free(struct pt_mux_pool *p);

/*
 * Registers a session and writes its id ("pool_N"; never reused) into
 * ret_id (PT_MUX_ID_MAX bytes). Events for the session go to cb, or, when
 * cb is NULL, to a queue read with pt_mux_next_event(). PT_EFULL when
 * max_sessions sessions are live (never blocks); PT_EWORKER when the
 * worker is gone for good. Per-session mode spawns the worker here.
 */
PT_API int pt_mux_register(struct pt_mux_pool *p, pt_mux_event_fn cb, void *ctx,
			   char ret_id[PT_MUX_ID_MAX]);

/*
 * Sends msg (fire-and-forget) with "session" set to id. PT_ENOTFOUND for
 * an unknown session (nothing is written), PT_EWORKER when its worker has
 * exited, PT_ETOOBIG when the encoded frame exceeds max_frame.
 */
PT_API int pt_mux_send(struct pt_mux_pool *p, const char *id,
		       const json_t *msg);

/*
 * Sends msg with "session" and a fresh "id" (req_N) and waits for the
 * message carrying the same (session, id), whatever its type. timeout_ms
 * < 0 uses the pool default. On timeout the pending entry is removed
 * (-ETIMEDOUT; a late reply then goes to the owner). PT_EWORKER when the
 * worker exits while waiting. *ret_reply is owned by the caller.
 */
PT_API int pt_mux_request(struct pt_mux_pool *p, const char *id,
			  const json_t *msg, int timeout_ms,
			  json_t **ret_reply);

/*
 * Like pt_mux_request, for a reply of type expect_type (e.g.
 * "screenshot_response"; NULL: any type). A message that carries the
 * request's (session, id) with another type ends the wait with PT_EPROTO
 * (nothing in *ret_reply); that message then goes to the session's owner
 * as any other message, and the pool-wide handler gets a diagnostic
 * "unexpected_reply" ("pool_1 req_4: expected screenshot_response, got
 * diagnostic").
 */
PT_API int pt_mux_request_expect(struct pt_mux_pool *p, const char *id,
				 const json_t *msg, const char *expect_type,
				 int timeout_ms, json_t **ret_reply);

/*
 * Sends an "interact" (msg with session and a fresh id) and returns at
 * once with the request id in ret_req_id. The interact_step and the final
 * interact_response messages reach the session's owner as events; the
 * owner answers each step with a snapshot or patch (pt_mux_send).
 */
PT_API int pt_mux_interact(struct pt_mux_pool *p, const char *id,
			   const json_t *msg, char ret_req_id[PT_MUX_ID_MAX]);

/*
 * Ends a session. The slot is free when this returns. Multiplexed: sends
 * "reset" and waits for reset_response (session_closed is swallowed).
 * Per-session: asks the worker to exit, closes its input and kills it
 * after close_grace_ms. Returns 0 also for an unknown id or a dead worker,
 * -ETIMEDOUT when the worker did not confirm in time, PT_EPROTO when it
 * answered the reset with another type than reset_response (the slot is
 * freed anyway). Events still queued for the session are discarded.
 */
PT_API int pt_mux_unregister(struct pt_mux_pool *p, const char *id);
/* Like pt_mux_unregister without waiting for the worker. */
PT_API int pt_mux_unregister_async(struct pt_mux_pool *p, const char *id);

/*
 * For sessions registered without a callback: waits up to timeout_ms
 * (-1: forever, 0: poll) for the next event. 1 when an event was stored in
 * *ret (release it with pt_mux_event_release), 0 on timeout, PT_ENOTFOUND
 * for an unknown session, PT_ESTATE for a session that has a callback.
 */
PT_API int pt_mux_next_event(struct pt_mux_pool *p, const char *id,
			     int timeout_ms, struct pt_mux_event *ret);
/* Frees what a polled event owns; NULL-safe. */
PT_API void pt_mux_event_release(struct pt_mux_event *ev);

struct pt_mux_pool_stats {
	size_t live_sessions;
	size_t pending_requests;
	size_t restarts;
	size_t decode_errors;
	size_t unrouted;
	pid_t worker_pid; /* multiplexed worker, 0 when none */
};

PT_API void pt_mux_pool_stats(struct pt_mux_pool *p,
			      struct pt_mux_pool_stats *ret);
/* The pid of the worker serving session id (0 when none). */
PT_API pid_t pt_mux_session_worker_pid(struct pt_mux_pool *p, const char *id);

/* ---- Serve side: a worker hosting many sessions ---------------------- */

/* One hosted session, as seen by the handlers. Owned by the server. */
struct pt_mux_sctx;

struct pt_mux_serve_ops {
	/*
	 * A session was created (lazily, on its first message). *ret_state
	 * is handed back to message() and close(). Nonzero refuses the
	 * session (session_error "session_open_failed").
	 */
	int (*open)(void *ctx, struct pt_mux_sctx *s, void **ret_state);
	/*
	 * One message for the session: first a copy of the startup
	 * settings, then each message in arrival order. Calls for one
	 * session never overlap; different sessions run in parallel when
	 * threads > 0. "reset" is handled by the server: close() is called
	 * and reset_response (then session_closed) is written.
	 */
	void (*message)(void *ctx, struct pt_mux_sctx *s, void *state,
			json_t *msg);
	/* The session ends (reset, overflow, shutdown); free the state. */
	void (*close)(void *ctx, struct pt_mux_sctx *s, void *state);
};

struct pt_mux_serve_opts {
	int in_fd, out_fd;	   /* usually 0 and 1 */
	enum pt_mux_format format; /* PT_MUX_AUTO detects from byte one */
	/* More than 1: multiplexed; 0 or 1: single-session mode. */
	unsigned max_sessions;
	/* Handler threads; 0 runs handlers on the reader thread. */
	unsigned threads;
	/* Per-session queue bound (threads > 0); 0: 1024. */
	size_t queue_cap;
	size_t max_frame; /* 0 or above the cap: PT_MUX_MAX_FRAME */
	/*
	 * 0: a write waits as long as the host does not read. More: out_fd
	 * is made non-blocking for the service (and blocking again at the
	 * end; give a pipe or socket of the worker's own), and a host that
	 * accepts no byte for this long ends the service: pt_mux_serve()
	 * returns -ETIMEDOUT. Negative: -EINVAL.
	 */
	int write_timeout_ms;
	/* hello fields: name, version, mode, backend; NULL for defaults. */
	const char *name, *version, *mode, *backend;
	const struct pt_mux_serve_ops *ops;
	void *ctx;
};

/*
 * Serves until end of input or pt_mux_sctx_stop(): writes hello, requires
 * settings with protocol_version 1 (otherwise writes
 * {"type":"error","message":...} and returns PT_EPROTO), then dispatches.
 * Undecodable frames become "diagnostic" messages and are skipped.
 * Returns 0 on a clean end, PT_EPROTO, PT_EPARSE (input truncated
 * mid-frame), -ETIMEDOUT (write_timeout_ms passed) or -errno.
 */
PT_API int pt_mux_serve(const struct pt_mux_serve_opts *opts);

/* The session id (the incoming "session" in single-session mode). */
PT_API const char *pt_mux_sctx_id(const struct pt_mux_sctx *s);
/* The wire format in use (detected from the first byte with AUTO). */
PT_API enum pt_mux_format pt_mux_sctx_format(const struct pt_mux_sctx *s);
/* Writes msg (stolen) with "session" set; 0 or -errno/PT_ETOOBIG. */
PT_API int pt_mux_sctx_emit(struct pt_mux_sctx *s, json_t *msg);
/* Writes reply (stolen) with "session" and "id" copied from req. */
PT_API int pt_mux_sctx_reply(struct pt_mux_sctx *s, const json_t *req,
			     json_t *reply);
/* Writes raw bytes to the output as they are (tests of bad frames). */
PT_API int pt_mux_sctx_write_raw(struct pt_mux_sctx *s, const void *data,
				 size_t len);
/* Makes pt_mux_serve() return 0 after the current message. */
PT_API void pt_mux_sctx_stop(struct pt_mux_sctx *s);

/* ---- Framing, for tools and tests ------------------------------------ */

/*
 * Encodes msg as one frame (JSON line with '\n', or 4-byte big-endian
 * length plus msgpack map) into a new buffer (free with pt_free()).
 * PT_ETOOBIG above max_frame (0: the cap), PT_EPARSE for values the format
 * cannot carry (non-UTF-8 strings in JSON, nesting over the limit).
 */
PT_API int pt_mux_encode(enum pt_mux_format f, const json_t *msg,
			 size_t max_frame, char **ret_data, size_t *ret_len);

/*
 * An incremental frame decoder: feed bytes as they come, take messages
 * out. Errors carry the stream offset of the bad frame and leave the
 * decoder resynchronised (JSON: after the next newline; msgpack: after the
 * declared length), so decoding can go on.
 */
struct pt_mux_decoder;

PT_API int pt_mux_decoder_new(enum pt_mux_format f, size_t max_frame,
			      struct pt_mux_decoder **ret);
PT_API struct pt_mux_decoder *pt_mux_decoder_free(struct pt_mux_decoder *d);
/* Appends bytes; 0 or -ENOMEM. */
PT_API int pt_mux_decoder_feed(struct pt_mux_decoder *d, const void *data,
			       size_t len);
/*
 * 1: a message in *ret_msg (owned by the caller); 0: more bytes needed;
 * PT_EPARSE (malformed), PT_ETOOBIG (oversize): pt_mux_decoder_error()
 * describes it ("byte 1234: ..."); call again to go on.
 */
PT_API int pt_mux_decoder_next(struct pt_mux_decoder *d, json_t **ret_msg);
/* At end of input: 0, or PT_EPARSE when a frame is cut short. */
PT_API int pt_mux_decoder_finish(struct pt_mux_decoder *d);
/* The text of the last error; "" when none. Valid until the next call. */
PT_API const char *pt_mux_decoder_error(const struct pt_mux_decoder *d);

#ifdef __cplusplus
}
#endif

#endif
