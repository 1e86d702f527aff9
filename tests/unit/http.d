tests/unit/http.t: tests/unit/http.c lib/http.h lib/buf.h lib/proc.h \
 tests/unit/tap.h lib/util.h lib/log.h
lib/http.h:
lib/buf.h:
lib/proc.h:
tests/unit/tap.h:
lib/util.h:
lib/log.h:
