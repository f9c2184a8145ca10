"""Properties of the caller-id normalizer and mask over arbitrary text (hypothesis)."""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager

from hypothesis import example, given, settings
from hypothesis import strategies as st

from screenpop.callerid import WITHHELD_WORDS, mask, normalize

REGIONS = st.sampled_from(["US", "GB", "DE", "FR", "IN", "us", " gb ", "ZZ", "XX", ""])
KINDS = {"number", "extension", "withheld", "unparseable"}

# Text that looks like what PBXs send: digits of several scripts, punctuation, URI pieces,
# extension labels and keypad letters, so the interesting branches are reached often.
PIECES = st.sampled_from(
    [
        *"0123456789",
        "+",
        "00",
        "011",
        " ",
        "-",
        "(",
        ")",
        ".",
        "/",
        "#",
        " x",
        " ext. ",
        ";ext=",
        ";phone-context=+1-212",
        ";phone-context=example.com",
        "sip:",
        "tel:",
        "@pbx.example",
        "<",
        ">",
        '"',
        "%2B",
        "FLOWERS",
        "ABC",
        "anonymous",
        "Restricted",
        "\u0662",  # Arabic-Indic two
        "\u06f5",  # Persian five
        "\uff11",  # full-width one
        "\uff0b",  # full-width plus
        "\u00a0",
        "\u2013",
        "\x00",
        "\n",
    ]
)
PHONEISH = st.lists(PIECES, max_size=16).map("".join)
ANY_TEXT = st.one_of(st.none(), st.text(max_size=80), PHONEISH)


@contextmanager
def screenpop_level(level: int) -> Iterator[None]:
    logger = logging.getLogger("screenpop")
    before = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(before)


@settings(max_examples=200, deadline=None)
@given(raw=ANY_TEXT, region=REGIONS)
def test_normalize_never_raises_and_keeps_its_contract(raw: str | None, region: str) -> None:
    caller = normalize(raw, region)
    assert caller.kind in KINDS
    assert caller.raw == (raw or "")[:256]
    assert caller.withheld == (caller.kind == "withheld")
    assert (caller.e164 is not None) == (caller.kind == "number")
    assert caller.lookupable == (caller.kind == "number")
    assert (caller.query() is not None) == caller.lookupable
    if caller.kind == "extension":
        assert caller.extension is not None and caller.extension.isascii()
    if caller.e164 is not None:
        assert re.fullmatch(r"\+[1-9][0-9]{1,17}", caller.e164)


@settings(max_examples=200, deadline=None)
@given(raw=ANY_TEXT, region=REGIONS)
@example(raw="00000000001", region="GB")  # once read as +440000000001, then as +44000000001
def test_normalizing_the_e164_again_gives_the_same_e164(raw: str | None, region: str) -> None:
    caller = normalize(raw, region)
    if caller.e164 is None:
        return
    again = normalize(caller.e164, region)
    assert (again.kind, again.e164, again.region) == ("number", caller.e164, caller.region)
    assert normalize(caller.e164, "ZZ").e164 == caller.e164  # whatever the default region


SINGLE_WORDS = sorted(word for word in WITHHELD_WORDS if re.fullmatch(r"[a-z]+", word))


@settings(max_examples=100, deadline=None)
@given(
    before=st.text(alphabet="0123456789+ -()", max_size=12),
    word=st.sampled_from(SINGLE_WORDS),
    upper=st.booleans(),
    after=st.text(alphabet="0123456789 -", max_size=12),
)
def test_a_withheld_word_never_reads_as_a_number(
    before: str, word: str, upper: bool, after: str
) -> None:
    raw = before + (word.upper() if upper else word) + after
    assert normalize(raw, "US").kind == "withheld"


@settings(max_examples=200, deadline=None)
@given(text=ANY_TEXT)
def test_mask_never_raises_and_shows_at_most_four_digits(text: str | None) -> None:
    with screenpop_level(logging.INFO):
        masked = mask(text)
    digits_in = sum(c.isdecimal() for c in unicodedata.normalize("NFKC", text or ""))
    shown = sum(c.isdecimal() for c in masked)
    assert shown <= 4
    if digits_in:
        assert shown < digits_in
    else:
        assert masked == (text or "")
