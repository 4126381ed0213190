"""A small, strict CBOR codec (RFC 8949) for the Smithy RPC v2 CBOR protocol (standard library only).

`decode(data)` reads exactly one data item and refuses trailing bytes, reserved or malformed
heads, a break outside an indefinite-length item, indefinite-length string chunks of another
type, invalid UTF-8, duplicate map keys, unknown simple values and tags other than 1 (epoch
timestamps, decoded as `Timestamp`), 2 and 3 (bignums, decoded as int). Maps, arrays and
strings may be definite or indefinite length (the AWS SDK for Rust writes maps as indefinite).

`encode(value, indefinite_maps=False)` writes None, bool, int (shortest head), float (always
a 64-bit double), str, bytes, list/tuple, dict and `Timestamp` (tag 1 over a double).
`to_json(value)` turns a decoded value into JSON-friendly data (timestamps as epoch seconds,
bytes as base64) for the emulator's request log.
"""

import base64
import math
import struct

MAX_DEPTH = 64


class CborError(ValueError):
    """Malformed or unsupported CBOR."""


class Timestamp:
    """A tag 1 epoch-seconds timestamp."""

    __slots__ = ("seconds",)

    def __init__(self, seconds):
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds):
            raise CborError(f"a timestamp must be a finite number of seconds: {seconds!r}")
        self.seconds = seconds

    def __eq__(self, other):
        return isinstance(other, Timestamp) and other.seconds == self.seconds

    def __hash__(self):
        return hash(("ts", self.seconds))

    def __repr__(self):
        return f"Timestamp({self.seconds!r})"


_BREAK = object()


class _Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise CborError(f"truncated CBOR at byte {self.pos}")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def head(self):
        """(major type, additional info, argument or None for indefinite)."""
        b = self.take(1)[0]
        major, info = b >> 5, b & 0x1F
        if info < 24:
            return major, info, info
        if info in (24, 25, 26, 27):
            return major, info, int.from_bytes(self.take(1 << (info - 24)), "big")
        if info == 31:
            if major in (0, 1, 6):
                raise CborError(f"indefinite length is not allowed for major type {major}")
            return major, info, None
        raise CborError(f"reserved additional information {info} at byte {self.pos - 1}")

    def item(self, depth=0, allow_break=False):
        if depth > MAX_DEPTH:
            raise CborError("CBOR nesting is too deep")
        start = self.pos
        major, info, arg = self.head()
        if major == 0:
            return arg
        if major == 1:
            return -1 - arg
        if major in (2, 3):
            if arg is None:
                chunks = []
                while True:
                    chunk_start = self.pos
                    if self.data[self.pos:self.pos + 1] == b"\xff":
                        self.pos += 1
                        break
                    m, _, n = self.head()
                    if m != major or n is None:
                        raise CborError(f"bad chunk in an indefinite-length string at byte {chunk_start}")
                    chunks.append(self.take(n))
                raw = b"".join(chunks)
            else:
                raw = self.take(arg)
            if major == 2:
                return bytes(raw)
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                raise CborError(f"invalid UTF-8 in a text string at byte {start}") from None
        if major == 4:
            out = []
            while arg is None or len(out) < arg:
                value = self.item(depth + 1, allow_break=arg is None)
                if value is _BREAK:
                    break
                out.append(value)
            return out
        if major == 5:
            out = {}
            while arg is None or len(out) < arg:
                key = self.item(depth + 1, allow_break=arg is None)
                if key is _BREAK:
                    break
                if isinstance(key, (list, dict)):
                    raise CborError(f"a map key must be a scalar at byte {start}")
                value = self.item(depth + 1)
                if value is _BREAK:
                    raise CborError("a map key without a value")
                if key in out:
                    raise CborError(f"duplicate map key {key!r}")
                out[key] = value
            return out
        if major == 6:
            value = self.item(depth + 1)
            if arg == 1:
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise CborError("tag 1 must wrap an integer or a float")
                return Timestamp(value)
            if arg in (2, 3) and isinstance(value, bytes):
                n = int.from_bytes(value, "big")
                return n if arg == 2 else -1 - n
            raise CborError(f"unsupported CBOR tag {arg}")
        # major 7
        if info == 31:
            if not allow_break:
                raise CborError(f"unexpected break at byte {start}")
            return _BREAK
        if info == 20:
            return False
        if info == 21:
            return True
        if info == 22:
            return None
        if info == 25:
            return struct.unpack(">e", arg.to_bytes(2, "big"))[0]
        if info == 26:
            return struct.unpack(">f", arg.to_bytes(4, "big"))[0]
        if info == 27:
            return struct.unpack(">d", arg.to_bytes(8, "big"))[0]
        raise CborError(f"unsupported simple value {arg} at byte {start}")


def decode(data):
    """The one data item `data` holds (bytes)."""
    r = _Reader(bytes(data))
    if not r.data:
        raise CborError("empty CBOR input")
    value = r.item()
    if r.pos != len(r.data):
        raise CborError(f"trailing bytes after the CBOR item at byte {r.pos}")
    return value


def _head(major, n):
    if n < 24:
        return bytes([(major << 5) | n])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * size):
            return bytes([(major << 5) | info]) + n.to_bytes(size, "big")
    raise CborError(f"integer too large for CBOR: {n}")


def encode(value, indefinite_maps=False):
    out = bytearray()
    _encode(value, out, indefinite_maps)
    return bytes(out)


def _encode(v, out, indef):
    if v is None:
        out.append(0xF6)
    elif v is True:
        out.append(0xF5)
    elif v is False:
        out.append(0xF4)
    elif isinstance(v, int):
        out += _head(0, v) if v >= 0 else _head(1, -1 - v)
    elif isinstance(v, float):
        out += b"\xfb" + struct.pack(">d", v)
    elif isinstance(v, Timestamp):
        out += b"\xc1"
        _encode(float(v.seconds), out, indef)
    elif isinstance(v, str):
        raw = v.encode("utf-8")
        out += _head(3, len(raw)) + raw
    elif isinstance(v, (bytes, bytearray)):
        out += _head(2, len(v)) + bytes(v)
    elif isinstance(v, (list, tuple)):
        out += _head(4, len(v))
        for x in v:
            _encode(x, out, indef)
    elif isinstance(v, dict):
        out += b"\xbf" if indef else _head(5, len(v))
        for k, x in v.items():
            _encode(k, out, indef)
            _encode(x, out, indef)
        if indef:
            out.append(0xFF)
    else:
        raise CborError(f"cannot encode {type(v).__name__} as CBOR")


def to_json(v):
    """A decoded value as JSON-friendly data (for logs)."""
    if isinstance(v, Timestamp):
        return v.seconds
    if isinstance(v, bytes):
        return base64.b64encode(v).decode()
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if isinstance(v, list):
        return [to_json(x) for x in v]
    if isinstance(v, dict):
        return {str(k): to_json(x) for k, x in v.items()}
    return v
