tests/unit/proc.t: tests/unit/proc.c lib/proc.h lib/buf.h \
 tests/unit/tap.h lib/util.h lib/log.h
lib/proc.h:
lib/buf.h:
tests/unit/tap.h:
lib/util.h:
lib/log.h:
