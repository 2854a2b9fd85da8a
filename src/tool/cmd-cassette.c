/*
 * tool/cmd-cassette.c - `proctor cassette serve|show`: the record/replay
 * HTTP proxy and a listing of a cassette's interactions. A thin client of
 * <proctor/cassette.h>.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <proctor/proctor.h>

#include "cmd.h"

#define MAX_LIST 64

static void print_diags(const struct pt_diags *d)
{
	for (size_t i = 0; i < pt_diags_count(d); i++) {
		const struct pt_diag *x = pt_diags_get(d, i);

		if (!strcmp(x->file, "<input>"))
			pt_tool_err("cassette", "%s", x->message);
		else if (x->line)
			fprintf(stderr, "%s:%u: %s\n", x->file, x->line,
				x->message);
		else
			fprintf(stderr, "%s: %s\n", x->file, x->message);
	}
}

static int exit_for(int err)
{
	switch (err) {
	case PT_EPARSE:
	case PT_ETOOBIG:
	case PT_EINCOMPAT:
		return PT_EXIT_STORAGE;
	default:
		return PT_EXIT_FAILURES;
	}
}

static int parse_match(const char *s, unsigned *ret)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {
		{ "method", PT_MATCH_METHOD }, { "uri", PT_MATCH_URI },
		{ "query", PT_MATCH_QUERY },   { "headers", PT_MATCH_HEADERS },
		{ "body", PT_MATCH_BODY },     { "json", PT_MATCH_BODY_JSON },
	};
	unsigned m = 0;

	while (*s) {
		size_t n = strcspn(s, ","), i;

		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strlen(names[i].name) == n &&
			    !strncmp(names[i].name, s, n))
				break;
		if (i == sizeof(names) / sizeof(names[0]))
			return -1;
		m |= names[i].bit;
		s += n + (s[n] == ',');
	}
	*ret = m;
	return m ? 0 : -1;
}

/* A whole number in [lo, hi]; -1 when not. */
static int parse_num(const char *s, unsigned long long lo,
		     unsigned long long hi, unsigned long long *ret)
{
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	*ret = strtoull(s, &end, 10);
	return errno || *end || *ret < lo || *ret > hi ? -1 : 0;
}

static void serve_usage(FILE *f)
{
	fprintf(f,
		"usage: proctor cassette serve --cassette FILE --mode "
		"record|replay|bypass\n"
		"                              --upstream URL [--listen "
		"127.0.0.1:PORT] [options]\n\n"
		"Serves HTTP on 127.0.0.1: answers from the cassette, forwards "
		"to URL\n(recording) when the mode needs it. Prints "
		"'listening on http://127.0.0.1:PORT'\nonce ready; stops on "
		"SIGINT or SIGTERM.\n\n"
		"Options:\n"
		"  --first-match          match any recorded interaction "
		"(default: sequential)\n"
		"  --per-path             sequential per (method, path) "
		"stream, so concurrent\n"
		"                         clients may interleave differently "
		"from the recording\n"
		"  --session FILE         shared session file for the "
		"sequential index\n"
		"  --match LIST           fields compared: method,uri,query,"
		"headers,body,json\n"
		"                         (default "
		"method,uri,query,headers,body)\n"
		"  --ignore-headers LIST  request headers not compared "
		"(comma-separated;\n"
		"                         default user-agent,accept,"
		"accept-encoding,connection,\n"
		"                         host,content-length; '' compares "
		"all)\n"
		"  --filter-header NAME   drop a request header before "
		"matching and saving\n"
		"  --filter REGEX=TEXT    replace in uri, query and bodies "
		"(PCRE2, $1 groups)\n"
		"  --timeout MS           upstream timeout (default 30000)\n"
		"  --miss-status CODE     status of a replay miss (default "
		"599)\n"
		"  --template-preset P    templates: anthropic, openai, llm, "
		"common\n"
		"  --template-pattern N=REGEX\n"
		"                         a named template pattern "
		"(repeatable)\n"
		"  --template-keys        also template JSON object keys\n"
		"Limits (checked before forwarding where the request shows "
		"them):\n"
		"  --max-body BYTES       request and upstream response body "
		"(default 64 MiB)\n"
		"  --max-headers N        request headers (default 256)\n"
		"  --max-header-bytes B   request line and headers (default "
		"65536)\n"
		"  --max-connections N    clients at once (default 256)\n"
		"  --idle-timeout S       close idle client connections "
		"(default 60)\n"
		"  --max-bytes BYTES      cassette file size (default 64 "
		"MiB)\n"
		"  --max-interactions N   interactions in the cassette "
		"(default 100000)\n"
		"\nExit: 0 stopped by SIGINT/SIGTERM, 2 usage, 4 corrupt or "
		"oversized cassette,\n1 other errors.\n");
}

