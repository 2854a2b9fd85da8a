/*
 * bench/bench-chaos.c - the cost of `proctor run --chaos` for the calls
 * of a program (docs/chaos.md, "Cost"): chaos-calls run without the
 * runtime (the peer), with it preloaded but inert, under a chaos plan
 * without a rule for the calls measured, and with a malloc rule at a rate
 * that never fires (1e-9) and a clock fault (clock:fast:1, which changes
 * nothing but is applied). ns per malloc+free pair, per write(2), per
 * clock_gettime. Prints "metric NAME VALUE UNIT" lines.
 */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int measure(const char *preload, const char *block, double out[3])
{
	static char prog[] = CHAOS_CALLS;
	char *argv[] = { prog, NULL }, *envp[3];
	char ld[1024], bl[512], path[] = "/tmp/bench-chaos-XXXXXX";
	posix_spawn_file_actions_t fa;
	int n = 0, fd = mkstemp(path), st;
	pid_t pid;
	FILE *f;

	if (fd < 0)
		return -1;
	unlink(path);
	if (preload) {
		snprintf(ld, sizeof(ld), "LD_PRELOAD=%s", preload);
		envp[n++] = ld;
	}
	if (block) {
		snprintf(bl, sizeof(bl), "PROCTOR_PRELOAD=%s", block);
		envp[n++] = bl;
	}
	envp[n] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd, 1);
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, envp) != 0 ||
	    waitpid(pid, &st, 0) != pid || st != 0) {
		posix_spawn_file_actions_destroy(&fa);
		close(fd);
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	f = fdopen(fd, "r");
	rewind(f);
	n = fscanf(f, "%lf %lf %lf", &out[0], &out[1], &out[2]);
	fclose(f);
	return n == 3 ? 0 : -1;
}

int main(void)
{
	static const struct {
		const char *name, *block;
		int preload;
	} cfg[] = {
		{ "none", NULL, 0 },
		{ "inert", NULL, 1 },
		{ "chaos_no_rule", "mode=chaos,seed=1,spec=fsync:EIO:1e-9", 1 },
		{ "chaos_rule",
		  "mode=chaos,seed=1,spec=malloc:ENOMEM:1e-9;"
		  "write:EIO:1e-9;clock:fast:1",
		  1 },
	};
	double base[3] = { 0, 0, 0 };

	for (size_t i = 0; i < sizeof(cfg) / sizeof(cfg[0]); i++) {
		double v[3];

		if (measure(cfg[i].preload ? LS_RT : NULL, cfg[i].block, v) <
		    0) {
			fprintf(stderr, "bench-chaos: %s: the program failed\n",
				cfg[i].name);
			return 1;
		}
		if (i == 0)
			memcpy(base, v, sizeof(base));
		printf("metric chaos_%s_malloc_free %.1f ns\n"
		       "metric chaos_%s_write %.1f ns\n"
		       "metric chaos_%s_clock_gettime %.1f ns\n",
		       cfg[i].name, v[0], cfg[i].name, v[1], cfg[i].name, v[2]);
		if (i)
			printf("metric ratio_chaos_%s_malloc_free %.2f x\n",
			       cfg[i].name, v[0] / base[0]);
	}
	return 0;
}
