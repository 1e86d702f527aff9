/* See COPYING for copyright and license details. */
/*
 * lock: flock(2) with a deadline. The fd returned by lock_path() is the
 * caller's (close-on-exec, so never inherited by commands we run); closing
 * it releases the lock.
 */
#ifndef GALLEY_LOCK_H
#define GALLEY_LOCK_H

/*
 * Take an exclusive lock on fd, waiting at most timeout_ms (< 0: forever).
 * Returns 0, or -1 with errno EWOULDBLOCK when the deadline passed.
 */
int lock_fd(int fd, long long timeout_ms);

/*
 * Open (creating, mode 0600) and lock path. Returns the fd, or -1 with
 * errno set (EWOULDBLOCK: still held by someone else at the deadline).
 */
int lock_path(const char *path, long long timeout_ms);

#endif
