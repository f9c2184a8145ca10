"""Caller-id normalization: whatever a PBX or carrier sends, turned into one :class:`CallerId`.

Caller ids arrive as national numbers, international numbers with either trunk prefix (``011``
or ``00``), SIP and tel URIs with parameters, Asterisk's ``<unknown>``, words such as
``anonymous``, carrier sentinels, or plain garbage. :func:`normalize` never raises: anything it
cannot read as a phone number comes back with ``kind`` ``unparseable`` and the raw text kept.

What phonenumbers reads is read too: digits of any script (full-width, Arabic-Indic, Persian,
Devanagari...), full-width punctuation and plus sign; vanity numbers, whose letters stand for
the keypad digits (``1-800-FLOWERS``: at least three letters, after the first digit); the
extension labels ``x``, ``ext``, ``extn``, ``extension``, ``anexo``, ``доб`` and ``#``; RFC 3966
tel URIs with ``;ext=`` and a global ``;phone-context=+1-212`` before a local number. A
withheld word anywhere in the number (``+1 RESTRICTED``) makes the caller withheld, never a
vanity number; an agent's extension is only ever ASCII digits.

Only a ``number`` with an E.164 form is ever looked up or matched to a customer
(:attr:`CallerId.lookupable`); withheld and unparseable callers never are.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat

from screenpop.connectors.contract import LookupQuery

CallerKind = Literal["number", "extension", "withheld", "unparseable"]

MAX_RAW = 256  # a longer caller id is garbage: unparseable, and only this much of it is kept
MAX_NUMBER_TEXT = 48  # a phone number, with punctuation and an extension, is never longer

# Words PBXs and carriers put in the caller-id number when the caller withheld it.
WITHHELD_WORDS = frozenset(
    {
        "anonymous",
        "restricted",
        "unavailable",
        "unknown",
        "private",
        "withheld",
        "blocked",
        "anonymous.invalid",
        "out of area",
        "out-of-area",
        "no caller id",
        "nocallerid",
    }
)
# Twilio's keypad spellings of ANONYMOUS, RESTRICTED, UNAVAILABLE, BLOCKED and UNKNOWN.
TWILIO_SENTINELS = frozenset({"+266696687", "+7378742833", "+86282452253", "+2562533", "+8656696"})

_NAME_ADDR = re.compile(r"<([^<>]*)>\s*(?:;.*)?$")
_SCHEMES = ("sips:", "sip:", "tel:")
# The punctuation people, PBXs and phonenumbers put between digits (after NFKC folding).
_PUNCTUATION = r" \u00a0().\-/\[\]\u2010-\u2015\u2212\u30fc\u00ad\u200b\u2060"
# An extension: one of phonenumbers' labels, or `#`, then its digits.
_EXTENSION_PART = (
    r"(?:(?: ?(?:e?xtn?|extension|extensi[oó]n|anexo|доб|x)[.:]? ?|#)(?P<ext>[0-9]{1,10}))?$"
)
# Digits with that punctuation, then optionally an extension.
_NUMBER_TEXT = re.compile(
    rf"^(?P<main>\+?[0-9{_PUNCTUATION}]*[0-9][0-9{_PUNCTUATION}]*?){_EXTENSION_PART}",
    re.IGNORECASE,
)
# A vanity number: a digit first, then digits, punctuation and keypad letters.
_VANITY = re.compile(
    rf"^(?P<main>\+?[{_PUNCTUATION}]*[0-9][0-9A-Za-z{_PUNCTUATION}]*?){_EXTENSION_PART}",
    re.IGNORECASE,
)
_LETTERS = re.compile(r"[A-Za-z]")
_WORDS = re.compile(r"[a-z]+")
MIN_VANITY_LETTERS = 3  # as phonenumbers: fewer letters are not a vanity number
_EXTENSION = re.compile(r"^[0-9]{2,6}$")
_NON_DIGITS = re.compile(r"[^0-9]")
_INTERNATIONAL_PREFIXES = ("011", "00")


@dataclass(frozen=True, slots=True)
class CallerId:
    """A normalized caller id. Build it with :func:`normalize`."""

    raw: str
    e164: str | None
    national: str | None
    region: str | None
    extension: str | None
    valid: bool
    withheld: bool
    kind: CallerKind

    @property
    def lookupable(self) -> bool:
        """True for a phone number with an E.164 form: the only kind that is ever looked up."""
        return self.kind == "number" and self.e164 is not None

    def query(self) -> LookupQuery | None:
        """The connector query for this caller, or None when it must not be looked up."""
        if not self.lookupable or self.e164 is None:
            return None
        try:
            number = phonenumbers.parse(self.e164, None)
        except NumberParseException:
            return None
        return LookupQuery(
            e164=self.e164,
            national=self.national or self.e164,
            digits=self.e164[1:],
            national_digits=phonenumbers.national_significant_number(number),
            region=self.region,
        )

    def to_json(self) -> dict[str, Any]:
        """The `screenpop normalize` output and the card's `caller` object (without `name`)."""
        return {
            "raw": self.raw,
            "e164": self.e164,
            "national": self.national,
            "region": self.region,
            "extension": self.extension,
            "valid": self.valid,
            "withheld": self.withheld,
            "kind": self.kind,
        }


