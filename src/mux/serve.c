/*
 * mux/serve.c - the worker side: a program that hosts many sessions over
 * one input and one output stream (docs/peers.md §1.11 "Multiplexing").
 *
 * Threads: the caller of pt_mux_serve() reads and decodes frames and
 * routes each message to its session, creating sessions lazily. Each
 * session has a bounded queue; a session with queued messages is put on
 * a run queue that `threads` handler threads serve (one session is never
 * handled by two threads at once, so handlers need no locking for their
 * state). With threads = 0 the reader runs the handlers itself, which is
 * the fastest path for a single busy session. Frames are written whole
 * under one output lock, from whichever thread produces them.
 *
 * Reset: the session leaves the dispatch table at once and its id enters
 * the closing set (further messages get session_error
 * "session_reset_in_progress"); when the handler thread reaches the reset
 * it closes the state, writes reset_response, removes the id from the
 * closing set and only then writes session_closed, so a host that sees
 * session_closed can reuse the id at once and gets a fresh session.
 */
#include "base/common.h"
#include "base/map.h"
#include "mux/frame.h"
#include "os/fd.h"
#include "os/muxos.h"

#include <pthread.h>

struct srv;

struct pt_mux_sctx {
	struct srv *srv;
	char *id;   /* the key (also the map key bytes) */
	char *name; /* single-session mode: session of the current message */
	void *state;
	bool opened;
	bool scheduled; /* on the run queue or being handled */
	bool ejected;	/* overflowed: drop the queue, then close */
	json_t **q;	/* ring buffer */
	size_t qhead, qn, qcap;
	struct pt_mux_sctx *next_run;
};

struct srv {
	const struct pt_mux_serve_opts *o;
	enum pt_mux_format fmt;
	bool single;
	size_t queue_cap;
	size_t max_frame;
	json_t *settings;

	pthread_mutex_t wlock; /* output frames */
	int out_fd;
	bool out_failed;
	int out_err; /* the write deadline passed: pt_mux_serve's result */

	pthread_mutex_t lock; /* everything below */
	pthread_cond_t work, idle;
	struct pt_map live;    /* id -> session */
	struct pt_map closing; /* id -> session being reset or ejected */
	struct pt_mux_sctx *runq, *runq_tail;
	unsigned running;
	bool stopping;
	bool stop_requested;
	int wake; /* stop() wakes a reader blocked in poll */
};

/* ---- Output ------------------------------------------------------------ */

static void srv_stop(struct srv *s)
{
	pthread_mutex_lock(&s->lock);
	s->stop_requested = true;
	pthread_mutex_unlock(&s->lock);
	pt__wakefd_signal(s->wake);
}

/*
 * Writes bytes to the host, whole, under the output lock. After a failure
 * nothing more is written. With a write deadline, a host that reads
 * nothing for write_timeout_ms ends the service (-ETIMEDOUT).
 */
static int out_write(struct srv *s, const char *p, size_t n)
{
	int r;

	pthread_mutex_lock(&s->wlock);
	if (s->out_failed)
		r = -EPIPE;
	else if (s->o->write_timeout_ms > 0)
		r = pt__mux_write(s->out_fd, p, n, s->o->write_timeout_ms, NULL,
				  -1, -1);
	else
		r = pt__write_all(s->out_fd, p, n);
	if (r < 0 && !s->out_failed) {
		s->out_failed = true;
		if (r == -ETIMEDOUT) {
			s->out_err = r;
			srv_stop(s);
		}
	}
	pthread_mutex_unlock(&s->wlock);
	return r;
}

/* Writes msg, with "session" and "id" set to these when not NULL. */
static int write_stamped(struct srv *s, const json_t *msg, const char *session,
			 const char *id)
{
	struct pt_buf b = PT_BUF_INIT;
	int r = pt__mux_encode_stamped(s->fmt, msg, session, id, s->max_frame,
				       &b);

	if (r == 0)
		r = out_write(s, b.s, b.len);
	pt__buf_release(&b);
	return r;
}

