/*
 * proctor/proctor.h - the whole public API of libproctor.
 * Each part has its own header; including this one is always enough.
 */
#ifndef PROCTOR_PROCTOR_H
#define PROCTOR_PROCTOR_H

#include <proctor/common.h>
#include <proctor/result.h>

#if __has_include(<proctor/unit.h>)
# include <proctor/unit.h>
#endif
#if __has_include(<proctor/launcher.h>)
# include <proctor/launcher.h>
#endif
#if __has_include(<proctor/session.h>)
# include <proctor/session.h>
#endif
#if __has_include(<proctor/store.h>)
# include <proctor/store.h>
#endif
#if __has_include(<proctor/runner.h>)
# include <proctor/runner.h>
#endif
#if __has_include(<proctor/executor.h>)
# include <proctor/executor.h>
#endif
#if __has_include(<proctor/submission.h>)
# include <proctor/submission.h>
#endif
#if __has_include(<proctor/slurm.h>)
# include <proctor/slurm.h>
#endif
#if __has_include(<proctor/report.h>)
# include <proctor/report.h>
#endif
#if __has_include(<proctor/run.h>)
# include <proctor/run.h>
#endif
#if __has_include(<proctor/mux.h>)
# include <proctor/mux.h>
#endif
#if __has_include(<proctor/cassette.h>)
# include <proctor/cassette.h>
#endif
#if __has_include(<proctor/lockstep.h>)
# include <proctor/lockstep.h>
#endif

#endif
