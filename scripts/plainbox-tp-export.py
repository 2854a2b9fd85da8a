#!/usr/bin/env python3
"""Run lists of `checkbox-cli tp-export PLAN`, computed by PlainBox itself.

For each test plan id read on stdin, one line on stdout: by default JSON
{"plan": ID, "run_list": [...]} (or {"plan": ID, "error": ...}); with
--tsv the reference format of tests/session/data/tp-export.tsv:
"PLAN<TAB>JOBS<TAB>sha256 of the run list, one id per line".

Options:
  --sorted  visit each job's dependencies by (id, type name), the order
            proctor uses (PlainBox's own order follows Python's set
            iteration, which depends on PYTHONHASHSEED)
  --nofake  run the bootstrap jobs for real (tp-export --nofake)

Needs PlainBox importable and the providers on PROVIDERPATH (see
docs/checkbox.md, "PlainBox side by side"). Each plan runs in a fresh
SessionAssistant, as checkbox-cli does; the session directory is removed.
"""
import contextlib
import functools
import hashlib
import io
import json
import logging
import shutil
import sys

logging.disable(logging.CRITICAL)

from plainbox.impl.execution import FakeJobRunner  # noqa: E402
from plainbox.impl.session.assistant import SessionAssistant  # noqa: E402
import plainbox.impl.session.assistant as _assistant  # noqa: E402

# Loading the providers once is enough for every plan.
_assistant.get_providers = functools.lru_cache(maxsize=None)(
    _assistant.get_providers
)

if "--sorted" in sys.argv:
    from plainbox.impl.ctrl import CheckBoxSessionStateController as _Ctrl

    _orig = _Ctrl.get_dependency_set

    def _sorted(self, job, *args, **kwargs):
        deps = _orig(self, job, *args, **kwargs)
        return sorted(deps, key=lambda p: (p[1], p[0].value))

    _Ctrl.get_dependency_set = _sorted

fake = "--nofake" not in sys.argv
tsv = "--tsv" in sys.argv

for line in sys.stdin:
    tp = line.strip()
    if not tp or tp.startswith("#"):
        continue
    out = {"plan": tp}
    try:
        quiet = io.StringIO()
        with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(
            quiet
        ):
            sa = SessionAssistant()
            if fake:
                sa.start_new_session("tp-export-ephemeral", FakeJobRunner)
                sa._context.state._fake_resources = True
            else:
                sa.start_new_session("tp-export-ephemeral")
            sa.select_test_plan(tp)
            sa.bootstrap()
            out["run_list"] = [j.id for j in sa._context.state.run_list]
            location = sa._manager.storage.location
        shutil.rmtree(location, ignore_errors=True)
    except BaseException as e:  # a plan PlainBox cannot plan
        out["error"] = "%s: %s" % (type(e).__name__, e)
    if tsv:
        ids = out.get("run_list")
        if ids is None:
            print("%s\t0\tERROR %s" % (tp, out["error"]), flush=True)
        else:
            digest = hashlib.sha256("\n".join(ids).encode()).hexdigest()
            print("%s\t%d\t%s" % (tp, len(ids), digest), flush=True)
    else:
        print(json.dumps(out), flush=True)
