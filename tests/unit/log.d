tests/unit/log.t: tests/unit/log.c lib/log.h tests/unit/tap.h lib/util.h \
 lib/log.h
lib/log.h:
tests/unit/tap.h:
lib/util.h:
lib/log.h:
