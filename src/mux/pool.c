/*
 * mux/pool.c - the host side of the session pool (docs/peers.md §1.1-§1.10).
 *
 * Threads and locks. One mutex (p->lock) guards the session table, the
 * pending-request table, the pending-close set, the counters and the
 * worker state. Each worker connection has its own write lock, so frames
 * are encoded outside any lock and written whole.
 *
 * Reading is leader/follower: one thread at a time holds a connection's
 * "reading" role and decodes and routes everything the worker wrote. A
 * caller waiting in pt_mux_request takes the role itself when it is free,
 * so the reply usually wakes the very thread that waits for it (two
 * context switches per round trip, like a raw pipe ping-pong). Each
 * connection also has a thread of its own that reads while no caller
 * waits (events, late replies) and handles the worker's exit. Replies to
 * other callers wake them through the connection's condition variable;
 * events go to the owner's callback (called without the lock, on
 * whichever thread is reading) or to its polled queue.
 *
 * Lifetimes. Sessions and connections are reference counted under
 * p->lock, so a reader can deliver to a session that is being
 * unregistered, and a writer can use a connection whose worker just died.
 *
 * Worker exit. The reader sees end of output, kills the process group,
 * reaps it, answers every waiter of that worker with PT_EWORKER, marks its
 * sessions dead and notifies their owners. The multiplexed connection
 * thread then restarts the worker (at most max_restarts per restart
 * window, with doubling backoff) and goes on reading the new one.
 */
#include "base/common.h"
#include "base/diag.h"
#include "base/map.h"
#include "mux/frame.h"
#include "os/fd.h"
#include "os/muxos.h"
#include "os/proc.h"

#include <pthread.h>
#include <signal.h>
#include <time.h>

struct pool;

struct conn {
	pid_t pid;
	int pidfd;
	/*
	 * The worker's stdin is a pipe whose read end we keep open too
	 * (spare_fd): a write to a dead worker then never raises SIGPIPE,
	 * which the library must not touch. Writes are non-blocking, wait
	 * for room at most write_timeout_ms without progress, and give up
	 * at once when the worker exits (pidfd) or its input is being
	 * closed or it is known dead (stop_writes, wake_fd).
	 */
	int to_fd;
	int spare_fd;
	int wake_fd;	   /* readable once stop_writes is set */
	bool stop_writes;  /* atomic: no more writes (closing, dead, hung) */
	bool exited;	   /* atomic: the pidfd was seen readable */
	size_t drain_left; /* bytes still read after the exit (reader) */
	int from_fd;	   /* pipe: the worker's stdout */
	struct pt_mux_decoder *dec;
	pthread_mutex_t wlock;
	/*
	 * Reading (leader/follower): whoever holds "reading" decodes and
	 * routes the worker's output. A caller waiting for a reply takes
	 * that role itself when it is free, so its reply wakes it directly;
	 * the connection's thread reads only while nobody waits.
	 */
	pthread_cond_t rcond;  /* with p->lock: waiters (role, replies) */
	pthread_cond_t bgcond; /* with p->lock: the connection thread */
	unsigned waiters;
	int64_t last_wait_ns; /* when the last waiter left */
	bool reading;
	bool eof;
	unsigned refs;	  /* under p->lock */
	bool dead;	  /* output ended */
	bool closing;	  /* an exit was asked for: the closer reaps */
	bool reader_done; /* the reader thread has let go */
	bool reaped;	  /* the process has been waited for */
	bool per_session;
	char only[PT_MUX_ID_MAX]; /* per-session mode: its session's id */
	int status;
};

struct sess {
	char id[PT_MUX_ID_MAX];
	pt_mux_event_fn cb;
	void *ctx;
	struct conn *conn; /* per-session mode only (one reference) */
	unsigned refs;	   /* table + callbacks in flight + pollers */
	unsigned in_cb;
	bool removed;
	bool dead; /* its worker exited */
	struct pt_mux_event *q;
	size_t qhead, qn, qcap, lost;
	pthread_cond_t qcond;
};

struct waiter {
	char key[2 * PT_MUX_ID_MAX];
	size_t keylen;
	struct conn *conn;
	const char *expect; /* the reply's type, or NULL for any */
	bool done;
	int err;
	json_t *reply;
};

enum { ST_READY, ST_RESTARTING, ST_FAILED };

struct pt_mux_pool {
	struct pt_mux_pool_opts o;
	char **argv; /* worker argv plus our flags, NULL-terminated */
	size_t argc_user;
	char **envp;

	pthread_mutex_t lock;
	pthread_cond_t cond; /* state changes, callbacks done, threads done */
	struct pt_map sessions;	     /* id -> sess */
	struct pt_map pending;	     /* "session\037id" -> waiter */
	struct pt_map pending_close; /* id -> owned copy of the id */
	uint64_t next_session, next_id;
	size_t live;
	struct conn *mux; /* multiplexed worker; NULL while restarting */
	int state;
	bool freeing;
	unsigned threads; /* reader and closer threads still running */
	size_t restarts, decode_errors, unrouted;
	int64_t restart_times[16];
};

/* Set in reader threads: a blocking call from a callback would deadlock. */
static _Thread_local struct pt_mux_pool *reader_of;

/* ---- Small helpers ----------------------------------------------------- */

/*
 * Condition variables wait on CLOCK_MONOTONIC, so deadlines are read from
 * that clock directly (the os/ clock seam can be faked; a condvar cannot).
 */
static int64_t mono_ns(void)
{
	return pt__cond_clock_ns();
}

static int64_t deadline_after(int ms)
{
	return ms < 0 ? -1 : mono_ns() + (int64_t)ms * 1000000;
}

/* Waits on c until deadline (-1: none); ETIMEDOUT when it passed. */
static int wait_until(pthread_cond_t *c, pthread_mutex_t *m, int64_t deadline)
{
	struct timespec ts;

	if (deadline < 0)
		return pthread_cond_wait(c, m);
	ts.tv_sec = deadline / 1000000000;
	ts.tv_nsec = deadline % 1000000000;
	return pthread_cond_timedwait(c, m, &ts);
}

static void cond_init_mono(pthread_cond_t *c)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(c, &a);
	pthread_condattr_destroy(&a);
}

/* "session\037id" into key (2 * PT_MUX_ID_MAX bytes); both are short. */
static size_t make_key(char *key, const char *session, const char *id)
{
	size_t a = strlen(session), b = strlen(id);

	a = PT_MIN(a, PT_MUX_ID_MAX - 1);
	b = PT_MIN(b, PT_MUX_ID_MAX - 1);
	memcpy(key, session, a);
	key[a] = '\037';
	memcpy(key + a + 1, id, b);
	key[a + 1 + b] = '\0';
	return a + 1 + b;
}

/* "prefix_N" into out (PT_MUX_ID_MAX bytes), without printf. */
static void make_id(char *out, const char *prefix, uint64_t n)
{
	char digits[21];
	size_t len = strlen(prefix), k = 0;

	do
		digits[k++] = (char)('0' + n % 10);
	while ((n /= 10) && k < sizeof(digits));
	memcpy(out, prefix, len);
	out[len++] = '_';
	while (k)
		out[len++] = digits[--k];
	out[len] = '\0';
}

static bool valid_id(const char *s)
{
	return s && strlen(s) < PT_MUX_ID_MAX;
}

/* The worker's mode flag without its dashes; NULL: no flag (windowed). */
static const char *renderer_mode_name(enum pt_mux_renderer_mode m)
{
	return m == PT_MUX_RENDERER_MOCK       ? "mock"
	       : m == PT_MUX_RENDERER_HEADLESS ? "headless"
					       : NULL;
}

/* ---- Connections ------------------------------------------------------- */

static void conn_free(struct conn *c)
{
	pt__close(c->to_fd);
	pt__close(c->spare_fd);
	pt__close(c->wake_fd);
	pt__close(c->from_fd);
	pt__close(c->pidfd);
	pt_mux_decoder_free(c->dec);
	pthread_cond_destroy(&c->rcond);
	pthread_cond_destroy(&c->bgcond);
	pthread_mutex_destroy(&c->wlock);
	pt__free(c);
}

/* Under p->lock. */
static void conn_unref(struct conn *c)
{
	if (c && --c->refs == 0)
		conn_free(c);
}

/* Lets every writer of c give up at once (PT_EWORKER). */
static void conn_stop_writes(struct conn *c)
{
	__atomic_store_n(&c->stop_writes, true, __ATOMIC_RELEASE);
	pt__wakefd_signal(c->wake_fd);
}

static void pool_diag(struct pt_mux_pool *p, const char *code,
		      const char *text);

/*
 * A write to the worker made no progress for stall_ms: the worker is alive
 * but not reading. It is killed, and its death is handled as any other
 * (waiters answered, sessions marked dead, restart).
 */
static void conn_hung(struct pt_mux_pool *p, struct conn *c, int stall_ms)
{
	char why[160];
	bool killed = false;

	conn_stop_writes(c);
	pthread_mutex_lock(&p->lock);
	/* Not dead yet: nobody has reaped it, the pid is still ours. */
	if (!c->dead && !c->reaped) {
		pt__proc_kill_group(c->pid, SIGKILL);
		killed = true;
	}
	pthread_mutex_unlock(&p->lock);
	if (!killed)
		return;
	snprintf(why, sizeof(why),
		 "worker %d read nothing for %d ms; killed it", (int)c->pid,
		 stall_ms);
	pool_diag(p, "worker_write_timeout", why);
}

/*
 * Encodes m with "session" and "id" set (when not NULL) and writes it; a
 * worker that accepts no byte of it for write_timeout_ms is killed.
 */
static int conn_write(struct pt_mux_pool *p, struct conn *c, const json_t *m,
		      const char *session, const char *id)
{
	struct pt_buf b = PT_BUF_INIT;
	int r = pt__mux_encode_stamped(p->o.format, m, session, id,
				       p->o.max_frame, &b);

	if (r == 0) {
		pthread_mutex_lock(&c->wlock);
		r = c->to_fd < 0 ? PT_EWORKER
				 : pt__mux_write(c->to_fd, b.s, b.len,
						 p->o.write_timeout_ms,
						 &c->stop_writes, c->wake_fd,
						 c->pidfd);
		pthread_mutex_unlock(&c->wlock);
		if (r == -ETIMEDOUT)
			conn_hung(p, c, p->o.write_timeout_ms);
		if (r < 0)
			r = PT_EWORKER;
	}
	pt__buf_release(&b);
	return r;
}

/*
 * Closes our end of the worker's stdin, so that it sees end of input,
 * after a last message when m is not NULL (written within the close
 * grace: a worker that reads nothing is killed). Writers still waiting
 * for room give up first (their frames are cut: the worker is going).
 */
static void conn_end_input(struct pt_mux_pool *p, struct conn *c,
			   const json_t *m)
{
	struct pt_buf b = PT_BUF_INIT;
	int r = -1;

	conn_stop_writes(c);
	if (m)
		r = pt__mux_encode_stamped(p->o.format, m, NULL, NULL,
					   p->o.max_frame, &b);
	pthread_mutex_lock(&c->wlock);
	if (r == 0 && c->to_fd >= 0)
		r = pt__mux_write(c->to_fd, b.s, b.len, p->o.close_grace_ms,
				  NULL, -1, c->pidfd);
	c->to_fd = pt__close(c->to_fd);
	pthread_mutex_unlock(&c->wlock);
	if (r == -ETIMEDOUT)
		conn_hung(p, c, p->o.close_grace_ms);
	pt__buf_release(&b);
}

/*
 * Reads from the worker into its decoder: 1 when bytes came, 0 at end of
 * output, -ETIMEDOUT after deadline, -EAGAIN when deadline is NOW_ONLY
 * and nothing is there, or -errno. The fd is non-blocking.
 *
 * End of output is also the worker's exit (its pidfd is polled with the
 * pipe): what it wrote before exiting is still read (at most a pipe's
 * worth, EXIT_DRAIN), but a process it left behind holding the pipe open
 * does not keep the connection alive.
 */
#define NOW_ONLY   (-2)
#define EXIT_DRAIN (4u << 20)

static int conn_read(struct conn *c, int64_t deadline)
{
	char chunk[16384];
	ssize_t n;

	for (;;) {
		bool exited = __atomic_load_n(&c->exited, __ATOMIC_ACQUIRE);

		if (deadline != NOW_ONLY && !exited) {
			struct pt_pollfd pf[2] = {
				{ c->from_fd, PT_POLL_IN, 0 },
				{ c->pidfd, PT_POLL_IN, 0 }
			};
			int64_t left = deadline < 0 ? -1 : deadline - mono_ns();
			int r;

			if (deadline >= 0 && left <= 0)
				return -ETIMEDOUT;
			r = pt__poll(
				pf, c->pidfd >= 0 ? 2 : 1,
				left < 0 ? -1
					 : (int)((left + 999999) / 1000000));
			if (r < 0)
				return r;
			if (r == 0)
				continue;
			if (pf[1].revents)
				__atomic_store_n(&c->exited, true,
						 __ATOMIC_RELEASE);
		}
		n = pt__read_once(c->from_fd, chunk, sizeof(chunk));
		if (n > 0 && exited) {
			if (c->drain_left < (size_t)n)
				return 0;
			c->drain_left -= (size_t)n;
		}
		if (n > 0)
			break;
		if (n == 0)
			return 0;
		if (n != -EAGAIN)
			return (int)n;
		if (exited || __atomic_load_n(&c->exited, __ATOMIC_ACQUIRE))
			return 0; /* gone, and nothing left of it */
		if (deadline == NOW_ONLY)
			return -EAGAIN;
	}
	return pt_mux_decoder_feed(c->dec, chunk, (size_t)n) < 0 ? -ENOMEM : 1;
}

/*
 * Starts a worker: spawns it, sends settings for session and waits for a
 * valid hello. why (size whylen) describes a failure.
 */
static int conn_start(struct pt_mux_pool *p, const char *session,
		      struct conn **ret, char *why, size_t whylen)
{
	struct conn *c = pt__calloc(1, sizeof(*c));
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, r, status;
	struct pt_spawn sp = { 0 };
	int64_t deadline;
	json_t *settings = NULL, *hello = NULL;