static int cmd_serve(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "cassette", required_argument, NULL, 'c' },
		{ "mode", required_argument, NULL, 'm' },
		{ "upstream", required_argument, NULL, 'u' },
		{ "listen", required_argument, NULL, 'l' },
		{ "first-match", no_argument, NULL, 'f' },
		{ "per-path", no_argument, NULL, 'p' },
		{ "session", required_argument, NULL, 's' },
		{ "match", required_argument, NULL, 'M' },
		{ "filter-header", required_argument, NULL, 'H' },
		{ "ignore-headers", required_argument, NULL, 'I' },
		{ "filter", required_argument, NULL, 'F' },
		{ "timeout", required_argument, NULL, 't' },
		{ "miss-status", required_argument, NULL, 1000 },
		{ "max-body", required_argument, NULL, 1001 },
		{ "max-headers", required_argument, NULL, 1002 },
		{ "max-header-bytes", required_argument, NULL, 1003 },
		{ "max-connections", required_argument, NULL, 1004 },
		{ "idle-timeout", required_argument, NULL, 1005 },
		{ "max-bytes", required_argument, NULL, 1006 },
		{ "max-interactions", required_argument, NULL, 1007 },
		{ "template-preset", required_argument, NULL, 'P' },
		{ "template-pattern", required_argument, NULL, 'T' },
		{ "template-keys", no_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct pt_cassette_proxy_opts po = { 0 };
	struct pt_cassette_filter filters[MAX_LIST];
	struct pt_cassette_pattern pats[MAX_LIST];
	struct pt_cassette_template tmpl = { 0 };
	bool use_tmpl = false;
	const char *headers[MAX_LIST + 1] = { NULL };
	const char *ignore[MAX_LIST + 1] = { NULL };
	size_t ni = 0;
	const char *path = NULL, *mode = NULL, *session = NULL;
	struct pt_cassette_session *s = NULL;
	struct pt_cassette_proxy *p = NULL;
	struct pt_cassette *c = NULL;
	struct pt_diags *d = NULL;
	size_t nh = 0, nf = 0;
	sigset_t set;
	int opt, r, sig, ret = PT_EXIT_FAILURES, option_index = 0;

	o.sequential = true;
	o.match_ignore_headers = pt_cassette_client_headers;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, &option_index)) !=
	       -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'm':
			mode = optarg;
			break;
		case 'u':
			po.upstream = optarg;
			break;
		case 'l':
			po.listen = optarg;
			break;
		case 'f':
			o.sequential = false;
			break;
		case 'p':
			o.per_path = true;
			break;
		case 's':
			session = optarg;
			break;
		case 'M':
			if (parse_match(optarg, &o.match) < 0)
				return pt_tool_usage_err(
					"cassette serve",
					"--match: unknown field in '%s'",
					optarg);
			break;
		case 'H':
			if (nh == MAX_LIST)
				return pt_tool_usage_err(
					"cassette serve",
					"too many --filter-header");
			headers[nh++] = optarg;
			break;
		case 'I':
			ni = 0;
			for (char *t = optarg, *next; *t; t = next) {
				size_t n = strcspn(t, ",");

				next = t + n + (t[n] == ',');
				t[n] = '\0';
				if (n == 0)
					continue;
				if (ni == MAX_LIST)
					return pt_tool_usage_err(
						"cassette serve",
						"--ignore-headers: too many");
				ignore[ni++] = t;
			}
			ignore[ni] = NULL;
			o.match_ignore_headers = ignore;
			break;
		case 'F': {
			char *eq = strchr(optarg, '=');

			if (!eq || eq == optarg || nf == MAX_LIST)
				return pt_tool_usage_err(
					"cassette serve",
					"--filter wants REGEX=REPLACEMENT");
			*eq = '\0';
			filters[nf].pattern = optarg;
			filters[nf].replacement = eq + 1;
			nf++;
			break;
		}
		case 't':
			po.timeout_ms = strtol(optarg, NULL, 10);
			if (po.timeout_ms <= 0)
				return pt_tool_usage_err(
					"cassette serve",
					"--timeout wants milliseconds > 0");
			break;
		case 1000:
		case 1001:
		case 1002:
		case 1003:
		case 1004:
		case 1005:
		case 1006:
		case 1007: {
			static const unsigned long long hi[] = {
				999,	  SIZE_MAX, 1u << 20, 1u << 30,
				1u << 20, 86400,    SIZE_MAX, 1u << 30,
			};
			unsigned long long v;

			if (parse_num(optarg, opt == 1000 ? 100 : 1,
				      hi[opt - 1000], &v) < 0)
				return pt_tool_usage_err(
					"cassette serve",
					"%s: '%s' is not a number in range",
					longopts[option_index].name, optarg);
			if (opt == 1000)
				po.miss_status = (int)v;
			else if (opt == 1001)
				po.max_body = (size_t)v;
			else if (opt == 1002)
				po.max_headers = (unsigned)v;
			else if (opt == 1003)
				po.max_header_bytes = (size_t)v;
			else if (opt == 1004)
				po.max_connections = (unsigned)v;
			else if (opt == 1005)
				po.idle_timeout_s = (unsigned)v;
			else if (opt == 1006)
				o.max_bytes = (size_t)v;
			else
				o.max_interactions = (size_t)v;
			break;
		}
		case 'P':
			tmpl.preset = optarg;
			use_tmpl = true;
			break;
		case 'T': {
			char *eq = strchr(optarg, '=');

			if (!eq || eq == optarg || tmpl.n_patterns == MAX_LIST)
				return pt_tool_usage_err(
					"cassette serve",
					"--template-pattern wants NAME=REGEX");
			*eq = '\0';
			pats[tmpl.n_patterns].name = optarg;
			pats[tmpl.n_patterns].regex = eq + 1;
			tmpl.n_patterns++;
			use_tmpl = true;
			break;
		}
		case 'K':
			tmpl.allow_key_templates = true;
			break;
		case 'h':
			serve_usage(stdout);
			return PT_EXIT_OK;
		default:
			return pt_tool_usage_err("cassette serve",
						 "unknown option");
		}
	}
	if (optind < argc)
		return pt_tool_usage_err("cassette serve",
					 "unexpected argument '%s'",
					 argv[optind]);
	if (o.per_path && !o.sequential)
		return pt_tool_usage_err("cassette serve",
					 "--per-path and --first-match exclude "
					 "each other");
	if (!path || !mode || !po.upstream)
		return pt_tool_usage_err("cassette serve",
					 "--cassette, --mode and --upstream "
					 "are required");
	if (!strcmp(mode, "record"))
		o.mode = PT_CASSETTE_RECORD;
	else if (!strcmp(mode, "replay"))
		o.mode = PT_CASSETTE_REPLAY;
	else if (!strcmp(mode, "bypass"))
		o.mode = PT_CASSETTE_BYPASS;
	else
		return pt_tool_usage_err("cassette serve",
					 "--mode: '%s' is not record, replay "
					 "or bypass",
					 mode);
	o.filter_request_headers = nh ? headers : NULL;
	o.filters = nf ? filters : NULL;
	o.n_filters = nf;
	tmpl.patterns = pats;
	o.tmpl = use_tmpl ? &tmpl : NULL;

	/* The signals that end serving are taken synchronously. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	if (pt_diags_new(&d) < 0)
		goto out;
	if (session) {
		r = pt_cassette_session_open_shared(session, &s);
		if (r < 0) {
			pt_tool_err("cassette serve", "%s: %s", session,
				    pt_strerror(r));
			ret = exit_for(r);
			goto out;
		}
		o.session = s;
	}
	r = pt_cassette_open(path, &o, d, &c);
	if (r < 0) {
		print_diags(d);
		if (!pt_diags_count(d))
			pt_tool_err("cassette serve", "%s: %s", path,
				    pt_strerror(r));
		/* bad filters or templates are usage errors */
		ret = r == -EINVAL || (r == PT_EPARSE && (nf || use_tmpl) &&
				       pt_diags_count(d) &&
				       pt_diags_get(d, 0)->field &&
				       !strncmp(pt_diags_get(d, 0)->field,
						"filters", 7))
			      ? PT_EXIT_USAGE
			      : exit_for(r);
		goto out;
	}
	r = pt_cassette_proxy_start(c, &po, &p);
	if (r < 0) {
		pt_tool_err("cassette serve", "cannot serve: %s",
			    pt_strerror(r));
		ret = r == -EINVAL ? PT_EXIT_USAGE : PT_EXIT_FAILURES;
		goto out;
	}
	printf("listening on http://127.0.0.1:%d\n", pt_cassette_proxy_port(p));
	fflush(stdout);
	while (sigwait(&set, &sig) != 0)
		;
	ret = PT_EXIT_OK;
