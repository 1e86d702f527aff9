# See COPYING for copyright and license details.
"""What Consul's HTTP layer inherits from Go: time.ParseDuration,
strconv.ParseUint, url.ParseQuery and Values.Encode, encoding/json output,
net/http's path cleaning and header canonicalisation."""
import json
import posixpath
import re
from urllib.parse import quote, unquote_to_bytes

UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3,
         "s": 1.0, "m": 60.0, "h": 3600.0}
_DUR_PART = re.compile(r"([0-9]*)(?:\.([0-9]*))?([^0-9.]+)")


def parse_duration(text):
    """Seconds as Go's time.ParseDuration, or ValueError ("10s", "1m30s",
    "1.5h", "-2s", "0"; a bare number other than 0 needs a unit)."""
    s = text
    sign = 1.0
    if s[:1] in ("-", "+"):
        sign = -1.0 if s[0] == "-" else 1.0
        s = s[1:]
    if s == "0":
        return 0.0
    if not s:
        raise ValueError("invalid duration %r" % text)
    total = 0.0
    while s:
        m = _DUR_PART.match(s)
        if not m or (not m.group(1) and not m.group(2)):
            raise ValueError("invalid duration %r" % text)
        unit = m.group(3)
        # the unit runs up to the next digit or dot
        if unit not in UNITS:
            raise ValueError("unknown unit %r in duration %r" % (unit, text))
        value = float((m.group(1) or "0") + "." + (m.group(2) or "0"))
        total += value * UNITS[unit]
        s = s[m.end():]
    if total > 9223372036.854775807:
        raise ValueError("invalid duration %r" % text)
    return sign * total


def parse_uint(text):
    """strconv.ParseUint(text, 10, 64); ValueError carries Go's message."""
    if not re.fullmatch(r"[0-9]+", text):
        raise ValueError('strconv.ParseUint: parsing %s: invalid syntax' % go_quote(text))
    value = int(text)
    if value >= 1 << 64:
        raise ValueError('strconv.ParseUint: parsing %s: value out of range'
                         % go_quote(text))
    return value


def go_quote(text):
    """strconv.Quote / %q, close enough for keys and numbers."""
    out = ['"']
    for ch in text:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif 0xDC80 <= o <= 0xDCFF:             # an undecodable byte
            out.append("\\x%02x" % (o - 0xDC00))
        elif o < 0x20 or o == 0x7F:
            out.append("\\x%02x" % o)
        elif not ch.isprintable():
            out.append("\\u%04x" % o if o <= 0xFFFF else "\\U%08x" % o)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def decode_bytes(raw):
    """Bytes from the wire to str; undecodable bytes survive (surrogateescape)."""
    return raw.decode("utf-8", "surrogateescape")


def encode_str(text):
    return text.encode("utf-8", "surrogateescape")


def path_from_target(target):
    """(decoded path, raw query) of a request target, as Go's url.Parse."""
    path, _, query = target.partition("?")
    path = path.split("#", 1)[0]
    return decode_bytes(unquote_to_bytes(path)), query


def parse_query(raw):
    """Go's url.ParseQuery: (dict of lists in first-seen order, error or None).
    Go stops at nothing: it keeps the good pairs and reports the first error."""
    values = {}
    err = None
    for part in raw.split("&"):
        if not part:
            continue
        if ";" in part:
            err = err or "invalid semicolon separator in query"
            continue
        key, _, value = part.partition("=")
        try:
            key = _query_unescape(key)
            value = _query_unescape(value)
        except ValueError as e:
            err = err or str(e)
            continue
        values.setdefault(key, []).append(value)
    return values, err


def _query_unescape(s):
    if re.search(r"%(?![0-9A-Fa-f]{2})", s):
        raise ValueError("invalid URL escape %s" % go_quote(s[s.index("%"):s.index("%") + 3]))
    return decode_bytes(unquote_to_bytes(s.replace("+", " ")))


def values_encode(values):
    """url.Values.Encode(): keys sorted, QueryEscape'd."""
    parts = []
    for key in sorted(values, key=encode_str):
        for v in values[key]:
            parts.append("%s=%s" % (quote(encode_str(key), safe="-_.~").replace("%20", "+"),
                                    quote(encode_str(v), safe="-_.~").replace("%20", "+")))
    return "&".join(parts)


def clean_path(path):
    """net/http's cleanPath (the ServeMux redirects when it changes a path)."""
    if not path:
        return "/"
    if path[0] != "/":
        path = "/" + path
    cleaned = posixpath.normpath(path)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    if path.endswith("/") and cleaned != "/":
        cleaned += "/"
    return cleaned


def printable(path):
    """cleanhttp.PrintablePathCheckHandler: unicode.IsPrint on every rune
    (an undecodable byte is U+FFFD to Go, which is printable)."""
    for ch in path:
        if 0xDC80 <= ord(ch) <= 0xDCFF:
            continue
        if ch == " ":
            continue
        if not ch.isprintable():
            return False
    return True


_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
               "\u2028": "\\u2028", "\u2029": "\\u2029"}
_GO_ESCAPE_RE = re.compile("[<>&\u2028\u2029]")


def _go_str(obj):
    if isinstance(obj, str):
        # Go writes invalid UTF-8 as U+FFFD
        return re.sub("[\udc80-\udcff]", "\ufffd", obj)
    if isinstance(obj, list):
        return [_go_str(v) for v in obj]
    if isinstance(obj, dict):
        return {_go_str(k): _go_str(v) for k, v in obj.items()}
    return obj


def marshal(obj, pretty=False):
    """encoding/json: compact (or MarshalIndent with 4 spaces and a
    newline), HTML-safe escapes, raw UTF-8."""
    obj = _go_str(obj)
    if pretty:
        text = json.dumps(obj, ensure_ascii=False, indent=4, separators=(",", ": ")) + "\n"
    else:
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    text = _GO_ESCAPE_RE.sub(lambda m: _GO_ESCAPES[m.group(0)], text)
    return text.encode("utf-8")
