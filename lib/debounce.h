/* See COPYING for copyright and license details. */
/*
 * debounce: act once a burst of changes has settled. struct debounce is
 * the caller's, plain data (no clock of its own: every call is given the
 * time, util_now_ms), so it is a pure state machine: armed by a change,
 * due QUIET after the last change but never later than CAP after the
 * first, disarmed when it fires or is cancelled.
 */
#ifndef GALLEY_DEBOUNCE_H
#define GALLEY_DEBOUNCE_H

#include <stddef.h>

struct debounce {
	long long quiet_ms;	/* act after this long without a change */
	long long cap_ms;	/* ... but at most this long after the first */
	int armed;		/* a change is waiting */
	long long due;		/* when to act, if armed */
	long long cap_at;	/* the first change + cap_ms */
};

/*
 * Parse "QUIET[,CAP]" (durations as util_duration). Without CAP, the cap
 * is 30 s, or QUIET when longer. Returns 0, or -1 with why in err (not a
 * duration, a cap shorter than the quiet time).
 */
int debounce_parse(const char *s, long long *quiet_ms, long long *cap_ms,
    char *err, size_t errlen);

void debounce_init(struct debounce *d, long long quiet_ms, long long cap_ms);

/* A change at now: arm, or push the due time back (up to the cap). */
void debounce_touch(struct debounce *d, long long now);

/* Nothing to act on any more (the change was undone). */
void debounce_cancel(struct debounce *d);

/* Is it due at now? Then it is disarmed and returns 1, else 0. */
int debounce_fire(struct debounce *d, long long now);

#endif