	if (!c)
		return -ENOMEM;
	c->to_fd = c->spare_fd = c->from_fd = c->pidfd = c->wake_fd = -1;
	c->drain_left = EXIT_DRAIN;
	c->refs = 1;
	pthread_mutex_init(&c->wlock, NULL);
	cond_init_mono(&c->rcond);
	cond_init_mono(&c->bgcond);
	c->wake_fd = pt__wakefd_new();
	if (c->wake_fd < 0) {
		r = c->wake_fd;
		goto fail;
	}
	r = pt_mux_decoder_new(p->o.format, p->o.max_frame, &c->dec);
	if (r < 0)
		goto fail;
	r = pt__pipe(in, 0);
	if (r == 0)
		r = pt__pipe(out, 0);
	if (r < 0)
		goto fail;
	sp.argv = (const char *const *)p->argv;
	sp.envp = (const char *const *)p->envp;
	sp.fd_in = in[0];
	sp.fd_out = out[1];
	sp.fd_err = p->o.stderr_fd == 0 ? -2 : p->o.stderr_fd;
	sp.new_session = true;
	r = pt__spawn(&sp, &c->pid, &c->pidfd);
	out[1] = pt__close(out[1]);
	if (r < 0) {
		snprintf(why, whylen, "cannot start %s: %s", p->argv[0],
			 strerror(-r));
		goto fail;
	}
	c->to_fd = in[1];
	c->spare_fd = in[0];
	c->from_fd = out[0];
	in[0] = in[1] = out[0] = -1;
	r = pt__fd_set_nonblock(c->from_fd, true);
	if (r == 0)
		r = pt__fd_set_nonblock(c->to_fd, true);
	if (r < 0)
		goto fail_kill;

	settings = json_pack("{s:s, s:s, s:{s:i}}", "type", "settings",
			     "session", session, "settings", "protocol_version",
			     PT_MUX_PROTOCOL_VERSION);
	r = settings ? conn_write(p, c, settings, NULL, NULL) : -ENOMEM;
	json_decref(settings);
	/* A write failure shows up as a missing hello below. */
	deadline = deadline_after(p->o.start_timeout_ms);
	for (;;) {
		r = pt_mux_decoder_next(c->dec, &hello);
		if (r == 1)
			break;
		if (r < 0) {
			snprintf(why, whylen, "bad frame instead of hello: %s",
				 pt_mux_decoder_error(c->dec));
			r = PT_EPROTO;
			goto fail_kill;
		}
		r = conn_read(c, deadline);
		if (r == -ETIMEDOUT) {
			snprintf(why, whylen, "no hello from %s within %d ms",
				 p->argv[0], p->o.start_timeout_ms);
			r = PT_EPROTO;
			goto fail_kill;
		}
		if (r <= 0) {
			char st[64] = "?";
			pt__proc_kill_group(c->pid, SIGKILL);
			if (pt__proc_wait(c->pid, c->pidfd, 5000, &status) == 0)
				pt__proc_status_str(status, st, sizeof(st));
			c->pid = 0;
			snprintf(why, whylen,
				 "%s exited before sending hello (%s)",
				 p->argv[0], st);
			r = PT_EWORKER;
			goto fail;
		}
	}
	{
		const char *type = pt__mux_str(hello, "type");
		json_t *pv = json_object_get(hello, "protocol_version");
		const char *codec = pt__mux_str(hello, "codec");
		const char *want =
			p->o.format == PT_MUX_JSON ? "json" : "msgpack";
		const char *mode = pt__mux_str(hello, "mode");
		const char *asked = renderer_mode_name(p->o.renderer_mode);

		r = PT_EPROTO;
		if (!type || strcmp(type, "hello") != 0) {
			const char *msg = pt__mux_str(hello, "message");
			snprintf(why, whylen, "expected hello, got \"%s\"%s%s",
				 type ? type : "(no type)", msg ? ": " : "",
				 msg ? msg : "");
		} else if (!json_is_integer(pv) ||
			   json_integer_value(pv) != PT_MUX_PROTOCOL_VERSION) {
			snprintf(why, whylen,
				 "hello.protocol_version is not %d",
				 PT_MUX_PROTOCOL_VERSION);
		} else if (codec && strcmp(codec, want) != 0) {
			snprintf(why, whylen,
				 "hello.codec is \"%s\", the pool speaks %s",
				 codec, want);
		} else if (asked && mode && strcmp(mode, asked) != 0) {
			snprintf(why, whylen,
				 "hello.mode is \"%s\", the pool asked for %s "
				 "(--%s)",
				 mode, asked, asked);
		} else {
			r = 0;
		}
		json_decref(hello);
		if (r < 0)
			goto fail_kill;
	}
	*ret = c;
	return 0;

fail_kill:
	pt__proc_kill_group(c->pid, SIGKILL);
	pt__proc_wait(c->pid, c->pidfd, 5000, &status);
fail:
	pt__close(in[0]);
	pt__close(in[1]);
	pt__close(out[0]);
	pt__close(out[1]);
	conn_free(c);
	return r;
}

/* ---- Events ------------------------------------------------------------ */

/* Under p->lock. */
static void sess_unref(struct sess *s)
{
	if (s && --s->refs == 0) {
		while (s->qn) {
			json_decref(s->q[s->qhead].msg);
			s->qhead = (s->qhead + 1) % s->qcap;
			s->qn--;
		}
		pt__free(s->q);
		pthread_cond_destroy(&s->qcond);
		pt__free(s);
	}
}

/*
 * Under p->lock, which may be dropped and retaken (callbacks). Takes the
 * reference to msg: a message is only ever touched by one thread at a
 * time (jansson's reference counts are not meant for sharing).
 */
static void deliver(struct pt_mux_pool *p, struct sess *s,
		    enum pt_mux_event_kind kind, json_t *msg, int status)
{
	struct pt_mux_event ev = { kind, s->id, msg, status, 0 };

	if (s->removed) {
		json_decref(msg);
		return;
	}
	if (s->cb) {
		s->refs++;
		s->in_cb++;
		pthread_mutex_unlock(&p->lock);
		s->cb(s->ctx, &ev);
		json_decref(msg);
		pthread_mutex_lock(&p->lock);
		s->in_cb--;
		if (!s->in_cb)
			pthread_cond_broadcast(&p->cond);
		sess_unref(s);
		return;
	}
	if (s->qn >= p->o.owner_queue_cap) {
		s->lost++;
		json_decref(msg);
		return;
	}
	if (s->qn == s->qcap) {
		size_t ncap = s->qcap ? s->qcap * 2 : 8;
		struct pt_mux_event *q = pt__malloc_array(ncap, sizeof(*q));
		if (!q) {
			s->lost++;
			json_decref(msg);
			return;
		}
		for (size_t i = 0; i < s->qn; i++)
			q[i] = s->q[(s->qhead + i) % s->qcap];
		pt__free(s->q);
		s->q = q;
		s->qcap = ncap;
		s->qhead = 0;
	}
	ev.lost = s->lost;
	s->lost = 0;
	s->q[(s->qhead + s->qn) % s->qcap] = ev;
	s->qn++;
	pthread_cond_broadcast(&s->qcond);
}

/* Pool-wide event, called without p->lock. */
static void pool_event(struct pt_mux_pool *p, enum pt_mux_event_kind kind,
		       json_t *msg, int status)
{
	struct pt_mux_event ev = { kind, "", msg, status, 0 };

	if (p->o.on_event)
		p->o.on_event(p->o.ctx, &ev);
}

static void pool_diag(struct pt_mux_pool *p, const char *code, const char *text)
{
	json_t *m = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "diagnostic",
			      "session", "", "level", "warn", "code", code,
			      "message", text);

	pool_event(p, PT_MUX_EV_DIAGNOSTIC, m, 0);
	json_decref(m);
}

/* ---- Routing (docs/peers.md §1.5, both dispatchers in one) ------------- */

/*
 * A reply to a request that expected another type: the request failed
 * (PT_EPROTO), the message went to the owner; say what came.
 */
