"""Sealed check specs: what a released check cell carries instead of its expected value.

A learner's notebook must not show the answer. `dojo release` turns an authored check such as
``check("m04.heal-count", heal_count, expect=3, hint=..., explain=...)`` into
``check("m04.heal-count", heal_count, points=2, sealed="dojo1:...")``. The sealed string holds:

- a salted PBKDF2 digest of the *normalised* expected value (never the value itself),
- the kind of value expected (``number``, ``text``, ...), so feedback can say "expects a number",
- the free hint, the extra (paid) hints, and the explanation, the latter encrypted with a key derived
  from the expected value, so it can only be read once the answer is right.

This is a guard against reading the answer at a glance, not cryptography against a determined
learner: small answer spaces (a count of tasks) can be brute-forced.

Example::

    spec = SealedSpec.build("m04.heal-count", expect=3, explain="The scheduler replaced it.")
    token = spec.encode()                    # "dojo1:eyJ..."
    SealedSpec.decode(token).matches(3.0)    # True  (3 and 3.0 normalise alike)

Stdlib only: this module is imported inside every learner kernel.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

PREFIX = "dojo1:"
ITERATIONS = 10_000
# Fields left out of an encoded spec when they have these values.
_DEFAULTS: dict[str, Any] = {"digest": None, "kind": None, "case": False, "order": False, "digits": 6, "hint": "",
                             "hints": [], "explain": "", "total": None, "hidden": 0}
_KEEP = object()


class UnsupportedValue(TypeError):
    """A value that a check cannot compare (only JSON-like data: numbers, text, lists, dicts, ...)."""

    def __init__(self, type_name: str) -> None:
        super().__init__(f"a check cannot compare a {type_name}; give a number, text, list, dict, bool or None")
        self.type_name = type_name


class BadSealedSpec(ValueError):
    """A `sealed=` string that is not one `dojo release` wrote (edited or truncated)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"this check's sealed= text is damaged ({reason}); "
                         f"restore the check cell from a fresh copy of the notebook")


@dataclass(frozen=True)
class Normalisation:
    """How values are normalised before comparison."""

    ignore_case: bool = False
    ignore_order: bool = False
    digits: int = 6


def kind_of(value: Any) -> str:
    """The kind of a value as feedback names it: number, text, list, mapping, bool or none."""
    value = _unwrap(value)
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, Mapping):
        return "mapping"
    if isinstance(value, (list, tuple, set, frozenset)):
        return "list"
    return type(value).__name__


def _unwrap(value: Any) -> Any:
    """numpy scalars/arrays, Decimal and Fraction become plain Python values."""
    module = type(value).__module__
    if module == "numpy":
        return value.tolist() if hasattr(value, "tolist") else value.item()
    if module in ("decimal", "fractions"):
        return float(value)
    return value


def _canonical(value: Any, how: Normalisation) -> Any:
    value = _unwrap(value)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return repr(value)
        rounded = round(value, how.digits)
        return int(rounded) if rounded.is_integer() else rounded
    if isinstance(value, str):
        text = value.strip()
        return text.casefold() if how.ignore_case else text
    if isinstance(value, Mapping):
        items = {}
        for key, item in value.items():
            key = _canonical(key, how)
            items[key if isinstance(key, str) else json.dumps(key, sort_keys=True)] = _canonical(item, how)
        return items
    if isinstance(value, (list, tuple)):
        items = [_canonical(item, how) for item in value]
        return sorted(items, key=_dumps) if how.ignore_order else items
    if isinstance(value, (set, frozenset)):
        return sorted((_canonical(item, how) for item in value), key=_dumps)
    raise UnsupportedValue(type(value).__name__)


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def normalise(value: Any, how: Normalisation = Normalisation()) -> str:
    """The canonical text of a value: ``normalise(3.0) == normalise(3) == "3"``; text is stripped."""
    return _dumps(_canonical(value, how))


def salt_for(check_id: str) -> str:
    """A per-check salt; derived from the id so that a release is deterministic."""
    return hashlib.sha256(f"ecsdojo-check-salt:{check_id}".encode()).hexdigest()[:16]


def digest(normalised: str, salt: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", normalised.encode(), salt.encode(), ITERATIONS)[:20].hex()


def _keystream_xor(data: bytes, key: bytes) -> bytes:
    out = bytearray()
    for block in range(0, len(data), 32):
        pad = hashlib.sha256(key + block.to_bytes(8, "big")).digest()
        out.extend(a ^ b for a, b in zip(data[block:block + 32], pad))
    return bytes(out)


def _explain_key(normalised: str, salt: str) -> bytes:
    return hashlib.sha256(f"explain\0{salt}\0{normalised}".encode()).digest()


@dataclass(frozen=True)
class SealedSpec:
    """Everything a check needs at run time, minus anything that gives the answer away."""

    check_id: str
    salt: str
    expected_digest: str | None = None       # None: a behaviour check (the value must be True)
    expected_kind: str | None = None
    how: Normalisation = field(default_factory=Normalisation)
    hint: str = ""
    extra_hints: tuple[str, ...] = ()
    explain: str = ""                         # plain for behaviour checks, else base64 ciphertext
    module_total: float | None = None         # the module's points, hidden checks included, for the tally
    hidden_points: float = 0                  # how many of them are in hidden checks (run only when graded)

    @classmethod
    def build(cls, check_id: str, *, expect: Any = None, has_expect: bool | None = None,
              how: Normalisation = Normalisation(), hint: str = "", extra_hints: Sequence[str] = (),
              explain: str = "", module_total: float | None = None, hidden_points: float = 0) -> SealedSpec:
        """Seal an authored check. ``has_expect`` defaults to ``expect is not None``."""
        has_expect = expect is not None if has_expect is None else has_expect
        salt = salt_for(check_id)
        if not has_expect:
            return cls(check_id, salt, None, None, how, hint, tuple(extra_hints), explain, module_total,
                       hidden_points)
        normalised = normalise(expect, how)
        cipher = _keystream_xor(explain.encode(), _explain_key(normalised, salt)) if explain else b""
        return cls(check_id, salt, digest(normalised, salt), kind_of(expect), how, hint, tuple(extra_hints),
                   base64.b64encode(cipher).decode(), module_total, hidden_points)

    @property
    def is_behaviour(self) -> bool:
        return self.expected_digest is None

    def matches(self, value: Any) -> bool:
        """Whether `value` normalises to the sealed expected value (raises UnsupportedValue)."""
        if self.expected_digest is None:
            raise ValueError(f"{self.check_id} is a behaviour check; it has no expected value")
        return digest(normalise(value, self.how), self.salt) == self.expected_digest

    def explanation(self, value: Any = None) -> str:
        """The explanation; for value checks it is only readable with the right `value`."""
        if self.expected_digest is None or not self.explain:
            return self.explain
        key = _explain_key(normalise(value, self.how), self.salt)
        return _keystream_xor(base64.b64decode(self.explain), key).decode("utf-8", errors="replace")

    def with_total(self, module_total: float | None) -> SealedSpec:
        return replace(self, module_total=module_total)

    def encode(self) -> str:
        payload = {"id": self.check_id, "salt": self.salt, "digest": self.expected_digest,
                   "kind": self.expected_kind, "case": self.how.ignore_case, "order": self.how.ignore_order,
                   "digits": self.how.digits, "hint": self.hint, "hints": list(self.extra_hints),
                   "explain": self.explain, "total": self.module_total, "hidden": self.hidden_points}
        payload = {key: value for key, value in payload.items() if value != _DEFAULTS.get(key, _KEEP)}
        return PREFIX + base64.b64encode(_dumps(payload).encode()).decode()

    @classmethod
    def decode(cls, token: str) -> SealedSpec:
        if not isinstance(token, str) or not token.startswith(PREFIX):
            raise BadSealedSpec("it does not start with " + PREFIX)
        try:
            data = {**_DEFAULTS, **json.loads(base64.b64decode(token[len(PREFIX):], validate=True))}
            how = Normalisation(bool(data["case"]), bool(data["order"]), int(data["digits"]))
            return cls(str(data["id"]), str(data["salt"]), data["digest"], data["kind"], how, str(data["hint"]),
                       tuple(str(h) for h in data["hints"]), str(data["explain"]), data["total"],
                       float(data["hidden"]))
        except (ValueError, KeyError, TypeError) as error:
            raise BadSealedSpec(type(error).__name__) from None
