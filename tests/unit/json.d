tests/unit/json.t: tests/unit/json.c lib/json.h lib/buf.h \
 tests/unit/tap.h
lib/json.h:
lib/buf.h:
tests/unit/tap.h:
