/* See COPYING for copyright and license details. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "debounce.h"
#include "util.h"

int
debounce_parse(const char *s, long long *quiet_ms, long long *cap_ms,
    char *err, size_t errlen)
{
	char *q = estrdup(s), *comma = strchr(q, ',');
	int rc = -1;

	if (comma != NULL)
		*comma++ = '\0';
	if (util_duration(q, quiet_ms) < 0 ||
	    (comma != NULL && util_duration(comma, cap_ms) < 0)) {
		snprintf(err, errlen, "expected QUIET[,CAP] durations such as "
		    "2s,30s");
	} else if (comma != NULL && *cap_ms < *quiet_ms) {
		snprintf(err, errlen, "the cap is shorter than the quiet time");
	} else {
		if (comma == NULL)
			*cap_ms = *quiet_ms > 30000 ? *quiet_ms : 30000;
		rc = 0;
	}
	free(q);
	return rc;
}

void
debounce_init(struct debounce *d, long long quiet_ms, long long cap_ms)
{
	d->quiet_ms = quiet_ms;
	d->cap_ms = cap_ms;
	d->armed = 0;
	d->due = d->cap_at = 0;
}

void
debounce_touch(struct debounce *d, long long now)
{
	if (!d->armed)
		d->cap_at = now + d->cap_ms;
	d->armed = 1;
	d->due = now + d->quiet_ms < d->cap_at ? now + d->quiet_ms : d->cap_at;
}

void
debounce_cancel(struct debounce *d)
{
	d->armed = 0;
}

int
debounce_fire(struct debounce *d, long long now)
{
	if (!d->armed || now < d->due)
		return 0;
	debounce_cancel(d);
	return 1;
}
