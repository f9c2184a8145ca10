"""Caller-id normalization, table-driven: what PBXs and carriers really send."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from screenpop.callerid import CallerId, mask, normalize
from screenpop.cli import main
from screenpop.connectors.contract import LookupQuery

CONTRACT_KEYS = {"raw", "e164", "national", "region", "extension", "valid", "withheld", "kind"}
NYC = "+12125551234"
LONDON = "+442079460958"

# raw, default region, expected e164, expected extension
NUMBERS = [
    ("(212) 555-1234", "US", NYC, None),
    ("212-555-1234", "US", NYC, None),
    ("2125551234", "US", NYC, None),
    ("12125551234", "US", NYC, None),
    ("1 (212) 555-1234", "US", NYC, None),
    ("+1 212 555 1234", "DE", NYC, None),
    ("011442079460958", "US", LONDON, None),
    ("00442079460958", "US", LONDON, None),
    ("011 44 20 7946 0958", "US", LONDON, None),
    ("011442079460958", "GB", LONDON, None),
    ("00442079460958", "GB", LONDON, None),
    ("+44 20 7946 0958", "US", LONDON, None),
    ("020 7946 0958", "GB", LONDON, None),
    ("01134960000", "GB", "+441134960000", None),  # Leeds: 011 is national here
    ("212.555.1234 x204", "US", NYC, "204"),
    ("212-555-1234 ext. 204", "US", NYC, "204"),
    ("212-555-1234#7", "US", NYC, "7"),
    ("sip:+12125551234@carrier.example;user=phone", "US", NYC, None),
    ('"ACME" <sip:+12125551234@pbx.example>;tag=a', "US", NYC, None),
    ("<sips:+12125551234@pbx.example:5061;transport=tls>", "US", NYC, None),
    ("sip:2125551234@10.0.0.1", "US", NYC, None),
    ("tel:+1-212-555-1234", "US", NYC, None),
    ("tel:+1-212-555-1234;ext=55", "US", NYC, "55"),
    ("+12125551234;npdi;rn=+12125550000", "US", NYC, None),
    ("sip:%2B12125551234@carrier.example", "US", NYC, None),
    ("  +12125551234  ", "US", NYC, None),
    ("030 12345678-99", "DE", "+49301234567899", None),
    ("0049 30 12345678-99", "DE", "+49301234567899", None),
    ("+33 1 42 68 53 00", "US", "+33142685300", None),
    ("+1 (800) 555-0199", "US", "+18005550199", None),
    # What phonenumbers reads, normalize reads too.
    ("1-800-FLOWERS", "US", "+18003569377", None),  # a vanity number: keypad letters
    ("1-800-GOT-JUNK", "US", "+18004685865", None),
    ("+1 800 555 ABCD", "DE", "+18005552223", None),
    ("1-800-FLOWERS x12", "US", "+18003569377", "12"),
    ("\uff12\uff11\uff12\uff15\uff15\uff15\uff11\uff12\uff13\uff14", "US", NYC, None),  # full-width
    (
        "\uff0b\uff11 (\uff12\uff11\uff12) \uff15\uff15\uff15\uff0d\uff11\uff12\uff13\uff14",
        "DE",
        NYC,
        None,
    ),
    (
        "\u0662\u0661\u0662\u0665\u0665\u0665\u0661\u0662\u0663\u0664",
        "US",
        NYC,
        None,
    ),  # Arabic-Indic
    (
        "+\u06f1 \u06f2\u06f1\u06f2 \u06f5\u06f5\u06f5 \u06f1\u06f2\u06f3\u06f4",
        "DE",
        NYC,
        None,
    ),  # Persian
    ("\u0968\u0967\u0968\u096b\u096b\u096b\u0967\u0968\u0969\u096a", "US", NYC, None),  # Devanagari
    (
        "\u0660\u0660\u0664\u0664\u0662\u0660\u0667\u0669\u0664\u0666\u0660\u0669\u0665\u0668",
        "US",
        LONDON,
        None,
    ),
    ("tel:2125551234;phone-context=+1", "US", NYC, None),  # RFC 3966 local number, global context
    ("tel:555-1234;phone-context=+1-212", "GB", NYC, None),
    ("sip:5551234;phone-context=+1-212@carrier.example;user=phone", "US", NYC, None),
    ("tel:+1-212-555-1234;ext=\u0665\u0665", "US", NYC, "55"),
    ("tel:+1-212-555-1234;isub=1234;ext=7", "US", NYC, "7"),
    ("212 555 1234 extn 5", "US", NYC, "5"),
    ("212-555-1234 x. 5", "US", NYC, "5"),
    ("212-555-1234 ext: 5", "US", NYC, "5"),
    ("212 555 1234 anexo 5", "US", NYC, "5"),
    ("212 555 1234 \u0434\u043e\u0431 5", "US", NYC, "5"),  # Russian `доб`
    ("[212] 555-1234", "US", NYC, None),
    ("212\u2013555\u20131234", "US", NYC, None),  # en dashes
    ("212\u00a0555\u30001234", "US", NYC, None),  # no-break and ideographic spaces
]

WITHHELD = [
    "anonymous",
    "Anonymous",
    "Restricted",
    "RESTRICTED",
    "Unavailable",
    "unknown",
    "<unknown>",
    "Private",
    "",
    "   ",
    "<>",
    "sip:anonymous@anonymous.invalid",
    '"Anonymous" <sip:anonymous@anonymous.invalid>;tag=x',
    "sip:restricted@carrier.example",
    "0",
    "0000000000",
    "+000000",
    "+266696687",
    "+7378742833",
    "+86282452253",
    "+2562533",
    "+8656696",
    "sip:+266696687@twilio.example",
    # A vanity reading never turns a withheld word into a number.
    "+1 RESTRICTED",
    "1-800-PRIVATE",
    "restricted1234",
    "+1 212 555 1234 unknown",
    "\uff21\uff2e\uff2f\uff2e\uff39\uff2d\uff2f\uff35\uff33",  # full-width ANONYMOUS
    "sip:\uff32\uff45\uff53\uff54\uff52\uff49\uff43\uff54\uff45\uff44@carrier.example",
]

UNPARSEABLE = [
    ("5551234", "US"),  # a local number without its area code
    ("abc", "US"),
    ("+", "US"),
    ("++12125551234", "US"),
    ("+1", "US"),
    ("1" * 300, "US"),
    ("9" * 40, "US"),
    ("<a>;" * 50_000, "US"),
    ("+1212555\x001234", "US"),
    ("+1212555\n1234", "US"),
    ("client:alice", "US"),
    ("sip:alice@pbx.example", "US"),
    ("911", "US"),  # a short service number, not an agent's extension
    ("2125551234", "XX"),  # no such default region
    ("+999123456789", "US"),  # no such country code
    ("<>x", "US"),
    (";;;", "US"),
    ('""', "US"),
    ("sip:@pbx.example", "US"),
    ("\u0661\u0662\u0663", "US"),
    ("+1 800 MICROSOFT", "US"),  # phonenumbers reads 1800642767638: too long
    ("2125551234A", "US"),  # one letter: no vanity number (phonenumbers needs three)
    ("212555ABC", "US"),  # too short once dialled
    ("x123", "US"),
    ("FLOWERS 1-800", "US"),  # the letters come first: a word, not a number
    ("\u0661\u0660\u0660\u0661", "US"),  # an agent's extension is ASCII digits only
    ("\uff11\uff10\uff10\uff11", "US"),
    ("tel:5551234;phone-context=example.com", "US"),  # a domain context says nothing more
    ("1-800-FLOWERS\x00", "US"),
]

EXTENSIONS = [
    ("1001", "US"),
    ("42", "US"),
    ("204", "GB"),
    ("sip:1001@pbx.example", "US"),
    ("tel:1001;phone-context=pbx.example.com", "US"),
]


@pytest.mark.parametrize(("raw", "region", "e164", "extension"), NUMBERS)
def test_numbers(raw: str, region: str, e164: str, extension: str | None) -> None:
    caller = normalize(raw, region)
    assert caller.kind == "number"
    assert caller.e164 == e164
    assert caller.extension == extension
    assert caller.raw == raw
    assert caller.lookupable
    assert not caller.withheld


@pytest.mark.parametrize("raw", WITHHELD)
def test_withheld(raw: str) -> None:
    caller = normalize(raw, "US")
    assert caller.kind == "withheld"
    assert caller.withheld
    assert caller.e164 is None
    assert not caller.lookupable
    assert caller.query() is None


def test_none_is_withheld() -> None:
    caller = normalize(None, "US")
    assert (caller.kind, caller.raw, caller.withheld) == ("withheld", "", True)


@pytest.mark.parametrize(("raw", "region"), UNPARSEABLE)
def test_unparseable_keeps_raw(raw: str, region: str) -> None:
    caller = normalize(raw, region)
    assert caller.kind == "unparseable"
    assert caller.raw == raw[:256]
    assert not caller.withheld
    assert caller.e164 is None
    assert caller.query() is None


@pytest.mark.parametrize(("raw", "region"), EXTENSIONS)
def test_extensions(raw: str, region: str) -> None:
    caller = normalize(raw, region)
    assert caller.kind == "extension"
    assert caller.extension is not None and caller.extension in raw
    assert caller.e164 is None
    assert caller.query() is None


def test_possible_but_invalid_number_is_kept_and_flagged() -> None:
    caller = normalize("07700900123", "GB")
    assert caller.kind == "number"
    assert caller.e164 == "+447700900123"
    assert caller.valid is False
    assert caller.region == "GB"
    assert caller.lookupable


def test_query_forms() -> None:
    query = normalize("(212) 555-1234", "US").query()
    assert query == LookupQuery(
        e164="+12125551234",
        national="(212) 555-1234",
        digits="12125551234",
        national_digits="2125551234",
        region="US",
    )


def test_query_has_no_extension_in_national_form() -> None:
    query = normalize("212.555.1234 x204", "US").query()
    assert query is not None
    assert query.national == "(212) 555-1234"


def test_query_keeps_italian_leading_zero() -> None:
    query = normalize("+39 06 6982 0000", "US").query()
    assert query is not None
    assert query.national_digits == "0669820000"


def test_to_json_has_exactly_the_contract_keys() -> None:
    data = normalize("(212) 555-1234", "US").to_json()
    assert data == {
        "raw": "(212) 555-1234",
        "e164": "+12125551234",
        "national": "(212) 555-1234",
        "region": "US",
        "extension": None,
        "valid": True,
        "withheld": False,
        "kind": "number",
    }


def test_caller_id_is_frozen() -> None:
    caller = normalize("1001", "US")
    with pytest.raises(AttributeError):
        caller.kind = "number"  # type: ignore[misc]
    assert isinstance(caller, CallerId)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["normalize", "(212) 555-1234"], {"e164": NYC, "region": "US", "kind": "number"}),
        (["normalize", "00442079460958", "--region", "US"], {"e164": LONDON, "kind": "number"}),
        (["normalize", "07700900123", "--region", "gb"], {"valid": False, "region": "GB"}),
        (["normalize", "anonymous", "--region", "US"], {"withheld": True, "kind": "withheld"}),
        (["normalize", "1001"], {"extension": "1001", "kind": "extension"}),
        (["normalize", "5551234", "--region", "US"], {"raw": "5551234", "kind": "unparseable"}),
    ],
)
def test_cli_normalize(
    argv: list[str], expected: dict[str, object], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == CONTRACT_KEYS
    assert {key: out[key] for key in expected} == expected


@pytest.fixture
def screenpop_logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger("screenpop")
    level = logger.level
    yield logger
    logger.setLevel(level)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("+12125551234", "+…1234"),
        ("(212) 555-1234", "…1234"),
        ("1001", "…01"),
        ("55512", "…512"),
        ("7", "…"),
        ("anonymous", "anonymous"),
        (None, ""),
        ("\u0662\u0661\u0662\u0665\u0665\u0665\u0661\u0662\u0663\u0664", "…1234"),
        ("\uff0b\uff11\uff12\uff11\uff12\uff15\uff15\uff15\uff11\uff12\uff13\uff14", "+…1234"),
    ],
)
def test_mask_hides_all_but_the_last_digits(
    text: str | None, masked: str, screenpop_logger: logging.Logger
) -> None:
    screenpop_logger.setLevel(logging.INFO)
    assert mask(text) == masked


def test_mask_shows_everything_at_debug(screenpop_logger: logging.Logger) -> None:
    screenpop_logger.setLevel(logging.DEBUG)
    assert mask("+12125551234") == "+12125551234"
