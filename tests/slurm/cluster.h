/*
 * tests/slurm/cluster.h - the one-node cluster the `slurm` suite runs
 * against (scripts/slurm-cluster.sh starts it; CI does). Tests that need
 * it skip, saying why, when it does not answer.
 */
#ifndef PT_TESTS_SLURM_CLUSTER_H
#define PT_TESTS_SLURM_CLUSTER_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "os/proc.h"

#include "tap.h"

#define PT_SLURM_DEFAULT_CONF "/var/tmp/proctor-slurm/slurm.conf"

/* Skips the test unless `scontrol ping` answers within 10 s. */
static inline void need_cluster(void)
{
	static const char *const argv[] = { "scontrol", "ping", NULL };
	char *out = NULL, *err = NULL;
	struct stat st;
	int status = 0;
	bool up;

	if (!getenv("SLURM_CONF") && stat(PT_SLURM_DEFAULT_CONF, &st) == 0)
		setenv("SLURM_CONF", PT_SLURM_DEFAULT_CONF, 1);
	up = pt__run_capture(argv, NULL, 4096, 10000, &status, &out, &err,
			     NULL) == 0 &&
	     strstr(out, "is UP");
	pt__free(out);
	pt__free(err);
	if (!up)
		pt_test_skip("no Slurm cluster answers scontrol ping (start "
			     "one: sh scripts/slurm-cluster.sh start)");
}

#endif
