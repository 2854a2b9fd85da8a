/*
 * proctor/submission.h - Checkbox's submission artefacts, as checkbox-cli
 * writes them from a session: submission.json (the keys and value
 * formats of checkbox-ng's json exporter), submission.junit,
 * submission.html, and the submission tarball (`.tar.xz`) holding those
 * three plus test_output/ and attachment_files/ (each job's stdout and
 * stderr as separate files, named after the job id as PlainBox slugifies
 * it). What differs from checkbox-cli is listed in docs/checkbox.md.
 */
#ifndef PROCTOR_SUBMISSION_H
#define PROCTOR_SUBMISSION_H

#include <proctor/common.h>
#include <proctor/session.h>
#include <proctor/unit.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What the artefacts are made from. Everything is borrowed. */
struct pt_submission {
	const struct pt_session *session; /* jobs, results, resources,
					     metadata, effective fields */
	const struct pt_units *units;	  /* category names; NULL: none */
	const char *session_dir;	  /* results' io logs are relative
					     to it */
	const char *title;		  /* NULL: the session's title */
	const char *testplan_id;	  /* NULL: none */
	const char *description;	  /* NULL: none */
	const char *launcher_text;	  /* the launcher file; NULL: none */
	int64_t mtime; /* seconds since the epoch: the tarball's members */
};

/* Bytes of a job's output put in one report field (the io_log texts). */
#define PT_SUBMISSION_TEXT_MAX ((size_t)64 << 20)

/* Each renders into a NUL-terminated heap string (free with pt_free()).
 * 0, -EINVAL or -ENOMEM. */
PT_API int pt_submission_json(const struct pt_submission *s, char **ret,
			      size_t *ret_len);
PT_API int pt_submission_junit(const struct pt_submission *s, char **ret,
			       size_t *ret_len);
PT_API int pt_submission_html(const struct pt_submission *s, char **ret,
			      size_t *ret_len);

/*
 * Writes the tarball (tar, xz-compressed like Python's "w:xz": preset 6,
 * CRC64) to path atomically: nothing is left at path when it fails.
 * 0, -EINVAL, -ENOMEM, or the error of reading an io log (PT_ECORRUPT)
 * or writing the file (-errno).
 */
PT_API int pt_submission_write(const struct pt_submission *s, const char *path);

#ifdef __cplusplus
}
#endif

#endif