static int write_msg(struct srv *s, const json_t *msg)
{
	return write_stamped(s, msg, NULL, NULL);
}

/* Builds {"type":"event","session":S,"family":F,"id":"","value":V}. */
static int write_event(struct srv *s, const char *session, const char *family,
		       json_t *value)
{
	json_t *m = json_pack("{s:s, s:s, s:s, s:s, s:o}", "type", "event",
			      "session", session, "family", family, "id", "",
			      "value", value ? value : json_object());
	int r;

	if (!m)
		return -ENOMEM;
	r = write_msg(s, m);
	json_decref(m);
	return r;
}

static void session_error(struct srv *s, const char *session, const char *code,
			  const char *text)
{
	write_event(s, session, "session_error",
		    json_pack("{s:s, s:s}", "code", code, "error", text));
}

static void diagnostic(struct srv *s, const char *session, const char *code,
		       const char *text)
{
	json_t *m = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "diagnostic",
			      "session", session, "level", "warn", "code", code,
			      "message", text);

	if (m) {
		write_msg(s, m);
		json_decref(m);
	}
}

const char *pt_mux_sctx_id(const struct pt_mux_sctx *c)
{
	return c->name ? c->name : c->id;
}

enum pt_mux_format pt_mux_sctx_format(const struct pt_mux_sctx *c)
{
	return c->srv->fmt;
}

int pt_mux_sctx_emit(struct pt_mux_sctx *c, json_t *msg)
{
	int r;

	if (!msg)
		return -EINVAL;
	r = write_stamped(c->srv, msg, pt_mux_sctx_id(c), NULL);
	json_decref(msg);
	return r;
}

int pt_mux_sctx_reply(struct pt_mux_sctx *c, const json_t *req, json_t *reply)
{
	const char *id = json_string_value(json_object_get(req, "id"));
	int r;

	if (!reply)
		return -EINVAL;
	r = write_stamped(c->srv, reply, pt_mux_sctx_id(c), id ? id : "");
	json_decref(reply);
	return r;
}

int pt_mux_sctx_write_raw(struct pt_mux_sctx *c, const void *data, size_t len)
{
	return out_write(c->srv, data, len);
}

void pt_mux_sctx_stop(struct pt_mux_sctx *c)
{
	srv_stop(c->srv);
}

/* ---- Sessions ---------------------------------------------------------- */

static struct pt_mux_sctx *sess_new(struct srv *s, const char *id)
{
	struct pt_mux_sctx *c = pt__calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->srv = s;
	c->id = pt__strdup(id);
	if (!c->id) {
		pt__free(c);
		return NULL;
	}
	return c;
}

static void sess_free(struct pt_mux_sctx *c)
{
	while (c->qn) {
		json_decref(c->q[c->qhead]);
		c->qhead = (c->qhead + 1) % c->qcap;
		c->qn--;
	}
	pt__free(c->q);
	pt__free(c->name);
	pt__free(c->id);
	pt__free(c);
}

/* Appends under s->lock. force: the reset, which may exceed the bound. */
static int sess_push(struct pt_mux_sctx *c, json_t *msg, size_t bound)
{
	if (c->qn >= bound)
		return PT_EFULL;
	if (c->qn == c->qcap) {
		size_t ncap = c->qcap ? c->qcap * 2 : 8;
		json_t **q = pt__malloc_array(ncap, sizeof(*q));

		if (!q)
			return -ENOMEM;
		for (size_t i = 0; i < c->qn; i++)
			q[i] = c->q[(c->qhead + i) % c->qcap];
		pt__free(c->q);
		c->q = q;
		c->qcap = ncap;
		c->qhead = 0;
	}
	c->q[(c->qhead + c->qn) % c->qcap] = msg;
	c->qn++;
	return 0;
}

static json_t *sess_pop(struct pt_mux_sctx *c)
{
	json_t *m;

	if (!c->qn)
		return NULL;
	m = c->q[c->qhead];
	c->qhead = (c->qhead + 1) % c->qcap;
	c->qn--;
	return m;
}

static void sess_close_state(struct srv *s, struct pt_mux_sctx *c)
{
	if (c->opened && s->o->ops && s->o->ops->close)
		s->o->ops->close(s->o->ctx, c, c->state);
	c->opened = false;
	c->state = NULL;
}

/* Opens the state and hands it a copy of the startup settings. */
static int sess_open(struct srv *s, struct pt_mux_sctx *c)
{
	const struct pt_mux_serve_ops *ops = s->o->ops;
	json_t *st;

	c->state = NULL;
	if (ops && ops->open && ops->open(s->o->ctx, c, &c->state) != 0)
		return -1;
	c->opened = true;
	st = json_deep_copy(s->settings); /* nothing shared across threads */
	if (st) {
		json_object_set_new(st, "session",
				    json_string(pt_mux_sctx_id(c)));
		if (ops && ops->message)
			ops->message(s->o->ctx, c, c->state, st);
		json_decref(st);
	}
	return 0;
}

/* Removes a reset or ejected session for good and says so. */
static void sess_finish(struct srv *s, struct pt_mux_sctx *c)
{
	char *id;

	sess_close_state(s, c);
	pthread_mutex_lock(&s->lock);
	pt__map_del(&s->closing, c->id, strlen(c->id), NULL);
	pthread_mutex_unlock(&s->lock);
	/* The id is free again before the host can see session_closed. */
	id = c->id;
	c->id = NULL;
	write_event(s, id, "session_closed", NULL);
	pt__free(id);
	sess_free(c);
}

/* Handles one message of session c, on the thread that owns it now. */
static bool handle(struct srv *s, struct pt_mux_sctx *c, json_t *msg)
{
	const char *type = pt__mux_str(msg, "type");

	if (s->single) {
		const char *sid = pt__mux_str(msg, "session");
		if (!c->name || strcmp(c->name, sid ? sid : "")) {
			char *n = pt__strdup(sid ? sid : "");
			if (n) {
				pt__free(c->name);
				c->name = n;
			}
		}
	}
	if (!strcmp(type, "reset")) {
		json_t *r = json_pack("{s:s, s:s}", "type", "reset_response",
				      "status", "ok");

		sess_close_state(s, c);
		if (r)
			pt_mux_sctx_reply(c, msg, r);
		json_decref(msg);
		/* Single-session mode: no session_closed, the state reopens. */
		return !s->single;
	}
	if (!c->opened && sess_open(s, c) < 0) {
		session_error(s, pt_mux_sctx_id(c), "session_open_failed",
			      "the open handler refused the session");
		json_decref(msg);
		return false;
	}
	if (s->o->ops && s->o->ops->message)
		s->o->ops->message(s->o->ctx, c, c->state, msg);
	json_decref(msg);
	return false;
}

/*
 * Handles queued messages of c until its queue is empty (then it is no
 * longer scheduled) or a batch is done (then it goes back on the run
 * queue, so that one busy session does not starve the others).
 */
static void run_session(struct srv *s, struct pt_mux_sctx *c, bool requeue)
{
	for (int batch = 0;; batch++) {
		json_t *m;

		pthread_mutex_lock(&s->lock);
		if (c->ejected) {
			pthread_mutex_unlock(&s->lock);
			sess_finish(s, c);
			return;
		}
		if (requeue && batch >= 64 && c->qn) {
			c->next_run = NULL;
			if (s->runq_tail)
				s->runq_tail->next_run = c;
			else
				s->runq = c;
			s->runq_tail = c;
			pthread_cond_signal(&s->work);
			pthread_mutex_unlock(&s->lock);
			return;
		}
		m = sess_pop(c);
		if (!m) {
			c->scheduled = false;
			pthread_mutex_unlock(&s->lock);
			return;
		}
		pthread_mutex_unlock(&s->lock);
		if (handle(s, c, m)) {
			sess_finish(s, c);
			return;
		}
	}
}

static void *worker_main(void *arg)
{
	struct srv *s = arg;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		struct pt_mux_sctx *c;

		while (!s->runq && !s->stopping)
			pthread_cond_wait(&s->work, &s->lock);
		if (!s->runq)
			break;
		c = s->runq;
		s->runq = c->next_run;
		if (!s->runq)
			s->runq_tail = NULL;
		s->running++;
		pthread_mutex_unlock(&s->lock);
		run_session(s, c, true);
		pthread_mutex_lock(&s->lock);
		s->running--;
		if (!s->runq && !s->running)
			pthread_cond_broadcast(&s->idle);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/*
 * Routes one decoded message (owned) to its session. Returns the session
 * to run inline (threads = 0), or NULL.
 */
static struct pt_mux_sctx *route(struct srv *s, json_t *msg)
{
	const char *sid = pt__mux_str(msg, "session");
	const char *type = pt__mux_str(msg, "type");
	const char *key = s->single || !sid ? "" : sid;
	struct pt_mux_sctx *c, *run = NULL;
	bool reset = !strcmp(type, "reset");
	const char *err = NULL;
	int r;

	pthread_mutex_lock(&s->lock);
	c = pt__map_get(&s->live, key, strlen(key));
	if (!c && pt__map_get(&s->closing, key, strlen(key))) {
		err = "session_reset_in_progress";
		goto refuse;
	}
	if (!c) {
		if (!s->single && s->live.n >= s->o->max_sessions) {
			err = "max_sessions_reached";
			goto refuse;
		}
		c = sess_new(s, key);
		if (!c ||
		    pt__map_put(&s->live, c->id, strlen(c->id), c, NULL) < 0) {
			if (c)
				sess_free(c);
			err = "out_of_memory";
			goto refuse;
		}
	}
	r = sess_push(c, msg, reset ? SIZE_MAX : s->queue_cap);
	if (r < 0) {
		/* Backpressure: the session is ejected (§1.11). */
		pt__map_del(&s->live, c->id, strlen(c->id), NULL);
		pt__map_put(&s->closing, c->id, strlen(c->id), c, NULL);
		c->ejected = true;
		err = r == PT_EFULL ? "session_backpressure_overflow"
				    : "out_of_memory";
		goto refuse;
	}
	if (reset && !s->single) {
		pt__map_del(&s->live, c->id, strlen(c->id), NULL);
		pt__map_put(&s->closing, c->id, strlen(c->id), c, NULL);
	}
	if (!c->scheduled) {
		c->scheduled = true;
		if (s->o->threads == 0) {
			run = c;
		} else {
			c->next_run = NULL;
			if (s->runq_tail)
				s->runq_tail->next_run = c;
			else
				s->runq = c;
			s->runq_tail = c;
			pthread_cond_signal(&s->work);
		}
	}
	pthread_mutex_unlock(&s->lock);
	return run;

refuse:
	pthread_mutex_unlock(&s->lock);
	{
		char text[160];
		snprintf(text, sizeof(text),
			 "%s: %s message for session "
			 "\"%.40s\" dropped",
			 err, type, key);
		session_error(s, sid ? sid : "", err, text);
	}
	json_decref(msg);
	return NULL;
}

/* ---- Reading ----------------------------------------------------------- */

struct reader {
	struct srv *s;
	int fd;
	struct pt_mux_decoder *dec;
	char *chunk;
	size_t chunk_len; /* bytes of a first chunk read for detection */
	bool eof;
};

#define CHUNK (64 * 1024)

/* Reads one chunk into the decoder: 1 data, 0 end of input, <0 error. */
static int read_some(struct reader *rd)
{
	ssize_t n;

	if (rd->s->o->threads > 0) {
		struct pt_pollfd p[2] = { { rd->fd, PT_POLL_IN, 0 },
					  { rd->s->wake, PT_POLL_IN, 0 } };
		int r;

		while ((r = pt__poll(p, 2, -1)) == 0)
			;
		if (r < 0)
			return r;
		if (p[1].revents)
			return 0;
	}
	n = pt__read_once(rd->fd, rd->chunk, CHUNK);
	if (n < 0)
		return (int)n;
	if (n == 0)
		return 0;
	return pt_mux_decoder_feed(rd->dec, rd->chunk, (size_t)n) < 0 ? -ENOMEM
								      : 1;
}

/*
 * Next valid message into *ret: 1, 0 at end of input, <0 error. Frames
 * that cannot be decoded, and messages without a proper envelope, become
 * diagnostics and are skipped.
 */
static int next_message(struct reader *rd, json_t **ret)
{
	for (;;) {
		json_t *m = NULL;
		int r = pt_mux_decoder_next(rd->dec, &m);

		if (r == 1) {
			const char *why = pt__mux_check_envelope(m);
			if (!why) {
				*ret = m;
				return 1;
			}
			diagnostic(rd->s, "", "wire_input_error", why);
			json_decref(m);
			continue;
		}
		if (r == -ENOMEM)
			return r;
		if (r < 0) {
			diagnostic(rd->s, "", "wire_input_error",
				   pt_mux_decoder_error(rd->dec));
			continue;
		}
		if (rd->eof)
			return 0;
		r = read_some(rd);
		if (r < 0)
			return r;
		if (r == 0) {
			rd->eof = true;
			if (pt_mux_decoder_finish(rd->dec) < 0) {
				diagnostic(rd->s, "", "wire_input_error",
					   pt_mux_decoder_error(rd->dec));
				return PT_EPARSE;
			}
			return 0;
		}
	}
}

static int write_hello(struct srv *s)
{
	const struct pt_mux_serve_opts *o = s->o;
	json_t *m = json_pack(
		"{s:s, s:s, s:i, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:[], "
		"s:[], s:[]}",
		"type", "hello", "session", "", "protocol_version",
		PT_MUX_PROTOCOL_VERSION, "protocol", PT_MUX_PROTOCOL_VERSION,
		"codec", s->fmt == PT_MUX_JSON ? "json" : "msgpack", "version",
		o->version ? o->version : PT_VERSION_STRING, "name",
		o->name ? o->name : "proctor-mux", "mode",
		o->mode ? o->mode : "mock", "backend",
		o->backend ? o->backend : "mock", "transport", "stdio",
		"widgets", "native_widgets", "widget_sets");
	int r;

	if (!m)
		return -ENOMEM;
	r = write_msg(s, m);
	json_decref(m);
	return r;
}

static int startup_error(struct srv *s, const char *text)
{
	json_t *m = json_pack("{s:s, s:s, s:s}", "type", "error", "session", "",
			      "message", text);

	if (m) {
		write_msg(s, m);
		json_decref(m);
	}
	return PT_EPROTO;
}

/* The first message must be settings with protocol_version 1. */
static int handshake(struct srv *s, struct reader *rd)
{
	json_t *m = NULL, *st, *pv;
	int r = next_message(rd, &m);

	if (r < 0)
		return r;
	if (r == 0)
		return startup_error(s, "input ended before settings");
	if (strcmp(pt__mux_str(m, "type"), "settings") != 0) {
		json_decref(m);
		return startup_error(s, "first message must be settings");
	}
	st = json_object_get(m, "settings");
	pv = json_object_get(st, "protocol_version");
	if (!json_is_integer(pv) ||
	    json_integer_value(pv) != PT_MUX_PROTOCOL_VERSION) {
		char text[128];
		snprintf(text, sizeof(text),
			 "settings.protocol_version must be the integer %d",
			 PT_MUX_PROTOCOL_VERSION);
		json_decref(m);
		return startup_error(s, text);
	}
	if (json_object_get(st, "token")) {
		json_decref(m);
		return startup_error(s, "plaintext token refused; send "
					"token_sha256");
	}
	s->settings = m;
	return 0;
}

/* Waits until every queued message is handled, then stops the threads. */
static void drain_and_stop(struct srv *s, pthread_t *th, unsigned nth)
{
	pthread_mutex_lock(&s->lock);
	while (s->runq || s->running)
		pthread_cond_wait(&s->idle, &s->lock);
	s->stopping = true;
	pthread_cond_broadcast(&s->work);
	pthread_mutex_unlock(&s->lock);
	for (unsigned i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
}

static void close_all(struct srv *s)
{
	pt_map_foreach(&s->live, slot)
	{
		struct pt_mux_sctx *c = slot->value;
		sess_close_state(s, c);
		sess_free(c);
	}
	pt_map_foreach(&s->closing, slot)
	{
		struct pt_mux_sctx *c = slot->value;
		sess_close_state(s, c);
		sess_free(c);
	}
	pt__map_release(&s->live);
	pt__map_release(&s->closing);
}

int pt_mux_serve(const struct pt_mux_serve_opts *o)
{
	struct srv s;
	struct reader rd = { 0 };
	pthread_t *th = NULL;
	unsigned nth = 0;
	int r;

	if (!o || o->in_fd < 0 || o->out_fd < 0 || o->format > PT_MUX_AUTO ||
	    o->write_timeout_ms < 0)
		return -EINVAL;
	memset(&s, 0, sizeof(s));
	s.o = o;
	s.single = o->max_sessions <= 1;
	s.queue_cap = o->queue_cap ? o->queue_cap : 1024;
	s.max_frame = pt__mux_limit(o->max_frame);
	s.out_fd = o->out_fd;
	s.wake = -1;
	pthread_mutex_init(&s.wlock, NULL);
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.work, NULL);
	pthread_cond_init(&s.idle, NULL);
	rd.s = &s;
	rd.fd = o->in_fd;
	rd.chunk = pt__malloc(CHUNK);
	r = rd.chunk ? 0 : -ENOMEM;
	if (r == 0 && o->threads > 0) {
		s.wake = pt__wakefd_new();
		r = s.wake < 0 ? s.wake : 0;
	}
	if (r == 0 && o->write_timeout_ms > 0)
		r = pt__fd_set_nonblock(s.out_fd, true);
	if (r < 0)
		goto out;

	s.fmt = o->format;
	if (s.fmt == PT_MUX_AUTO) {
		/* Peek at byte one: '{' is JSON, anything else msgpack. */
		ssize_t n = pt__read_once(rd.fd, rd.chunk, CHUNK);
		if (n <= 0) {
			r = (int)n;
			goto out;
		}
		rd.chunk_len = (size_t)n;
		s.fmt = rd.chunk[0] == '{' ? PT_MUX_JSON : PT_MUX_MSGPACK;
	}
	r = pt_mux_decoder_new(s.fmt, s.max_frame, &rd.dec);
	if (r == 0 && rd.chunk_len)
		r = pt_mux_decoder_feed(rd.dec, rd.chunk, rd.chunk_len);
	if (r == 0)
		r = write_hello(&s);
	if (r == 0)
		r = handshake(&s, &rd);
	if (r < 0)
		goto out;

	if (o->threads > 0) {
		th = pt__calloc(o->threads, sizeof(*th));
		if (!th) {
			r = -ENOMEM;
			goto out;
		}
		for (; nth < o->threads; nth++) {
			if (pthread_create(&th[nth], NULL, worker_main, &s))
				break;
		}
		if (nth == 0) {
			r = -EAGAIN;
			goto out;
		}
	}
	for (;;) {
		json_t *m = NULL;
		struct pt_mux_sctx *c;
		bool stop;

		pthread_mutex_lock(&s.lock);
		stop = s.stop_requested;
		pthread_mutex_unlock(&s.lock);
		if (stop)
			break;
		r = next_message(&rd, &m);
		if (r <= 0)
			break;
		c = route(&s, m);
		if (c)
			run_session(&s, c, false);
	}
	if (r == 1)
		r = 0;
	drain_and_stop(&s, th, nth);
	if (s.out_err)
		r = s.out_err;
out:
	if (o->write_timeout_ms > 0)
		pt__fd_set_nonblock(s.out_fd, false);
	close_all(&s);
	json_decref(s.settings);
	pt_mux_decoder_free(rd.dec);
	pt__free(rd.chunk);
	pt__free(th);
	pt__close(s.wake);
	pthread_cond_destroy(&s.idle);
	pthread_cond_destroy(&s.work);
	pthread_mutex_destroy(&s.lock);
	pthread_mutex_destroy(&s.wlock);
	return r;
}
