tests/unit/tmpl.t: tests/unit/tmpl.c lib/json.h lib/buf.h \
 tests/unit/tap.h lib/tmpl.h
lib/json.h:
lib/buf.h:
tests/unit/tap.h:
lib/tmpl.h:
