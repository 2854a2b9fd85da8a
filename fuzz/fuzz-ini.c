/*
 * fuzz-ini - the INI reader of launchers and .provider files
 * (src/base/ini.c) and the launcher reader on top of it
 * (src/unit/launcher.c): no crash, no over-read, bounded memory; what
 * the INI reader accepts finds each of its keys again, and every value
 * stays within the limit; an accepted launcher has resolved reports.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/ini.h"

#include <proctor/launcher.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pt__ini *ini = NULL;
	struct pt_diags *d = NULL;

	if (pt_diags_new(&d) < 0)
		return 0;
	if (pt__ini_parse((const char *)data, size, "fuzz", NULL, d, &ini) ==
	    0) {
		for (size_t i = 0; i < pt__ini_count(ini); i++) {
			const struct pt__ini_entry *e = pt__ini_get(ini, i);
			if (!e || !e->section || e->line == 0)
				abort();
			if (e->key &&
			    (!e->value || strlen(e->value) > PT_INI_MAX_VALUE ||
			     pt__ini_find(ini, e->section, e->key) != e))
				abort();
		}
		if (pt_diags_count(d))
			abort();
		pt__ini_free(ini);
	} else if (ini || !pt_diags_count(d)) {
		abort();
	}
	pt_diags_free(d);
	if (pt_diags_new(&d) < 0)
		return 0;
	{
		struct pt_launcher *l = NULL;
		int rc = pt_launcher_parse((const char *)data, size, "fuzz", d,
					   &l);
		if (rc == 0) {
			for (size_t i = 0; i < l->n_reports; i++)
				if (!l->reports[i].exporter ||
				    !l->reports[i].transport_type)
					abort();
			pt_launcher_free(l);
		} else if (l || (rc == PT_EPARSE && !pt_diags_count(d))) {
			abort();
		}
	}
	pt_diags_free(d);
	return 0;
}
