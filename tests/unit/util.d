tests/unit/util.t: tests/unit/util.c lib/buf.h tests/unit/tap.h \
 lib/util.h lib/log.h
lib/buf.h:
tests/unit/tap.h:
lib/util.h:
lib/log.h:
