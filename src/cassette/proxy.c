/*
 * cassette/proxy.c - a record/replay HTTP proxy on 127.0.0.1, so that test
 * programs in any language can use cassettes: libmicrohttpd serves (one
 * thread per connection, so a slow upstream does not block other
 * clients), every request goes through pt_cassette_play(), and libcurl
 * forwards to the upstream when the mode needs it.
 *
 * The request is stored with the upstream's URL (not the proxy's), and
 * without the hop-by-hop headers and Host, so a cassette recorded through
 * the proxy does not depend on the port the proxy had.
 */
#include "base/buf.h"
#include "base/common.h"
#include "base/str.h"
#include "cassette/internal.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>

/* Forwarding settings: the proxy's, or the public function's defaults. */
struct fwd_opts {
	long timeout_ms;
	size_t max_body; /* of the upstream's response */
};

struct pt_cassette_proxy {
	struct MHD_Daemon *d;
	struct pt_cassette *c;
	CURLU *base;  /* the upstream, parsed once: scheme, host, port */
	char *prefix; /* the upstream's path without a final '/' */
	struct fwd_opts fwd;
	size_t max_body;
	unsigned max_headers;
	unsigned miss_status;
	int port;
};

/* Per request: the raw URI (path and query) and the uploaded body. */
struct req_state {
	char *uri;
	struct pt_buf body;
	bool started; /* the first call only announces the request */
	bool too_big;
};

static bool hop_by_hop(const char *name)
{
	static const char *const names[] = {
		"host",
		"connection",
		"keep-alive",
		"proxy-connection",
		"te",
		"trailer",
		"upgrade",
		"transfer-encoding",
		"expect",
		"content-length",
		"proxy-authorization",
	};

	for (size_t i = 0; i < PT_ARRAY_SIZE(names); i++)
		if (strcasecmp(name, names[i]) == 0)
			return true;
	return false;
}

/* ---- client side (libcurl) ------------------------------------------------
 */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct fetch {
	struct pt_buf body;
	struct pt_buf hdrs; /* name \0 value \0 ... of the last response */
	size_t max;
	bool too_big;
};

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
	struct fetch *f = ctx;
	size_t len = size * n;

	if (f->body.len + len > f->max) {
		f->too_big = true;
		return 0;
	}
	return pt__buf_add(&f->body, p, len) < 0 ? 0 : len;
}

static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
	struct fetch *f = ctx;
	size_t len = size * n;
	struct pt_slice name, value;
	const char *colon;

	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		pt__buf_reset(&f->hdrs); /* a new response (after 1xx) */
		return len;
	}
	colon = memchr(p, ':', len);
	if (!colon)
		return len; /* the blank line */
	name = pt__slice_strip(pt__slice(p, (size_t)(colon - p)));
	value = pt__slice_strip(
		pt__slice(colon + 1, len - (size_t)(colon + 1 - p)));
	if (f->hdrs.len + len > f->max) {
		f->too_big = true;
		return 0;
	}
	if (pt__buf_add(&f->hdrs, name.p, name.len) < 0 ||
	    pt__buf_addch(&f->hdrs, '\0') < 0 ||
	    pt__buf_add(&f->hdrs, value.p, value.len) < 0 ||
	    pt__buf_addch(&f->hdrs, '\0') < 0)
		return 0;
	return len;
}

static bool has_header(const struct pt_http_request *req, const char *name)
{
	for (size_t i = 0; i < req->n_headers; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return true;
	return false;
}

static int curl_err(CURLcode rc)
{
	switch (rc) {
	case CURLE_OK:
		return 0;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
		return -EHOSTUNREACH;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return -EINVAL;
	default:
		return -EIO;
	}
}

static int forward_curl(const struct fwd_opts *o,
			const struct pt_http_request *req,
			struct pt_http_response *resp)
{
	long timeout = o->timeout_ms;
	struct fetch f = { PT_BUF_INIT, PT_BUF_INIT, o->max_body, false };
	struct curl_slist *hl = NULL, *t;
	struct pt_buf line = PT_BUF_INIT;
	CURL *h;
	CURLcode rc;
	long status = 0;
	int r = -ENOMEM;

	if (!req || !resp || !req->url || !req->method)
		return -EINVAL;
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK)
		return -EIO;
	h = curl_easy_init();
	if (!h)
		return -ENOMEM;
	for (size_t i = 0; i < req->n_headers; i++) {
		if (hop_by_hop(req->headers[i].name))
			continue;
		pt__buf_reset(&line);
		if (pt__buf_addf(&line, "%s: %s", req->headers[i].name,
				 req->headers[i].value) < 0)
			goto out;
		t = curl_slist_append(hl, line.s);
		if (!t)
			goto out;
		hl = t;
	}
	/* no headers the client did not send: no 100-continue, no default
	 * Accept or form Content-Type */
	static const char *const suppress[] = { "Expect", "Accept",
						"Content-Type" };
	for (size_t i = 0; i < PT_ARRAY_SIZE(suppress); i++) {
		if (i && has_header(req, suppress[i]))
			continue;
		pt__buf_reset(&line);
		if (pt__buf_addf(&line, "%s:", suppress[i]) < 0)
			goto out;
		t = curl_slist_append(hl, line.s);
		if (!t)
			goto out;
		hl = t;
	}
	curl_easy_setopt(h, CURLOPT_URL, req->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
	if (strcasecmp(req->method, "HEAD") == 0)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	if (req->body_len) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)req->body_len);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &f);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &f);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout > 0 ? timeout : 30000L);
	rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		r = f.too_big ? PT_ETOOBIG : curl_err(rc);
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	resp->status = (int)status;
	for (size_t at = 0; at < f.hdrs.len;) {
		const char *name = f.hdrs.s + at;
		const char *value = name + strlen(name) + 1;

		at = (size_t)(value - f.hdrs.s) + strlen(value) + 1;
		/* Content-Length is kept: a HEAD response has no body to
		 * compute it from on replay */
		if (hop_by_hop(name) && strcasecmp(name, "content-length"))
			continue;
		if (pt_http_response_add_header(resp, name, value) < 0)
			goto out;
	}
	r = pt_http_response_set_body(resp, f.body.s, f.body.len);
out:
	curl_slist_free_all(hl);
	curl_easy_cleanup(h);
	pt__buf_release(&line);
	pt__buf_release(&f.body);
	pt__buf_release(&f.hdrs);
	return r;
}

int pt_cassette_forward_curl(void *ctx, const struct pt_http_request *req,
			     struct pt_http_response *resp)
{
	struct fwd_opts o = { .timeout_ms = ctx ? *(const long *)ctx : 0,
			      .max_body = PT_CASSETTE_PROXY_MAX_BODY };

	return forward_curl(&o, req, resp);
}

static int proxy_forward(void *ctx, const struct pt_http_request *req,
			 struct pt_http_response *resp)
{
	return forward_curl(ctx, req, resp);
}

/* ---- server side (libmicrohttpd) ----------------------------------------- */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *con)
{
	struct req_state *s = pt__calloc(1, sizeof(*s));

	(void)cls;
	(void)con;
	if (!s)
		return NULL;
	pt__buf_init(&s->body);
	s->uri = pt__strdup(uri ? uri : "/");
	return s;
}

static void on_done(void *cls, struct MHD_Connection *con, void **con_cls,
		    enum MHD_RequestTerminationCode toe)
{
	struct req_state *s = *con_cls;

	(void)cls;
	(void)con;
	(void)toe;
	if (!s)
		return;
	pt__free(s->uri);
	pt__buf_release(&s->body);
	pt__free(s);
	*con_cls = NULL;
}

struct hdr_list {
	struct pt_http_header *h;
	size_t n, max;
	bool too_many;
};

static enum MHD_Result on_header_in(void *cls, enum MHD_ValueKind kind,
				    const char *key, const char *value)
{
	struct hdr_list *l = cls;

	(void)kind;
	if (hop_by_hop(key))
		return MHD_YES;
	if (l->n == l->max) {
		l->too_many = true;
		return MHD_NO;
	}
	l->h[l->n].name = key;
	l->h[l->n].value = value ? value : "";
	l->n++;
	return MHD_YES;
}

static enum MHD_Result send_text(struct MHD_Connection *con, unsigned status,
				 const char *text, const char *tag)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		strlen(text), (void *)(uintptr_t)text, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
	if (tag)
		MHD_add_response_header(r, "X-Proctor-Cassette", tag);
	ret = MHD_queue_response(con, status, r);
	MHD_destroy_response(r);
	return ret;
}

/*
 * The URL to forward to: the upstream's scheme, host and port, never the
 * client's. The request target must be in origin form ("/path?query"):
 * anything else ("@host:port/x", "http://other/", "*") could otherwise
 * change the authority when glued to the upstream. -EINVAL for those.
 */
static int upstream_url(const struct pt_cassette_proxy *p, const char *target,
			struct pt_buf *ret)
{
	const char *q = strchr(target, '?');
	struct pt_buf path = PT_BUF_INIT;
	CURLU *u = NULL;
	char *s = NULL;
	int r = -EINVAL;

	if (target[0] != '/')
		return -EINVAL;
	for (const char *c = target; *c; c++)
		if ((unsigned char)*c <= 0x20 || *c == 0x7f || *c == '#')
			return -EINVAL;
	if (pt__buf_adds(&path, p->prefix) < 0 ||
	    pt__buf_add(&path, target,
			q ? (size_t)(q - target) : strlen(target)) < 0)
		goto nomem;
	u = curl_url_dup(p->base);
	if (!u)
		goto nomem;
	if (curl_url_set(u, CURLUPART_PATH, path.s, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_QUERY, q && q[1] ? q + 1 : NULL, 0) !=
		    CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &s, CURLU_PATH_AS_IS) != CURLUE_OK)
		goto out;
	r = pt__buf_adds(ret, s) < 0 ? -ENOMEM : 0;
out:
	curl_free(s);
	curl_url_cleanup(u);
	pt__buf_release(&path);
	return r;
nomem:
	r = -ENOMEM;
	goto out;
}

static ssize_t no_body(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)cls;
	(void)pos;
	(void)buf;
	(void)max;
	return MHD_CONTENT_READER_END_WITH_ERROR;
}

/*
 * A HEAD response announces the length of the body it does not send:
 * the recorded Content-Length, which libmicrohttpd takes from the size of
 * a response whose body is never read. NULL when not HEAD or none.
 */
static struct MHD_Response *head_response(const char *method,
					  const struct pt_http_response *resp)
{
	uint64_t len;

	if (strcmp(method, "HEAD") != 0 || resp->body_len)
		return NULL;
	for (size_t i = 0; i < resp->n_headers; i++)
		if (!strcasecmp(resp->headers[i].name, "content-length") &&
		    pt__parse_u64(resp->headers[i].value, &len) == 0)
			return MHD_create_response_from_callback(
				len, 4096, no_body, NULL, NULL);
	return NULL;
}

static enum MHD_Result serve(struct pt_cassette_proxy *p,
			     struct MHD_Connection *con, const char *method,
			     struct req_state *s)
{
	struct hdr_list *hl = pt__calloc(1, sizeof(*hl));
	struct pt_buf url = PT_BUF_INIT, msg = PT_BUF_INIT;
	struct pt_http_response *resp = NULL;
	struct pt_diags *diags = NULL;
	struct pt_http_request req;
	struct MHD_Response *mr;
	enum MHD_Result ret = MHD_NO;
	int r;

	if (!hl || pt_diags_new(&diags) < 0)
		goto out;
	r = upstream_url(p, s->uri, &url);
	if (r == -EINVAL) {
		ret = send_text(con, 400,
				"proctor cassette: the request target must be "
				"a path (origin form: /path?query)\n",
				"error");
		goto out;
	}
	if (r < 0)
		goto out;
	hl->max = p->max_headers;
	hl->h = pt__calloc(hl->max, sizeof(*hl->h));
	if (!hl->h || MHD_get_connection_values(con, MHD_HEADER_KIND,
						on_header_in, hl) < 0)
		goto out;
	if (hl->too_many) {
		pt__buf_addf(&msg,
			     "proctor cassette: more than %u request headers "
			     "(--max-headers)\n",
			     p->max_headers);
		ret = send_text(con, 431, msg.s, "limit");
		goto out;
	}
	req = (struct pt_http_request){ .method = method,
					.url = url.s,
					.headers = hl->h,
					.n_headers = hl->n,
					.body = s->body.s,
					.body_len = s->body.len };
	r = pt_cassette_play(p->c, &req, proxy_forward, &p->fwd, diags, &resp);
	if (r < 0) {
		pt__buf_addf(&msg, "proctor cassette: %s\n", pt_strerror(r));
		for (size_t i = 0; i < pt_diags_count(diags); i++)
			pt__buf_addf(&msg, "%s\n",
				     pt_diags_get(diags, i)->message);
		ret = r == PT_ENOMATCH ? send_text(con, p->miss_status, msg.s,
						   "no-match")
		      : r == PT_ETOOBIG && !pt_diags_count(diags)
			      ? send_text(con, 502, msg.s, "limit")
		      : r == PT_ETOOBIG ? send_text(con, 507, msg.s, "limit")
					: send_text(con, 502, msg.s, "error");
		goto out;
	}
	mr = head_response(method, resp);
	if (!mr)
		mr = MHD_create_response_from_buffer(resp->body_len, resp->body,
						     MHD_RESPMEM_MUST_COPY);
	if (!mr)
		goto out;
	for (size_t i = 0; i < resp->n_headers; i++)
		if (!hop_by_hop(resp->headers[i].name))
			MHD_add_response_header(mr, resp->headers[i].name,
						resp->headers[i].value);
	ret = MHD_queue_response(con, (unsigned)resp->status, mr);
	MHD_destroy_response(mr);
out:
	pt_http_response_free(resp);
	pt_diags_free(diags);
	pt__buf_release(&url);
	pt__buf_release(&msg);
	if (hl)
		pt__free(hl->h);
	pt__free(hl);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct pt_cassette_proxy *p = cls;
	struct req_state *s = *con_cls;

	(void)url;
	(void)version;
	if (!s || !s->uri)
		return MHD_NO;
	if (!s->started) {
		s->started = true;
		return MHD_YES;
	}
	if (*upload_size) {
		if (s->body.len + *upload_size > p->max_body)
			s->too_big = true;
		else if (pt__buf_add(&s->body, upload, *upload_size) < 0)
			return MHD_NO;
		*upload_size = 0;
		return MHD_YES;
	}
	if (s->too_big)
		return send_text(
			con, 413,
			"proctor cassette: request body over the limit "
			"(--max-body)\n",
			"limit");
	return serve(p, con, method, s);
}

static int parse_listen(const char *l, uint16_t *ret)
{
	const char *port = l;
	uint64_t v;

	if (!l || !*l) {
		*ret = 0;
		return 0;
	}
	if (pt__starts_with(l, "127.0.0.1:"))
		port = l + 10;
	else if (*l == ':')
		port = l + 1;
	if (pt__parse_u64(port, &v) < 0 || v > 65535)
		return -EINVAL; /* loopback only, by design */
	*ret = (uint16_t)v;
	return 0;
}

/*
 * The upstream, parsed once: http or https, a host, no user info, query
 * or fragment; its path (without a final '/') prefixes every request's.
 */
static int parse_upstream(const char *up, CURLU **ret, char **ret_prefix)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *path = NULL, *x = NULL;
	size_t n;
	int r = -EINVAL;

	if (!u)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, up, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") && strcmp(scheme, "https")) ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host)
		goto out;
	if (curl_url_get(u, CURLUPART_USER, &x, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_QUERY, &x, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_FRAGMENT, &x, 0) == CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
		goto out;
	n = strlen(path);
	while (n > 0 && path[n - 1] == '/')
		n--;
	*ret_prefix = pt__strndup(path, n);
	if (!*ret_prefix) {
		r = -ENOMEM;
		goto out;
	}
	*ret = u;
	u = NULL;
	r = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(path);
	curl_free(x);
	curl_url_cleanup(u);
	return r;
}

int pt_cassette_proxy_start(struct pt_cassette *c,
			    const struct pt_cassette_proxy_opts *o,
			    struct pt_cassette_proxy **ret)
{
	struct pt_cassette_proxy *p;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	const union MHD_DaemonInfo *info;
	uint16_t port;
	int r;

	if (!c || !o || !o->upstream || !ret)
		return -EINVAL;
	if (parse_listen(o->listen, &port) < 0 ||
	    (o->miss_status && (o->miss_status < 100 || o->miss_status > 999)))
		return -EINVAL;
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK)
		return -EIO;
	p = pt__calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->c = c;
	p->fwd.timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 30000;
	p->max_body = o->max_body ? o->max_body : PT_CASSETTE_PROXY_MAX_BODY;
	p->fwd.max_body = p->max_body;
	p->max_headers =
		o->max_headers ? o->max_headers : PT_CASSETTE_PROXY_MAX_HEADERS;
	p->miss_status = o->miss_status ? (unsigned)o->miss_status
					: PT_CASSETTE_PROXY_MISS_STATUS;
	r = parse_upstream(o->upstream, &p->base, &p->prefix);
	if (r < 0) {
		pt__free(p);
		return r;
	}
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p->d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
		port, NULL, NULL, on_request, p, MHD_OPTION_SOCK_ADDR, &sa,
		MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
		MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
		MHD_OPTION_CONNECTION_TIMEOUT,
		o->idle_timeout_s ? o->idle_timeout_s
				  : PT_CASSETTE_PROXY_IDLE_TIMEOUT,
		MHD_OPTION_CONNECTION_LIMIT,
		o->max_connections ? o->max_connections
				   : PT_CASSETTE_PROXY_MAX_CONNECTIONS,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		o->max_header_bytes
			? o->max_header_bytes
			: (size_t)PT_CASSETTE_PROXY_MAX_HEADER_BYTES,
		MHD_OPTION_END);
	if (!p->d) {
		curl_url_cleanup(p->base);
		pt__free(p->prefix);
		pt__free(p);
		return -EADDRINUSE;
	}
	info = MHD_get_daemon_info(p->d, MHD_DAEMON_INFO_BIND_PORT);
	p->port = info ? info->port : port;
	*ret = p;
	return 0;
}

int pt_cassette_proxy_port(const struct pt_cassette_proxy *p)
{
	return p ? p->port : -EINVAL;
}

struct pt_cassette_proxy *pt_cassette_proxy_stop(struct pt_cassette_proxy *p)
{
	if (!p)
		return NULL;
	MHD_stop_daemon(p->d);
	curl_url_cleanup(p->base);
	pt__free(p->prefix);
	pt__free(p);
	return NULL;
}
