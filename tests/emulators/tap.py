# See COPYING for copyright and license details.
"""Run unittest cases and print TAP (for prove).

Usage, at the end of a test script:

    if __name__ == "__main__":
        tap.main()

Each test method is one TAP line; a skipped test is "ok N # SKIP reason",
never a silent pass. Failures print the traceback as TAP diagnostics, on
standard error like Test::More's diag, so that prove shows them without -v.
"""
import sys
import unittest


class _TapResult(unittest.TestResult):
    def __init__(self):
        super().__init__()
        self.n = 0

    def _line(self, ok, test, extra=""):
        self.n += 1
        name = test.id().split(".", 1)[-1]
        print("%s %d - %s%s" % ("ok" if ok else "not ok", self.n, name, extra),
              flush=True)

    def addSuccess(self, test):
        super().addSuccess(test)
        self._line(True, test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line(False, test)
        self._diag(self.failures[-1][1])

    def addError(self, test, err):
        super().addError(test, err)
        self._line(False, test)
        self._diag(self.errors[-1][1])

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._line(True, test, " # SKIP %s" % reason)

    @staticmethod
    def _diag(text):
        for line in text.rstrip().splitlines():
            print("# " + line, file=sys.stderr, flush=True)


def main(module="__main__"):
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[module])
    print("1..%d" % suite.countTestCases(), flush=True)
    result = _TapResult()
    suite.run(result)
    sys.exit(0 if result.wasSuccessful() else 1)
