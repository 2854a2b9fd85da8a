#!/usr/bin/env python3
"""The PlainBox peer of bench-store: PlainBox's own session bookkeeping.

usage: plainbox-store.py DIR N [K]

With PlainBox importable (PYTHONPATH: the checkbox-ng source directory),
this builds a session of N shell jobs (ids and results shaped like
bench-store's) with PlainBox's SessionState and SessionManager, its
storage rooted in DIR (WellKnownDirsHelper's base directory), and times:

1. Per job, what SessionAssistant does around each job, on K jobs
   (default 10) of a session holding N/2 results (the mean session size
   over a run of N jobs): the checkpoint before the job runs (running job
   name and start time set), the checkpoint after it ran, and the result
   (SessionState.update_job_result, then the checkpoint). A checkpoint is
   SessionManager.checkpoint(): SessionSuspendHelper.suspend (whole session
   as gzip'd JSON) + SessionStorage.save_checkpoint (session.next, fsync,
   rename, fsync of the directory); suspend alone is timed too.
2. Resume of a session of 10,000 jobs, all with a result, one in 100 a
   resource job whose io log holds 3 records (as bench-store's resume
   session): SessionManager.load_session with the job units (best of 2),
   and SessionPeekHelper.peek of its checkpoint (best of 3). Resume is
   quadratic upstream: one run, tens of seconds at 10k; bench-store's
   100k-job resume has no peer figure.

The first N/2 results are set on the job states directly (what
update_job_result stores): recording them through update_job_result, with
its readiness recompute, would take PlainBox ~30 minutes at 10k jobs.
Prints one "NAME VALUE" line per figure (times in ms, sizes in bytes).
"""
import gzip
import io
import os
import sys
import time

from plainbox.impl.result import (DiskJobResult, IOLogRecord,
                                  IOLogRecordWriter)
from plainbox.impl.session.manager import SessionManager
from plainbox.impl.session.resume import SessionPeekHelper
from plainbox.impl.session.state import SessionState
from plainbox.impl.session.storage import WellKnownDirsHelper
from plainbox.impl.session.suspend import SessionSuspendHelper
from plainbox.impl.unit.job import JobDefinition

RESOURCE = b"name: eth0\ndriver: e1000e\nstate: up\nspeed: 1000\n\n" * 3


def job_id(i):
    return "com.canonical.certification::job-%06d" % i


def make_jobs(n, resources):
    jobs = []
    for i in range(n):
        res = resources and i % 100 == 0
        data = {"id": job_id(i), "plugin": "resource" if res else "shell",
                "command": "true", "_summary": "job %d" % i}
        jobs.append(JobDefinition(data, origin="units/jobs.pxu:123"))
    return jobs


def write_io_log(path, data):
    """An io log in PlainBox's format (gzip'd JSON lines)."""
    with gzip.open(path, "wb") as g, io.TextIOWrapper(
            g, encoding="UTF-8") as t:
        w = IOLogRecordWriter(t)
        w.write_record(IOLogRecord(0.0, "stdout", data))


def result_for(i, logdir, slug):
    """The result bench-store records for job i, an io log on disk."""
    return DiskJobResult({
        "outcome": "pass" if i % 10 else "fail",
        "comments": None,
        "return_code": 0 if i % 10 else 1,
        "execution_duration": 0.01 * (i % 100),
        "io_log_filename": os.path.join(logdir, slug + ".record.gz"),
    })


def new_session(jobs):
    state = SessionState(jobs)
    state.update_desired_job_list(jobs)
    state.metadata.title = "bench"
    state.metadata.flags = {"incomplete"}
    manager = SessionManager.create_with_state(state)
    return manager, state


def ms_since(t0):
    return (time.perf_counter() - t0) * 1e3


def median(v):
    v = sorted(v)
    return v[len(v) // 2]


def per_job(n, k):
    jobs = make_jobs(n, False)
    manager, state = new_session(jobs)
    logdir = os.path.join(manager.storage.location, "io-logs")
    for i in range(n // 2):
        state.job_state_map[jobs[i].id].result = result_for(
            i, logdir, "job-%06d" % i)
    manager.checkpoint()
    checkpoints, updates, totals = [], [], []
    for i in range(n // 2, n // 2 + k):
        job = jobs[i]
        t0 = time.perf_counter()
        # run_job: before the job runs
        state.metadata.running_job_name = job.id
        state.metadata.last_job_start_time = time.time()
        t = time.perf_counter()
        manager.checkpoint()
        checkpoints.append(ms_since(t))
        # run_job: after it ran
        t = time.perf_counter()
        manager.checkpoint()
        checkpoints.append(ms_since(t))
        # use_job_result
        t = time.perf_counter()
        state.update_job_result(job, result_for(i, logdir, "job-%06d" % i))
        updates.append(ms_since(t))
        t = time.perf_counter()
        manager.checkpoint()
        checkpoints.append(ms_since(t))
        totals.append(ms_since(t0))
    size = os.path.getsize(manager.storage.session_file)
    suspends = []
    for _ in range(3):
        t = time.perf_counter()
        SessionSuspendHelper().suspend(state, manager.storage.location)
        suspends.append(ms_since(t))
    manager.destroy()
    print("job_ms %.3f" % median(totals))
    print("checkpoint_ms %.3f" % median(checkpoints))
    print("suspend_ms %.3f" % median(suspends))
    print("result_update_ms %.3f" % median(updates))
    print("checkpoint_bytes %d" % size)


def resume(n):
    jobs = make_jobs(n, True)
    manager, state = new_session(jobs)
    logdir = os.path.join(manager.storage.location, "io-logs")
    for i, job in enumerate(jobs):
        slug = "job-%06d" % i
        r = result_for(i, logdir, slug)
        if job.plugin == "resource":
            write_io_log(r.io_log_filename, RESOURCE)
        state.job_state_map[job.id].result = r
    state.metadata.running_job_name = jobs[n // 2].id
    manager.checkpoint()
    storage = manager.storage
    t = time.perf_counter()
    again = SessionManager.load_session(jobs, storage)
    best = ms_since(t)
    st = again.state
    with_result = sum(1 for s in st.job_state_map.values()
                      if not s.result.is_hollow)
    if with_result != n or len(st.desired_job_list) != n:
        sys.exit("resume: %d results, %d desired, want %d"
                 % (with_result, len(st.desired_job_list), n))
    peek = None
    for _ in range(3):
        t = time.perf_counter()
        SessionPeekHelper().peek(storage.load_checkpoint())
        ms = ms_since(t)
        peek = ms if peek is None else min(peek, ms)
    print("resume_ms %.1f" % best)
    print("peek_ms %.2f" % peek)
    print("resume_bytes %d" % os.path.getsize(storage.session_file))
    manager.destroy()


def main():
    base, n = sys.argv[1], int(sys.argv[2])
    k = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    WellKnownDirsHelper.base_of_everything = os.path.abspath(base)
    per_job(n, min(k, n - n // 2))
    resume(10000)


if __name__ == "__main__":
    main()