def normalize(raw: str | None, default_region: str) -> CallerId:
    """Normalize a raw caller id; national numbers are read as dialled in `default_region`.

    Never raises: unreadable input comes back as ``kind="unparseable"`` with `raw` kept.
    """
    text = (raw or "")[:MAX_RAW]
    if raw is not None and len(raw) > MAX_RAW:
        return _other(text, "unparseable")
    native, ext_param = _address(text)
    address = _fold(native)
    if _is_withheld(text, address):
        return _other(text, "withheld")
    found = _reading(address)
    if found is None:
        return _other(text, "unparseable")
    main = found.group("main").strip()
    digits = _NON_DIGITS.sub("", main)
    if not digits.strip("0"):
        return _other(text, "withheld")
    region = default_region.strip().upper()
    if main == native and _EXTENSION.match(main) and not _short(digits, region):
        return CallerId(text, None, None, None, digits, False, False, "extension")
    number = _parse(main, region)
    if number is None:
        return _other(text, "unparseable")
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    if e164 in TWILIO_SENTINELS:
        return _other(text, "withheld")
    if not _possible(number) or not _stable(number, e164, region):
        return _other(text, "unparseable")
    return _number(text, number, e164, found.group("ext") or _fold(ext_param or "") or None)


def _fold(text: str) -> str:
    """Full-width forms folded (NFKC), digits of any script written as ASCII digits."""
    folded = unicodedata.normalize("NFKC", text)
    if folded.isascii():
        return folded
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in folded)


def _reading(address: str) -> re.Match[str] | None:
    """The number and extension in `address`, a vanity number's letters dialled as digits."""
    if len(address) > MAX_NUMBER_TEXT:
        return None
    found = _NUMBER_TEXT.match(address)
    if found is not None:
        return found
    vanity = _VANITY.match(address)
    if vanity is None:
        return None
    main = vanity.group("main")
    if len(_LETTERS.findall(main)) < MIN_VANITY_LETTERS:
        return None
    dialled = phonenumbers.convert_alpha_characters_in_number(main)
    return _NUMBER_TEXT.match(dialled + address[vanity.end("main") :])


def says_withheld(raw: str | None) -> bool:
    """True when the caller-id text itself says the number was withheld.

    A withheld word (``anonymous``, ``Restricted``, ``<unknown>``...), an ``anonymous.invalid``
    SIP URI, a number of zeros or one of Twilio's keypad sentinels (``+266696687``...). A blank
    caller id is no such mark: the PBX may simply not have one.
    """
    if raw is None or raw.strip() in ("", "<>"):
        return False
    return normalize(raw, "ZZ").withheld


def mask(text: str | None) -> str:
    """A phone number made safe for logs: only its last digits (`+…1234`).

    Returned unchanged when the ``screenpop`` logger is enabled for DEBUG. Text without digits
    (``anonymous``) is not a number and is returned as it is. Digits of any script count (and
    are shown as ASCII digits), as :func:`normalize` reads them.
    """
    if text is None:
        return ""
    if logging.getLogger("screenpop").isEnabledFor(logging.DEBUG):
        return text
    folded = _fold(text)
    digits = _NON_DIGITS.sub("", folded)
    if not digits:
        return text
    keep = 4 if len(digits) >= 8 else 3 if len(digits) >= 5 else 2
    keep = min(keep, len(digits) - 1) if len(digits) > 1 else 0
    prefix = "+" if folded.lstrip().startswith("+") else ""
    return f"{prefix}…{digits[len(digits) - keep :]}" if keep else f"{prefix}…"


