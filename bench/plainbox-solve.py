#!/usr/bin/env python3
"""The PlainBox peer of bench-solve, run on the same synthetic plan.

usage: plainbox-solve.py PLAN.pxu DESIRED.txt [REPS]

PLAN.pxu is the plan bench-solve generated (RFC822 job units), DESIRED.txt
its desired job ids, one per line, in order. With PlainBox importable
(PYTHONPATH: the checkbox-ng source directory), this loads the units with
PlainBox's own RFC822 reader into JobDefinitions and times, best of REPS
(default 3): SessionState(jobs), update_desired_job_list(desired) (which
solves), DependencySolver.resolve_dependencies alone, and the mean of
update_job_result over the first 20 jobs of the run list. Prints one
"NAME VALUE" line per figure (ms, result update in us).
"""
import sys
import time

from plainbox.impl.depmgr import DependencySolver
from plainbox.impl.result import MemoryJobResult
from plainbox.impl.secure.rfc822 import load_rfc822_records
from plainbox.impl.session.state import SessionState
from plainbox.impl.unit.job import JobDefinition


def main():
    pxu, desired_path = sys.argv[1], sys.argv[2]
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    with open(pxu, encoding="utf-8") as f:
        records = load_rfc822_records(f, source=pxu)
    t = time.perf_counter()
    jobs = [JobDefinition(r.data, origin=r.origin, raw_data=r.raw_data)
            for r in records]
    parse_ms = (time.perf_counter() - t) * 1e3
    by_id = {j.id: j for j in jobs}
    with open(desired_path, encoding="utf-8") as f:
        desired = [by_id[line.strip()] for line in f if line.strip()]
    best = {}

    def keep(name, ms):
        best[name] = min(best.get(name, ms), ms)

    for _ in range(reps):
        t = time.perf_counter()
        state = SessionState(jobs)
        keep("state_ms", (time.perf_counter() - t) * 1e3)
        t = time.perf_counter()
        state.update_desired_job_list(desired)
        keep("update_desired_ms", (time.perf_counter() - t) * 1e3)
        t = time.perf_counter()
        DependencySolver.resolve_dependencies(jobs, desired)
        keep("solve_ms", (time.perf_counter() - t) * 1e3)
        run = state.run_list[:20]
        t = time.perf_counter()
        for job in run:
            state.update_job_result(job, MemoryJobResult({"outcome": "pass"}))
        keep("result_update_us",
             (time.perf_counter() - t) * 1e6 / max(1, len(run)))
    print("jobs", len(jobs))
    print("run_list", len(state.run_list))
    print("parse_ms %.1f" % parse_ms)
    for name in ("state_ms", "update_desired_ms", "solve_ms",
                 "result_update_us"):
        print("%s %.1f" % (name, best[name]))


if __name__ == "__main__":
    main()
