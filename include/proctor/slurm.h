/*
 * proctor/slurm.h - the Slurm executor: a session's jobs as batch jobs of
 * a Slurm cluster (docs/slurm.md), behind the executor seam
 * (proctor/executor.h).
 */
#ifndef PROCTOR_SLURM_H
#define PROCTOR_SLURM_H

#include <proctor/common.h>
#include <proctor/executor.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The Slurm executor (PT_EXEC_PERSISTENT): each job is submitted with
 * sbatch under a batch wrapper that makes its temporary directory and
 * port block on the node, enforces its timeout and writes how it ended
 * into the job's directory; squeue tells the rest (time limit,
 * cancellation, node failure); scancel cancels. At most cfg->jobs are in
 * Slurm at once. A job's handle ("<slurm id> <dir name>", or "? <dir
 * name>" while it is being submitted) is saved before sbatch runs and
 * again with the id, so a run that crashed re-attaches instead of
 * running it twice.
 *
 * Options (struct pt_exec_config.options):
 *   partition=NAME  the partition (default: the cluster's default)
 *   dir=PATH        where job directories go (wrapper, spec, output,
 *                   status); must be visible at the same path on the
 *                   nodes. Default: $TMPDIR or /tmp + /proctor-slurm-<session>
 *   poll_ms=N       squeue interval (default 500)
 */
PT_API const struct pt_executor_ops *pt_executor_slurm(void);

#ifdef __cplusplus
}
#endif

#endif