def _other(raw: str, kind: CallerKind) -> CallerId:
    return CallerId(raw, None, None, None, None, False, kind == "withheld", kind)


def _number(raw: str, number: PhoneNumber, e164: str, extension: str | None) -> CallerId:
    region = phonenumbers.region_code_for_number(number)
    region = region or phonenumbers.region_code_for_country_code(number.country_code or 0)
    return CallerId(
        raw=raw,
        e164=e164,
        national=phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL),
        region=None if region in (None, "ZZ") else region,
        extension=extension,
        valid=phonenumbers.is_valid_number(number),
        withheld=False,
        kind="number",
    )


def _address(raw: str) -> tuple[str, str | None]:
    """The number part of a caller id: SIP/tel URI unwrapped, parameters dropped.

    Returns the text to read as a number and a tel URI ``ext`` parameter, if any.
    """
    text = raw.strip()
    inside = _NAME_ADDR.search(text)
    if inside is not None:
        text = inside.group(1).strip()
    lowered = text.lower()
    for scheme in _SCHEMES:
        if lowered.startswith(scheme):
            text = text[len(scheme) :]
            break
    if "%" in text:
        text = unquote(text)
    user, _, host = text.partition("@")
    number, *params = user.split(";")
    if host.split(";")[0].strip().lower() == "anonymous.invalid":
        number = "anonymous"
    number = number.strip().strip('"').strip()
    ext = None
    for param in params:
        key, _, value = (part.strip() for part in param.partition("="))
        if key.lower() == "ext" and value.isdigit():
            ext = value
        elif key.lower() == "phone-context" and value.startswith("+") and number[:1] != "+":
            number = value + number  # RFC 3966: a local number in a global context
    return number, ext


def _is_withheld(raw: str, address: str) -> bool:
    """A withheld word (alone or among digits), or nothing at all (a blank id or `<>`)."""
    if address:
        lowered = address.lower()
        return lowered in WITHHELD_WORDS or any(
            word in WITHHELD_WORDS for word in _WORDS.findall(lowered)
        )
    return raw.strip() in ("", "<>")


def _short(digits: str, region: str) -> bool:
    """True when `digits` is a valid short number (emergency, service) in `region`."""
    try:
        number = phonenumbers.parse(digits, region)
    except NumberParseException:
        return False
    return bool(phonenumbers.is_valid_short_number_for_region(number, region))


def _parse(address: str, region: str) -> PhoneNumber | None:
    """Parse as dialled in `region`; failing a valid result, try the trunk prefix as international.

    Trunks send ``011`` and ``00`` whatever the region: ``00442079460958`` from a US trunk is
    London. A prefix that reads as a valid national number in the region (``0113...`` is Leeds)
    stays national.
    """
    first = _try_parse(address, region)
    if first is not None and phonenumbers.is_valid_number(first):
        return first
    if address.startswith("+"):
        return first
    compact = _NON_DIGITS.sub("", address)
    for prefix in _INTERNATIONAL_PREFIXES:
        if not compact.startswith(prefix):
            continue
        second = _try_parse("+" + compact[len(prefix) :], region)
        if second is not None and (
            phonenumbers.is_valid_number(second) or (first is None or not _possible(first))
        ):
            return second
    return first


def _stable(number: PhoneNumber, e164: str, region: str) -> bool:
    """An invalid number whose E.164 form reads back as another number is garbage: zeros that
    phonenumbers kept as a leading zero (``00000000001`` in GB) would match nobody, and change
    at every reading."""
    if phonenumbers.is_valid_number(number):
        return True
    again = _try_parse(e164, region)
    return again is not None and phonenumbers.format_number(again, PhoneNumberFormat.E164) == e164


def _possible(number: PhoneNumber) -> bool:
    reason = phonenumbers.is_possible_number_with_reason(number)
    return bool(reason == phonenumbers.ValidationResult.IS_POSSIBLE)


def _try_parse(text: str, region: str) -> PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except NumberParseException:
        return None