static void mismatch_diag(struct pt_mux_pool *p, const char *session,
			  const char *id, const char *expect, const char *type)
{
	char why[256];

	snprintf(why, sizeof(why), "%.31s %.31s: expected %.80s, got %.80s",
		 session, id, expect, type);
	pool_diag(p, "unexpected_reply", why);
}

/* Routes m, taking the reference (see deliver). */
static void route(struct pt_mux_pool *p, struct conn *c, json_t *m)
{
	const char *type = pt__mux_str(m, "type");
	const char *family = pt__mux_str(m, "family");
	const char *session = pt__mux_str(m, "session");
	const char *id = pt__mux_str(m, "id");
	bool is_event = !strcmp(type, "event");
	const char *expected = NULL; /* a waiter wanted another type */
	struct sess *s;

	/* Per-session workers: the connection names the session. */
	if (c->per_session)
		session = c->only;
	if (!strcmp(type, "hello")) {
		json_decref(m);
		return;
	}
	pthread_mutex_lock(&p->lock);
	if (session && !c->per_session && is_event && family &&
	    !strcmp(family, "session_closed")) {
		char *own = NULL;
		if (pt__map_del(&p->pending_close, session, strlen(session),
				(void **)&own)) {
			pt__free(own);
			pthread_mutex_unlock(&p->lock);
			json_decref(m);
			return;
		}
	}
	if (session && id && strcmp(type, "interact_step") != 0) {
		char key[2 * PT_MUX_ID_MAX];
		size_t klen = make_key(key, session, id);
		struct waiter *w = NULL;

		if (strlen(session) < PT_MUX_ID_MAX &&
		    strlen(id) < PT_MUX_ID_MAX &&
		    pt__map_del(&p->pending, key, klen, (void **)&w)) {
			w->done = true;
			pthread_cond_broadcast(&w->conn->rcond);
			if (!w->expect || !strcmp(type, w->expect)) {
				w->reply = m;
				pthread_mutex_unlock(&p->lock);
				return;
			}
			/* Not a match: an error for the caller, and the
			 * message goes to the owner like any other. */
			w->err = PT_EPROTO;
			expected = w->expect;
		}
		/* The reset_response of a release: nobody waits for it. */
		if (!expected && !c->per_session &&
		    !strcmp(type, "reset_response") &&
		    pt__map_get(&p->pending_close, session, strlen(session))) {
			if (p->o.max_sessions <= 1) {
				char *own = NULL;
				/* Single-session workers send no
				 * session_closed. */
				pt__map_del(&p->pending_close, session,
					    strlen(session), (void **)&own);
				pt__free(own);
			}
			pthread_mutex_unlock(&p->lock);
			json_decref(m);
			return;
		}
	}
	if (expected) {
		/* The waiter's strings may go once the lock is dropped. */
		char e[PT_MUX_ID_MAX * 4];
		snprintf(e, sizeof(e), "%s", expected);
		pthread_mutex_unlock(&p->lock);
		mismatch_diag(p, session, id, e, type);
		pthread_mutex_lock(&p->lock);
	}
	s = session ? pt__map_gets(&p->sessions, session) : NULL;
	if (s && !s->dead) {
		deliver(p, s, PT_MUX_EV_MESSAGE, m, 0);
		pthread_mutex_unlock(&p->lock);
		return;
	}
	p->unrouted++;
	pthread_mutex_unlock(&p->lock);
	pool_event(p, PT_MUX_EV_UNROUTED, m, 0);
	json_decref(m);
}

/*
 * The worker of c has stopped talking: reap it (unless a closer does),
 * fail its waiters, mark its sessions dead and tell their owners.
 */
static void conn_died(struct pt_mux_pool *p, struct conn *c)
{
	struct sess **notify = NULL;
	size_t nn = 0;
	bool closing;
	int status = 0;

	pthread_mutex_lock(&p->lock);
	__atomic_store_n(&c->dead, true, __ATOMIC_RELEASE);
	conn_stop_writes(c); /* a writer waiting for room gives up */
	closing = c->closing;
	pthread_mutex_unlock(&p->lock);
	if (!closing) {
		pt__proc_kill_group(c->pid, SIGKILL);
		if (pt__proc_wait(c->pid, c->pidfd, -1, &status) < 0)
			status = 0;
	}
	pthread_mutex_lock(&p->lock);
	c->reaped = !closing;
	c->status = status;
	/* Every waiter of this worker gets an answer now. */
	for (size_t i = 0; i < p->pending.cap; i++) {
		struct pt_map_slot *sl = &p->pending.slots[i];
		struct waiter *w = sl->key ? sl->value : NULL;
		if (w && w->conn == c) {
			w->err = PT_EWORKER;
			w->done = true;
			pt__map_del(&p->pending, w->key, w->keylen, NULL);
			i--; /* backward-shift deletion may move an entry here
			      */
		}
	}
	pthread_cond_broadcast(&c->rcond);
	if (!closing) {
		notify = pt__calloc(p->sessions.n + 1, sizeof(*notify));
		pt_map_foreach(&p->sessions, sl)
		{
			struct sess *s = sl->value;
			if (s->dead || (c->per_session ? strcmp(s->id, c->only)
						       : s->conn != NULL))
				continue;
			s->dead = true;
			p->live--;
			if (notify) {
				s->refs++;
				notify[nn++] = s;
			}
		}
		if (!c->per_session) {
			pt_map_foreach(&p->pending_close, sl)
				pt__free(sl->value);
			pt__map_release(&p->pending_close);
		}
	}
	/* Callers waiting in target() see their session dead now. */
	pthread_cond_broadcast(&p->cond);
	for (size_t i = 0; i < nn; i++) {
		deliver(p, notify[i], PT_MUX_EV_WORKER_EXITED, NULL, status);
		sess_unref(notify[i]);
	}
	pthread_mutex_unlock(&p->lock);
	pt__free(notify);
}

/* ---- Reader threads ---------------------------------------------------- */

/* Routes every complete frame in the decoder; the count routed. */
static int dispatch_buffered(struct pt_mux_pool *p, struct conn *c)
{
	int n = 0;

	for (;;) {
		json_t *m = NULL;
		int r = pt_mux_decoder_next(c->dec, &m);
		const char *why;

		if (r == 0 || r == -ENOMEM)
			return n;
		why = r == 1 ? pt__mux_check_envelope(m)
			     : pt_mux_decoder_error(c->dec);
		if (r == 1 && !why) {
			route(p, c, m); /* takes m */
			m = NULL;
			n++;
		} else {
			pthread_mutex_lock(&p->lock);
			p->decode_errors++;
			pthread_mutex_unlock(&p->lock);
			pool_diag(p, "wire_input_error", why);
		}
		json_decref(m);
	}
}

/*
 * One step of reading, by the holder of the reading role (without
 * p->lock): routes what is buffered, else reads once (see conn_read for
 * deadline) and routes that. 1 when something was read, else conn_read's
 * result.
 */
static int pump(struct pt_mux_pool *p, struct conn *c, int64_t deadline)
{
	struct pt_mux_pool *saved = reader_of;
	int r = 1;

	reader_of = p; /* callbacks run here: no blocking calls from them */
	if (dispatch_buffered(p, c) == 0) {
		r = conn_read(c, deadline);
		if (r > 0)
			dispatch_buffered(p, c);
	}
	reader_of = saved;
	return r;
}

/*
 * Under p->lock: waits until w is answered or deadline passes, reading
 * the worker's output itself while nobody else does.
 */
static int wait_reply(struct pt_mux_pool *p, struct conn *c, struct waiter *w,
		      int64_t deadline)
{
	int r = 0;

	c->waiters++;
	while (!w->done) {
		if (!c->reading && !c->eof) {
			c->reading = true;
			pthread_mutex_unlock(&p->lock);
			r = pump(p, c, deadline);
			pthread_mutex_lock(&p->lock);
			c->reading = false;
			if (r == 0 || (r < 0 && r != -ETIMEDOUT)) {
				c->eof = true; /* the connection thread reaps */
				pthread_cond_broadcast(&c->bgcond);
			}
			if (c->waiters > 1 || c->eof)
				pthread_cond_broadcast(&c->rcond);
			if (r == -ETIMEDOUT && !w->done)
				break;
			r = 0;
		} else if (wait_until(&c->rcond, &p->lock, deadline) ==
				   ETIMEDOUT &&
			   !w->done) {
			r = -ETIMEDOUT;
			break;
		}
	}
	if (--c->waiters == 0)
		c->last_wait_ns = mono_ns();
	return w->done ? w->err : r;
}

/*
 * The connection's own thread: reads while no caller waits, until the
 * worker's output ends. It polls without holding the reading role, so a
 * caller that starts waiting can always take the role at once; and it
 * stays off the fd while callers come and go (READ_GRACE_NS after the
 * last one left), so that a stream of requests does not wake it for
 * every reply.
 */
#define READ_GRACE_NS 1000000

static void bg_read(struct pt_mux_pool *p, struct conn *c)
{
	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct pt_pollfd pf[2] = { { c->from_fd, PT_POLL_IN, 0 },
					   { c->pidfd, PT_POLL_IN, 0 } };
		int64_t now;
		int r;

		if (c->eof)
			break;
		now = mono_ns();
		if (c->waiters || c->reading ||
		    now < c->last_wait_ns + READ_GRACE_NS) {
			wait_until(&c->bgcond, &p->lock, now + READ_GRACE_NS);
			continue;
		}
		pthread_mutex_unlock(&p->lock);
		/* Output, or the worker's exit (conn_read). */
		if (pt__poll(pf, c->pidfd >= 0 ? 2 : 1, -1) > 0 &&
		    pf[1].revents)
			__atomic_store_n(&c->exited, true, __ATOMIC_RELEASE);
		pthread_mutex_lock(&p->lock);
		if (c->eof || c->waiters || c->reading)
			continue;
		c->reading = true;
		pthread_mutex_unlock(&p->lock);
		r = pump(p, c, NOW_ONLY);
		pthread_mutex_lock(&p->lock);
		c->reading = false;
		if (r == 0 || (r < 0 && r != -EAGAIN))
			c->eof = true;
		if (c->waiters)
			pthread_cond_broadcast(&c->rcond);
	}
	pthread_mutex_unlock(&p->lock);
	if (pt_mux_decoder_finish(c->dec) < 0)
		pool_diag(p, "wire_input_error", pt_mux_decoder_error(c->dec));
}

static void thread_done(struct pt_mux_pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->threads--;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

/* Under p->lock: may the multiplexed worker be restarted now? */
static bool restart_allowed(struct pt_mux_pool *p, int64_t now)
{
	size_t recent = 0;
	int64_t window = (int64_t)p->o.restart_window_ms * 1000000;

	for (size_t i = 0; i < PT_ARRAY_SIZE(p->restart_times); i++) {
		if (p->restart_times[i] && now - p->restart_times[i] < window)
			recent++;
	}
	return recent < p->o.max_restarts;
}

static void *mux_reader(void *arg)
{
	struct pt_mux_pool *p = arg;
	struct conn *c;
	unsigned attempt = 0;

	reader_of = p;
	pthread_mutex_lock(&p->lock);
	c = p->mux;
	c->refs++;
	pthread_mutex_unlock(&p->lock);
	for (;;) {
		char why[256] = "";
		struct conn *nc = NULL;
		int64_t deadline;
		int r;

		bg_read(p, c);
		conn_died(p, c);
		pthread_mutex_lock(&p->lock);
		if (p->mux == c) {
			p->mux = NULL;
			conn_unref(c); /* the pool's reference */
		}
		c->reader_done = true;
		pthread_cond_broadcast(&p->cond);
		conn_unref(c); /* ours */
		if (p->freeing)
			break;
		p->state = ST_RESTARTING;
retry:
		if (!restart_allowed(p, mono_ns())) {
			p->state = ST_FAILED;
			pthread_cond_broadcast(&p->cond);
			pthread_mutex_unlock(&p->lock);
			pool_event(p, PT_MUX_EV_WORKER_GAVE_UP, NULL, 0);
			pthread_mutex_lock(&p->lock);
			break;
		}
		/* Backoff, doubled per consecutive failure; free() cuts it. */
		deadline = mono_ns() + ((int64_t)p->o.restart_backoff_ms
					<< PT_MIN(attempt, 6)) *
					       1000000;
		while (!p->freeing &&
		       wait_until(&p->cond, &p->lock, deadline) != ETIMEDOUT)
			;
		if (p->freeing)
			break;
		memmove(p->restart_times + 1, p->restart_times,
			sizeof(p->restart_times) - sizeof(p->restart_times[0]));
		p->restart_times[0] = mono_ns();
		p->restarts++;
		attempt++;
		pthread_mutex_unlock(&p->lock);
		r = conn_start(p, "", &nc, why, sizeof(why));
		pthread_mutex_lock(&p->lock);
		if (r < 0) {
			pthread_mutex_unlock(&p->lock);
			pool_diag(p, "worker_restart_failed", why);
			pthread_mutex_lock(&p->lock);
			goto retry;
		}
		if (p->freeing) {
			/* Raced with free(): this worker is not wanted. */
			pthread_mutex_unlock(&p->lock);
			pt__proc_kill_group(nc->pid, SIGKILL);
			pt__proc_wait(nc->pid, nc->pidfd, -1, NULL);
			conn_free(nc);
			pthread_mutex_lock(&p->lock);
			break;
		}
		attempt = 0;
		p->mux = nc;
		nc->refs++; /* the pool's and ours */
		c = nc;
		p->state = ST_READY;
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->lock);
		pool_event(p, PT_MUX_EV_WORKER_RESTARTED, NULL, 0);
	}
	pthread_mutex_unlock(&p->lock);
	thread_done(p);
	return NULL;
}

struct reader_start {
	struct pt_mux_pool *p;
	struct conn *c;
};

static void *sess_reader_main(void *arg)
{
	struct reader_start rs = *(struct reader_start *)arg;
	struct pt_mux_pool *p = rs.p;
	struct conn *c = rs.c;

	pt__free(arg);
	reader_of = p;
	bg_read(p, c);
	conn_died(p, c);
	pthread_mutex_lock(&p->lock);
	c->reader_done = true;
	pthread_cond_broadcast(&p->cond);
	conn_unref(c);
	pthread_mutex_unlock(&p->lock);
	thread_done(p);
	return NULL;
}

/* Starts a detached thread counted in p->threads. Under p->lock. */
static int start_thread(struct pt_mux_pool *p, void *(*fn)(void *), void *arg)
{
	pthread_attr_t a;
	pthread_t t;
	int r;

	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&t, &a, fn, arg);
	pthread_attr_destroy(&a);
	if (r)
		return -r;
	p->threads++;
	return 0;
}

/*
 * Ends a worker that we asked to exit: "exit" op, end of input, a grace
 * period, then SIGKILL for the group; waits for its reader and reaps it.
 * Called without p->lock, holding a reference on c.
 */
static void conn_close(struct pt_mux_pool *p, struct conn *c, bool say_exit)
{
	int64_t grace_end;
	json_t *m = NULL;
	int status;

	if (say_exit)
		m = json_pack("{s:s, s:s, s:s, s:{}}", "type", "widget_op",
			      "session", c->only, "op", "exit", "payload");
	conn_end_input(p, c, m);
	json_decref(m);
	grace_end = deadline_after(p->o.close_grace_ms);
	for (;;) {
		struct pt_pollfd pf = { c->pidfd, PT_POLL_IN, 0 };
		int64_t left = grace_end - mono_ns();

		if (left <= 0 ||
		    pt__poll(&pf, 1, (int)((left + 999999) / 1000000)) < 0) {
			pthread_mutex_lock(&p->lock);
			/* The pid is still ours: not waited for yet. */
			if (!c->reaped)
				pt__proc_kill_group(c->pid, SIGKILL);
			pthread_mutex_unlock(&p->lock);
			break;
		}
		if (pf.revents)
			break;
	}
	/* The reader ends once the process has exited (its pidfd), even
	 * when something it left behind holds the output open. */
	pthread_mutex_lock(&p->lock);
	while (!c->reader_done)
		pthread_cond_wait(&p->cond, &p->lock);
	if (c->reaped) {
		pthread_mutex_unlock(&p->lock);
		return;
	}
	c->reaped = true;
	pthread_mutex_unlock(&p->lock);
	if (pt__proc_wait(c->pid, c->pidfd, -1, &status) < 0)
		status = 0;
}

/* ---- Pool life --------------------------------------------------------- */

static char **copy_strv(const char *const *v, size_t extra, size_t *ret_n)
{
	size_t n = 0;
	char **out;

	while (v && v[n])
		n++;
	out = pt__calloc(n + extra + 1, sizeof(*out));
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		out[i] = pt__strdup(v[i]);
		if (!out[i]) {
			for (size_t k = 0; k < i; k++)
				pt__free(out[k]);
			pt__free(out);
			return NULL;
		}
	}
	if (ret_n)
		*ret_n = n;
	return out;
}

static void free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		pt__free(v[i]);
	pt__free(v);
}

static void pool_release(struct pt_mux_pool *p)
{
	pt_map_foreach(&p->sessions, sl) sess_unref(sl->value);
	pt__map_release(&p->sessions);
	pt__map_release(&p->pending);
	pt_map_foreach(&p->pending_close, sl) pt__free(sl->value);
	pt__map_release(&p->pending_close);
	free_strv(p->argv);
	free_strv(p->envp);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	pt__free(p);
}

int pt_mux_pool_new(const struct pt_mux_pool_opts *opts,
		    struct pt_mux_pool **ret)
{
	struct pt_mux_pool *p;
	char why[256] = "";
	size_t n = 0;
	int r;

	if (!opts || !ret || !opts->argv || !opts->argv[0] ||
	    (opts->mode != PT_MUX_MULTIPLEXED &&
	     opts->mode != PT_MUX_PER_SESSION) ||
	    (opts->format != PT_MUX_JSON && opts->format != PT_MUX_MSGPACK) ||
	    opts->renderer_mode > PT_MUX_RENDERER_WINDOWED ||
	    /* A windowed renderer serves one session (as upstream). */
	    (opts->renderer_mode == PT_MUX_RENDERER_WINDOWED &&
	     opts->mode == PT_MUX_MULTIPLEXED) ||
	    opts->write_timeout_ms < 0)
		return -EINVAL;
	p = pt__calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->o = *opts;
	if (!p->o.max_sessions)
		p->o.max_sessions = 8;
	if (!p->o.request_timeout_ms)
		p->o.request_timeout_ms = 30000;
	if (!p->o.unregister_timeout_ms)
		p->o.unregister_timeout_ms = 5000;
	if (!p->o.start_timeout_ms)
		p->o.start_timeout_ms = 10000;
	if (!p->o.close_grace_ms)
		p->o.close_grace_ms = 1000;
	if (!p->o.max_restarts)
		p->o.max_restarts = 3;
	if (p->o.max_restarts > PT_ARRAY_SIZE(p->restart_times))
		p->o.max_restarts = PT_ARRAY_SIZE(p->restart_times);
	if (!p->o.restart_window_ms)
		p->o.restart_window_ms = 60000;
	if (!p->o.restart_backoff_ms)
		p->o.restart_backoff_ms = 50;
	if (!p->o.owner_queue_cap)
		p->o.owner_queue_cap = 65536;
	if (!p->o.write_timeout_ms)
		p->o.write_timeout_ms = 10000;
	p->o.max_frame = pt__mux_limit(p->o.max_frame);
	p->o.diags = NULL;
	p->next_session = 1;
	p->next_id = 1;
	pthread_mutex_init(&p->lock, NULL);
	cond_init_mono(&p->cond);
	p->argv = copy_strv(opts->argv, 4, &n);
	if (opts->envp)
		p->envp = copy_strv(opts->envp, 0, NULL);
	if (!p->argv || (opts->envp && !p->envp)) {
		pool_release(p);
		return -ENOMEM;
	}
	/* Our flags follow the caller's arguments. */
	if (renderer_mode_name(p->o.renderer_mode)) {
		char flag[16];
		snprintf(flag, sizeof(flag), "--%s",
			 renderer_mode_name(p->o.renderer_mode));
		p->argv[n++] = pt__strdup(flag);
	}
	if (p->o.mode == PT_MUX_MULTIPLEXED) {
		char num[24];
		snprintf(num, sizeof(num), "%u", p->o.max_sessions);
		p->argv[n++] = pt__strdup("--max-sessions");
		p->argv[n++] = pt__strdup(num);
	}
	p->argv[n] =
		pt__strdup(p->o.format == PT_MUX_JSON ? "--json" : "--msgpack");
	for (size_t i = 0; i <= n; i++) {
		if (!p->argv[i]) {
			pool_release(p);
			return -ENOMEM;
		}
	}
	if (p->o.mode == PT_MUX_MULTIPLEXED) {
		r = conn_start(p, "", &p->mux, why, sizeof(why));
		if (r == 0) {
			pthread_mutex_lock(&p->lock);
			r = start_thread(p, mux_reader, p);
			pthread_mutex_unlock(&p->lock);
			if (r < 0) {
				p->mux->closing = true;
				p->mux->reader_done = true;
				conn_close(p, p->mux, false);
				conn_free(p->mux);
			}
		}
		if (r < 0) {
			if (opts->diags && why[0])
				pt__diags_add(opts->diags, PT_SEV_ERROR, r,
					      opts->argv[0], 0, "hello", "%s",
					      why);
			pool_release(p);
			return r;
		}
	}
	*ret = p;
	return 0;
}

struct pt_mux_pool *pt_mux_pool_free(struct pt_mux_pool *p)
{
	struct conn **conns = NULL;
	size_t nc = 0;

	if (!p)
		return NULL;
	pthread_mutex_lock(&p->lock);
	p->freeing = true;
	pthread_cond_broadcast(&p->cond);
	conns = pt__calloc(p->sessions.n + 2, sizeof(*conns));
	if (p->mux && conns) {
		p->mux->closing = true;
		p->mux->refs++;
		conns[nc++] = p->mux;
	}
	pt_map_foreach(&p->sessions, sl)
	{
		struct sess *s = sl->value;
		if (s->conn && conns && !s->conn->reader_done) {
			s->conn->closing = true;
			s->conn->refs++;
			conns[nc++] = s->conn;
		}
		s->removed = true;
		pthread_cond_broadcast(&s->qcond);
	}
	pthread_mutex_unlock(&p->lock);
	for (size_t i = 0; i < nc; i++)
		conn_close(p, conns[i], conns[i]->per_session);
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < nc; i++)
		conn_unref(conns[i]);
	pt__free(conns);
	/* Reader and closer threads finish on their own now. */
	while (p->threads)
		pthread_cond_wait(&p->cond, &p->lock);
	conn_unref(p->mux);
	p->mux = NULL;
	pt_map_foreach(&p->sessions, sl)
	{
		struct sess *s = sl->value;
		conn_unref(s->conn);
		s->conn = NULL;
	}
	pthread_mutex_unlock(&p->lock);
	pool_release(p);
	return NULL;
}

/* ---- Sessions ---------------------------------------------------------- */

int pt_mux_register(struct pt_mux_pool *p, pt_mux_event_fn cb, void *ctx,
		    char ret_id[PT_MUX_ID_MAX])
{
	struct sess *s;
	struct reader_start *rs = NULL;
	char why[256] = "";
	int r;

	if (!p || !ret_id)
		return -EINVAL;
	s = pt__calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cb = cb;
	s->ctx = ctx;
	s->refs = 1;
	cond_init_mono(&s->qcond);
	pthread_mutex_lock(&p->lock);
	if (p->freeing || p->state == ST_FAILED) {
		r = PT_EWORKER;
		goto fail_locked;
	}
	if (p->live >= p->o.max_sessions) {
		r = PT_EFULL;
		goto fail_locked;
	}
	snprintf(s->id, sizeof(s->id), "pool_%" PRIu64, p->next_session++);
	p->live++; /* the slot is ours while the worker starts */
	pthread_mutex_unlock(&p->lock);

	if (p->o.mode == PT_MUX_PER_SESSION) {
		rs = pt__malloc(sizeof(*rs));
		r = rs ? conn_start(p, s->id, &s->conn, why, sizeof(why))
		       : -ENOMEM;
		if (r < 0) {
			pt__free(rs);
			if (why[0])
				pool_diag(p, "worker_start_failed", why);
			pthread_mutex_lock(&p->lock);
			p->live--;
			goto fail_locked;
		}
		s->conn->per_session = true;
		memcpy(s->conn->only, s->id, sizeof(s->id));
	}
	pthread_mutex_lock(&p->lock);
	r = pt__map_put(&p->sessions, s->id, strlen(s->id), s, NULL);
	if (r >= 0 && rs) {
		rs->p = p;
		rs->c = s->conn;
		s->conn->refs++; /* the reader's */
		r = start_thread(p, sess_reader_main, rs);
		if (r < 0) {
			s->conn->refs--;
			pt__map_del(&p->sessions, s->id, strlen(s->id), NULL);
		}
	}
	if (r < 0) {
		p->live--;
		pthread_mutex_unlock(&p->lock);
		if (s->conn) {
			s->conn->closing = true;
			s->conn->reader_done = true;
			conn_close(p, s->conn, false);
			conn_free(s->conn);
		}
		pt__free(rs);
		pthread_mutex_lock(&p->lock);
		goto fail_locked;
	}
	memcpy(ret_id, s->id, sizeof(s->id));
	pthread_mutex_unlock(&p->lock);
	return 0;

fail_locked:
	pthread_mutex_unlock(&p->lock);
	pthread_cond_destroy(&s->qcond);
	pt__free(s);
	return r;
}

/*
 * Under p->lock: the connection to write to for session s, with a
 * reference taken, waiting (until deadline) while the multiplexed worker
 * restarts.
 */
static int target(struct pt_mux_pool *p, const char *id, int64_t deadline,
		  struct sess **ret_s, struct conn **ret_c)
{
	struct sess *s;
	struct conn *c;

	for (;;) {
		s = valid_id(id) ? pt__map_gets(&p->sessions, id) : NULL;
		if (!s)
			return PT_ENOTFOUND;
		if (s->dead || p->freeing || p->state == ST_FAILED)
			return PT_EWORKER;
		c = s->conn ? s->conn : p->mux;
		if (c && !c->dead)
			break;
		if (s->conn) /* per-session: its worker is not coming back */
			return PT_EWORKER;
		if (wait_until(&p->cond, &p->lock, deadline) == ETIMEDOUT)
			return -ETIMEDOUT;
	}
	c->refs++;
	*ret_s = s;
	*ret_c = c;
	return 0;
}

int pt_mux_send(struct pt_mux_pool *p, const char *id, const json_t *msg)
{
	struct sess *s;
	struct conn *c;
	int r;

	if (!p || !id || !json_is_object(msg))
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	r = target(p, id, deadline_after(p->o.request_timeout_ms), &s, &c);
	pthread_mutex_unlock(&p->lock);
	if (r < 0)
		return r;
	r = conn_write(p, c, msg, id, NULL);
	pthread_mutex_lock(&p->lock);
	conn_unref(c);
	pthread_mutex_unlock(&p->lock);
	return r;
}

/*
 * Sends msg as request prefix_N; waits for the reply (of type w->expect
 * when set) when w is set.
 */
static int issue(struct pt_mux_pool *p, const char *id, const json_t *msg,
		 const char *prefix, struct waiter *w, int timeout_ms,
		 char ret_req[PT_MUX_ID_MAX])
{
	int64_t deadline = deadline_after(timeout_ms);
	char req[PT_MUX_ID_MAX];
	struct sess *s;
	struct conn *c;
	int r;

	pthread_mutex_lock(&p->lock);
	r = target(p, id, deadline, &s, &c);
	if (r < 0) {
		pthread_mutex_unlock(&p->lock);
		return r;
	}
	make_id(req, prefix, p->next_id++);
	if (w) {
		w->keylen = make_key(w->key, id, req);
		w->conn = c;
		r = pt__map_put(&p->pending, w->key, w->keylen, w, NULL);
		if (r < 0) {
			conn_unref(c);
			pthread_mutex_unlock(&p->lock);
			return r;
		}
	}
	pthread_mutex_unlock(&p->lock);

	r = conn_write(p, c, msg, id, req);

	pthread_mutex_lock(&p->lock);
	if (w) {
		if (r == 0)
			r = wait_reply(p, c, w, deadline);
		if (!w->done) /* timed out or never sent: forget it */
			pt__map_del(&p->pending, w->key, w->keylen, NULL);
	}
	conn_unref(c);
	pthread_mutex_unlock(&p->lock);
	if (r == 0 && ret_req)
		memcpy(ret_req, req, sizeof(req));
	return r;
}

int pt_mux_request_expect(struct pt_mux_pool *p, const char *id,
			  const json_t *msg, const char *expect_type,
			  int timeout_ms, json_t **ret_reply)
{
	struct waiter w;
	int r;

	if (!p || !id || !json_is_object(msg) || !ret_reply)
		return -EINVAL;
	if (reader_of == p)
		return PT_ESTATE;
	memset(&w, 0, sizeof(w));
	w.expect = expect_type;
	r = issue(p, id, msg, "req", &w,
		  timeout_ms < 0 ? p->o.request_timeout_ms : timeout_ms, NULL);
	if (r < 0) {
		json_decref(w.reply);
		return r;
	}
	*ret_reply = w.reply;
	return 0;
}

int pt_mux_request(struct pt_mux_pool *p, const char *id, const json_t *msg,
		   int timeout_ms, json_t **ret_reply)
{
	return pt_mux_request_expect(p, id, msg, NULL, timeout_ms, ret_reply);
}

int pt_mux_interact(struct pt_mux_pool *p, const char *id, const json_t *msg,
		    char ret_req_id[PT_MUX_ID_MAX])
{
	if (!p || !id || !json_is_object(msg) || !ret_req_id)
		return -EINVAL;
	return issue(p, id, msg, "req", NULL, p->o.request_timeout_ms,
		     ret_req_id);
}

static void *closer_main(void *arg)
{
	struct reader_start rs = *(struct reader_start *)arg;

	pt__free(arg);
	conn_close(rs.p, rs.c, true);
	pthread_mutex_lock(&rs.p->lock);
	conn_unref(rs.c);
	pthread_mutex_unlock(&rs.p->lock);
	thread_done(rs.p);
	return NULL;
}

static int unregister(struct pt_mux_pool *p, const char *id, bool wait)
{
	struct sess *s;
	struct conn *c;
	struct waiter w;
	char *own;
	int r = 0;

	if (!p || !id)
		return -EINVAL;
	if (wait && reader_of == p)
		return PT_ESTATE;
	pthread_mutex_lock(&p->lock);
	s = valid_id(id) ? pt__map_gets(&p->sessions, id) : NULL;
	if (!s) {
		pthread_mutex_unlock(&p->lock);
		return 0;
	}
	/* The slot is free from now on (§1.12, kept on purpose). */
	pt__map_del(&p->sessions, s->id, strlen(s->id), NULL);
	if (!s->dead)
		p->live--;
	s->removed = true;
	pthread_cond_broadcast(&s->qcond);
	if (wait) {
		while (s->in_cb)
			pthread_cond_wait(&p->cond, &p->lock);
	}
	c = s->conn;
	s->conn = NULL;
	if (c) {
		/* Per-session: the worker goes away with the session. */
		bool gone = c->reader_done;
		c->closing = !c->dead;
		pthread_mutex_unlock(&p->lock);
		if (!gone && !wait) {
			struct reader_start *rs = pt__malloc(sizeof(*rs));
			pthread_mutex_lock(&p->lock);
			if (rs) {
				rs->p = p;
				rs->c = c;
				if (start_thread(p, closer_main, rs) == 0) {
					sess_unref(s);
					pthread_mutex_unlock(&p->lock);
					return 0;
				}
				pt__free(rs);
			}
			pthread_mutex_unlock(&p->lock);
		}
		if (!gone)
			conn_close(p, c, true);
		pthread_mutex_lock(&p->lock);
		conn_unref(c);
		sess_unref(s);
		pthread_mutex_unlock(&p->lock);
		return 0;
	}
	if (s->dead || !p->mux || p->mux->dead) {
		sess_unref(s);
		pthread_mutex_unlock(&p->lock);
		return 0;
	}
	/* Multiplexed: reset, and swallow the session_closed to come. */
	own = pt__strdup(s->id);
	if (own &&
	    pt__map_put(&p->pending_close, own, strlen(own), own, NULL) < 0)
		pt__freep(&own);
	pthread_mutex_unlock(&p->lock);
	{
		json_t *m = json_pack("{s:s}", "type", "reset");
		memset(&w, 0, sizeof(w));
		/* The session is out of the table: address it by hand. */
		r = m ? 0 : -ENOMEM;
		if (r == 0) {
			char req[PT_MUX_ID_MAX];
			int64_t deadline =
				deadline_after(p->o.unregister_timeout_ms);
			pthread_mutex_lock(&p->lock);
			c = p->mux;
			if (!c) {
				pthread_mutex_unlock(&p->lock);
				goto done;
			}
			c->refs++;
			snprintf(req, sizeof(req), "%s_%" PRIu64,
				 wait ? "unreg" : "rel", p->next_id++);
			if (wait) {
				w.keylen = make_key(w.key, s->id, req);
				w.conn = c;
				w.expect = "reset_response";
				r = pt__map_put(&p->pending, w.key, w.keylen,
						&w, NULL);
				if (r > 0)
					r = 0;
			}
			pthread_mutex_unlock(&p->lock);
			if (r == 0)
				r = conn_write(p, c, m, s->id, req);
			pthread_mutex_lock(&p->lock);
			if (wait) {
				if (r == 0)
					r = wait_reply(p, c, &w, deadline);
				if (!w.done)
					pt__map_del(&p->pending, w.key,
						    w.keylen, NULL);
				json_decref(w.reply);
			}
			conn_unref(c);
			pthread_mutex_unlock(&p->lock);
		}
done:
		json_decref(m);
	}
	pthread_mutex_lock(&p->lock);
	sess_unref(s);
	pthread_mutex_unlock(&p->lock);
	/* A worker that died meanwhile has closed the session anyway. */
	return r == PT_EWORKER ? 0 : r;
}

int pt_mux_unregister(struct pt_mux_pool *p, const char *id)
{
	return unregister(p, id, true);
}

int pt_mux_unregister_async(struct pt_mux_pool *p, const char *id)
{
	return unregister(p, id, false);
}

int pt_mux_next_event(struct pt_mux_pool *p, const char *id, int timeout_ms,
		      struct pt_mux_event *ret)
{
	int64_t deadline = deadline_after(timeout_ms);
	struct sess *s;
	int r = 0;

	if (!p || !id || !ret)
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	s = valid_id(id) ? pt__map_gets(&p->sessions, id) : NULL;
	if (!s) {
		pthread_mutex_unlock(&p->lock);
		return PT_ENOTFOUND;
	}
	if (s->cb) {
		pthread_mutex_unlock(&p->lock);
		return PT_ESTATE;
	}
	s->refs++;
	while (!s->qn && !s->removed) {
		if (timeout_ms == 0 ||
		    wait_until(&s->qcond, &p->lock, deadline) == ETIMEDOUT)
			break;
	}
	if (s->removed) {
		r = PT_ENOTFOUND;
	} else if (s->qn) {
		*ret = s->q[s->qhead];
		s->qhead = (s->qhead + 1) % s->qcap;
		s->qn--;
		r = 1;
	}
	sess_unref(s);
	pthread_mutex_unlock(&p->lock);
	return r;
}

void pt_mux_event_release(struct pt_mux_event *ev)
{
	if (ev) {
		json_decref(ev->msg);
		ev->msg = NULL;
	}
}

void pt_mux_pool_stats(struct pt_mux_pool *p, struct pt_mux_pool_stats *ret)
{
	if (!p || !ret)
		return;
	pthread_mutex_lock(&p->lock);
	ret->live_sessions = p->live;
	ret->pending_requests = p->pending.n;
	ret->restarts = p->restarts;
	ret->decode_errors = p->decode_errors;
	ret->unrouted = p->unrouted;
	ret->worker_pid = p->mux ? p->mux->pid : 0;
	pthread_mutex_unlock(&p->lock);
}

pid_t pt_mux_session_worker_pid(struct pt_mux_pool *p, const char *id)
{
	struct sess *s;
	pid_t pid = 0;

	if (!p || !id)
		return 0;
	pthread_mutex_lock(&p->lock);
	s = valid_id(id) ? pt__map_gets(&p->sessions, id) : NULL;
	if (s && !s->dead) {
		if (s->conn)
			pid = s->conn->pid;
		else if (p->mux)
			pid = p->mux->pid;
	}
	pthread_mutex_unlock(&p->lock);
	return pid;
}
