# See COPYING for copyright and license details.
"""ACL tokens with key_prefix rules (consul.md §1.3, §1.8; acl/errors.go).

--token SECRET:POLICY, POLICY a comma-separated list of rules:
  read:PREFIX, write:PREFIX, deny:PREFIX   key_prefix "PREFIX" { policy = ... }
  read, write, deny                       the same for the prefix "" (every key)
  management                              everything (global-management)
The longest matching prefix decides; a key no rule matches gets the
default policy (--acl-default: allow = write, deny = nothing). The secret
"anonymous" names the anonymous token (used when a request has none)."""
import uuid

from .gocompat import go_quote

ANONYMOUS_ACCESSOR = "00000000-0000-0000-0000-000000000002"
LEVELS = {"deny": 0, "read": 1, "write": 2}


class AclError(Exception):
    """A 403 from Consul: str() is the body."""


class Token:
    def __init__(self, secret, rules, management=False):
        self.secret = secret
        self.rules = rules                  # list of (prefix, level)
        self.management = management
        self.anonymous = secret == "anonymous"
        self.accessor = ANONYMOUS_ACCESSOR if self.anonymous else \
            str(uuid.uuid5(uuid.NAMESPACE_URL, "galley-consul-emulator:" + secret))


def parse_policy(text):
    """(rules, management) or ValueError."""
    rules, management = [], False
    for part in text.split(","):
        part = part.strip()
        if part == "management":
            management = True
            continue
        level, sep, prefix = part.partition(":")
        if level not in LEVELS:
            raise ValueError("bad rule %r: want read|write|deny[:PREFIX] or management" % part)
        rules.append((prefix if sep else "", LEVELS[level]))
    return rules, management


class Acl:
    def __init__(self, default=None, tokens=()):
        self.enabled = default is not None or bool(tokens)
        self.default = default or "allow"
        self.tokens = {}
        for spec in tokens:
            secret, sep, policy = spec.partition(":")
            if not secret or not sep:
                raise ValueError("--token wants SECRET:POLICY, got %r" % spec)
            rules, management = parse_policy(policy)
            self.tokens[secret] = Token(secret, rules, management)
        self.tokens.setdefault("anonymous", Token("anonymous", []))

    def resolve(self, secret):
        """The token for a request (None: ACLs are off). Unknown: 403."""
        if not self.enabled:
            return None
        token = self.tokens.get(secret or "anonymous")
        if token is None:
            raise AclError("ACL not found")
        return token

    def _level(self, token, key):
        if token.management:
            return LEVELS["write"]
        best = None
        for prefix, level in token.rules:
            if key.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
                best = (prefix, level)
        if best is not None:
            return best[1]
        return LEVELS["write"] if self.default == "allow" else LEVELS["deny"]

    def can_read(self, token, key):
        return token is None or self._level(token, key) >= LEVELS["read"]

    def can_write(self, token, key):
        return token is None or self._level(token, key) >= LEVELS["write"]

    def can_write_prefix(self, token, prefix):
        """KeyWritePrefix: write on the prefix and no weaker rule below it."""
        if token is None or token.management:
            return True
        if any(p.startswith(prefix) and level < LEVELS["write"] for p, level in token.rules):
            return False
        return self._level(token, prefix) >= LEVELS["write"]

    @staticmethod
    def denied(token, access, key):
        """PermissionDeniedError text of Consul >= 1.12."""
        who = "anonymous token" if token.anonymous else \
            "token with AccessorID '%s'" % token.accessor
        text = "Permission denied: %s lacks permission 'key:%s' on %s" % (
            who, access, go_quote(key))
        if token.anonymous:
            text += ". The anonymous token is used implicitly when a request does not " \
                    "specify a token."
        return AclError(text)