out:
	pt_cassette_proxy_stop(p);
	pt_cassette_free(c);
	pt_cassette_session_free(s);
	pt_diags_free(d);
	return ret;
}

static int cmd_show(int argc, char **argv)
{
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct pt_cassette_info in;
	struct pt_cassette *c;
	struct pt_diags *d = NULL;
	size_t n;
	int r;

	if (argc == 2 &&
	    (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: proctor cassette show FILE\n\nLists the "
		       "interactions of a cassette: index, request, status,\n"
		       "response body kind and size, recording time.\n");
		return PT_EXIT_OK;
	}
	if (argc != 2)
		return pt_tool_usage_err("cassette show", "wants one FILE");
	o.mode = PT_CASSETTE_REPLAY;
	if (pt_diags_new(&d) < 0)
		return PT_EXIT_FAILURES;
	r = pt_cassette_open(argv[1], &o, d, &c);
	if (r < 0) {
		print_diags(d);
		pt_diags_free(d);
		return exit_for(r);
	}
	n = pt_cassette_count(c);
	printf("%s: %zu interaction%s\n", argv[1], n, n == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++) {
		if (pt_cassette_info(c, i, &in) < 0)
			continue;
		printf("#%zu %s %s%s%s -> %d %s %zu bytes%s%s\n", i, in.method,
		       in.uri, *in.query_string ? "?" : "", in.query_string,
		       in.status, in.response_body_type, in.response_body_len,
		       *in.recorded_at ? " at " : "", in.recorded_at);
	}
	pt_cassette_free(c);
	pt_diags_free(d);
	return PT_EXIT_OK;
}

int pt_cmd_cassette(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		printf("usage: proctor cassette serve --cassette FILE --mode "
		       "MODE --upstream URL [...]\n"
		       "       proctor cassette show FILE\n\n"
		       "Record/replay cassettes of HTTP interactions "
		       "(ReqCassette 2.0 JSON).\n"
		       "'proctor cassette serve --help' lists the proxy's "
		       "options.\n");
		return argc < 2 ? PT_EXIT_USAGE : PT_EXIT_OK;
	}
	if (!strcmp(argv[1], "serve"))
		return cmd_serve(argc - 1, argv + 1);
	if (!strcmp(argv[1], "show"))
		return cmd_show(argc - 1, argv + 1);
	return pt_tool_usage_err("cassette", "unknown subcommand '%s'",
				 argv[1]);
}
