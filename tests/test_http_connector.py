"""The HTTP connector against a real aiohttp back office on loopback (tests/fakes)."""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from connectors.http import HttpConnector, HttpSettings
from screenpop.card import Status
from screenpop.connectors.contract import ConnectorContext, LookupQuery, find_kind
from screenpop.connectors.runtime import ConnectorRuntime
from screenpop.errors import ConfigError, ConnectorError
from screenpop.lookup import Outcome, call_connector
from screenpop.settings import ConnectorSettings, validate_options
from tests.fakes.backoffice_http import FakeBackOffice

JANE = LookupQuery(
    e164="+12125551234",
    national="(212) 555-1234",
    digits="12125551234",
    national_digits="2125551234",
    region="US",
)
NOBODY = LookupQuery("+12125550000", "(212) 555-0000", "12125550000", "2125550000", "US")
SECRET = "sekrit-7f3a9"


@pytest.fixture
async def office() -> AsyncIterator[FakeBackOffice]:
    async with FakeBackOffice() as server:
        yield server


async def started(name: str = "accounting", **options: Any) -> HttpConnector:
    settings = validate_options(HttpSettings, options, f"connectors.{name}")
    connector = HttpConnector(name, settings, ConnectorContext(deadline_ms=400))
    await connector.start()
    return connector


async def lookup(query: LookupQuery = JANE, **options: Any) -> Any:
    connector = await started(**options)
    try:
        return await connector.lookup(query)
    finally:
        await connector.aclose()


async def failure(query: LookupQuery = JANE, name: str = "accounting", **options: Any) -> str:
    connector = await started(name, **options)
    try:
        with pytest.raises(ConnectorError) as info:
            await connector.lookup(query)
    finally:
        await connector.aclose()
    return str(info.value)


# -- answers -------------------------------------------------------------------------------------


async def test_ok_without_map_returns_the_record(office: FakeBackOffice) -> None:
    record = await lookup(url=office.url + "/customers/{e164}")
    assert record["id"] == "C-1042"
    assert record["customer"]["name"] == "Jane Doe"
    assert office.requests[-1].path == "/customers/%2B12125551234"  # the value is URL-quoted


async def test_map_picks_nested_and_list_paths(office: FakeBackOffice) -> None:
    mapping = {
        "name": "customer.name",
        "city": "customer.address.city",
        "first_sku": "items.0.sku",
        "last_qty": "items.-1.qty",
        "orders": "orders",
        "balance": "balance",
        "absent": "customer.nickname",
        "out_of_range": "items.7.sku",
    }
    record = await lookup(url=office.url + "/customers/{e164}", map=mapping)
    assert record == {
        "name": "Jane Doe",
        "city": "New York",
        "first_sku": "SKU-1",
        "last_qty": 1,
        "orders": [{"id": "O-1"}, {"id": "O-2"}],
        "balance": 120.5,
    }


async def test_list_answer_is_mapped_row_by_row(office: FakeBackOffice) -> None:
    rows = await lookup(
        url=office.url + "/orders",
        params={"phone": "{e164}"},
        map={"order": "id", "amount": "total.amount", "status": "status"},
    )
    assert rows == [
        {"order": "O-1", "amount": 30.0, "status": "shipped"},
        {"order": "O-2", "amount": 12.5, "status": "open"},
    ]
    assert office.requests[-1].query == {"phone": "+12125551234"}


async def test_root_selects_the_record(office: FakeBackOffice) -> None:
    record = await lookup(url=office.url + "/customers/{e164}", root="customer")
    assert record == {"name": "Jane Doe", "tier": "gold", "address": {"city": "New York"}}


@pytest.mark.parametrize(
    ("template", "path"),
    [
        ("{e164}", "/echo/+12125551234"),
        ("{national}", "/echo/(212) 555-1234"),
        ("{digits}", "/echo/12125551234"),
        ("{national_digits}", "/echo/2125551234"),
        ("{national}/{digits}?x=1", "/echo/(212) 555-1234/12125551234"),
    ],
)
async def test_url_placeholders(office: FakeBackOffice, template: str, path: str) -> None:
    echoed = await lookup(url=office.url + "/echo/" + template)
    assert echoed["path"] == path
    assert " " not in office.requests[-1].path  # quoted on the wire


async def test_a_slash_in_a_value_stays_in_its_segment(office: FakeBackOffice) -> None:
    odd = LookupQuery("+1", "12/34", "1", "1234")
    echoed = await lookup(odd, url=office.url + "/echo/{national}/end")
    assert office.requests[-1].path == "/echo/12%2F34/end"
    assert echoed["path"] == "/echo/12/34/end"


async def test_params_are_templated_and_encoded(office: FakeBackOffice) -> None:
    echoed = await lookup(
        url=office.url + "/echo/x", params={"n": "{national}", "d": "{digits}", "fixed": "a b"}
    )
    assert echoed["query"] == {"n": "(212) 555-1234", "d": "12125551234", "fixed": "a b"}


# -- not found -----------------------------------------------------------------------------------


async def test_404_is_not_found(office: FakeBackOffice) -> None:
    assert await lookup(NOBODY, url=office.url + "/customers/{e164}") is None


async def test_configured_not_found_status(office: FakeBackOffice) -> None:
    assert await lookup(url=office.url + "/status/410", not_found_statuses=[404, 410]) is None


@pytest.mark.parametrize("code", [204])
async def test_no_content_is_not_found(office: FakeBackOffice, code: int) -> None:
    assert await lookup(url=office.url + f"/status/{code}") is None


async def test_empty_list_is_not_found(office: FakeBackOffice) -> None:
    assert await lookup(NOBODY, url=office.url + "/orders", params={"phone": "{e164}"}) is None


async def test_map_matching_nothing_is_not_found(office: FakeBackOffice) -> None:
    assert await lookup(url=office.url + "/customers/{e164}", map={"x": "no.such"}) is None


# -- failures ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (500, "HTTP 500 from accounting"),
        (503, "HTTP 503 from accounting"),
        (400, "HTTP 400 from accounting"),
        (302, "HTTP 302 from accounting"),
    ],
)
async def test_error_status(office: FakeBackOffice, code: int, message: str) -> None:
    assert await failure(url=office.url + f"/status/{code}") == message


async def test_garbage_json(office: FakeBackOffice) -> None:
    assert await failure(url=office.url + "/garbage") == "invalid JSON from accounting"


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_huge_body(office: FakeBackOffice, chunked: bool) -> None:
    url = office.url + "/huge?bytes=50000" + ("&chunked=1" if chunked else "")
    message = await failure(url=url, max_body_bytes=10_000)
    assert message == "response too large from accounting"


async def test_body_under_the_limit_is_read(office: FakeBackOffice) -> None:
    message = await failure(url=office.url + "/huge?bytes=5000&chunked=1", max_body_bytes=10_000)
    assert message.startswith("unexpected JSON from accounting")  # a string, not a record


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_connection_refused() -> None:
    url = f"http://127.0.0.1:{closed_port()}/customers/{{e164}}"
    assert await failure(url=url) == "connection refused by accounting"


async def test_not_started_is_an_error() -> None:
    settings = validate_options(HttpSettings, {"url": "http://127.0.0.1:1/"}, "connectors.x")
    connector = HttpConnector("x", settings, ConnectorContext())
    with pytest.raises(ConnectorError, match="not started"):
        await connector.lookup(JANE)


# -- time ----------------------------------------------------------------------------------------


async def test_slow_past_the_deadline_is_a_timeout_section(office: FakeBackOffice) -> None:
    connector = await started("slow", url=office.url + "/slow", pool_size=1)
    runtime = ConnectorRuntime(
        connector, ConnectorSettings(name="slow", kind="http", deadline_ms=50, late_ms=150)
    )
    try:
        attempt = await call_connector(runtime, JANE)
        assert attempt.outcome is Outcome.TIMEOUT
        section = attempt.section
        assert (section.status, section.data, section.error) == (Status.TIMEOUT, None, None)
        # The cancelled request gave its pooled connection back: with a pool of one, the next
        # request still goes through once the back office is fast again.
        office.release()
        section = (await call_connector(runtime, JANE)).section
        assert (section.status, section.data) == (Status.OK, {"slow": True})
    finally:
        await connector.aclose()


async def test_cancelled_lookup_propagates_and_closes(office: FakeBackOffice) -> None:
    connector = await started(url=office.url + "/slow")
    task = asyncio.create_task(connector.lookup(JANE))
    await office.arrived.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await connector.aclose()
    await connector.aclose()  # closing twice is harmless


async def test_timeout_ms_is_a_timeout(office: FakeBackOffice) -> None:
    connector = await started(url=office.url + "/slow", timeout_ms=50)
    runtime = ConnectorRuntime(connector, ConnectorSettings(name="accounting", kind="http"))
    try:
        with pytest.raises(TimeoutError):
            await connector.lookup(JANE)
        section = (await call_connector(runtime, JANE)).section
        assert section.status is Status.TIMEOUT
    finally:
        await connector.aclose()


# -- secrets ---------------------------------------------------------------------------------------


async def test_env_header_reaches_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDIT_TOKEN", SECRET)
    async with FakeBackOffice(token=SECRET) as office:
        record = await lookup(
            url=office.url + "/customers/{e164}",
            headers={"Authorization": "Bearer ${CREDIT_TOKEN}"},
            map={"name": "customer.name"},
        )
        assert record == {"name": "Jane Doe"}
        assert office.requests[-1].headers["Authorization"] == f"Bearer {SECRET}"


async def test_env_in_url_and_params(
    monkeypatch: pytest.MonkeyPatch, office: FakeBackOffice
) -> None:
    monkeypatch.setenv("BO_PATH", "echo")
    monkeypatch.setenv("BO_KEY", "{e164}-not-a-placeholder")
    echoed = await lookup(url=office.url + "/${BO_PATH}/{digits}", params={"key": "${BO_KEY}"})
    assert echoed["path"] == "/echo/12125551234"
    assert echoed["query"] == {"key": "{e164}-not-a-placeholder"}


@pytest.mark.parametrize("where", ["url", "headers", "params", "check_url"])
async def test_missing_env_variable_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    monkeypatch.delenv("SCREENPOP_TEST_UNSET", raising=False)
    options: dict[str, Any] = {"url": "http://127.0.0.1:1/c/{e164}"}
    ref = "${SCREENPOP_TEST_UNSET}"
    if where == "url":
        options["url"] = f"http://127.0.0.1:1/{ref}/{{e164}}"
    elif where == "check_url":
        options["check_url"] = f"http://127.0.0.1:1/{ref}"
    else:
        options[where] = {"X": ref}
    settings = validate_options(HttpSettings, options, "connectors.credit")
    connector = HttpConnector("credit", settings, ConnectorContext())
    with pytest.raises(ConfigError, match=r"connectors\.credit: .*SCREENPOP_TEST_UNSET"):
        await connector.start()
    await connector.aclose()


async def test_secrets_never_appear_in_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDIT_TOKEN", SECRET)
    monkeypatch.setenv("CREDIT_KEY", SECRET + "-key")
    secret_options: dict[str, Any] = {
        "headers": {"Authorization": "Bearer ${CREDIT_TOKEN}", "X-Api-Key": "${CREDIT_KEY}"},
        "params": {"key": "${CREDIT_KEY}", "phone": "{e164}"},
    }
    async with FakeBackOffice(token="another-token") as office:
        urls = [
            office.url + "/customers/{e164}?token=${CREDIT_TOKEN}",  # 401
            office.url + "/status/500?token=${CREDIT_TOKEN}",
            office.url + "/garbage?token=${CREDIT_TOKEN}",
            office.url + "/huge?bytes=5000&token=${CREDIT_TOKEN}",
            f"http://127.0.0.1:{closed_port()}/x?token=${{CREDIT_TOKEN}}",
            f"https://127.0.0.1:{office.url.rsplit(':', 1)[1]}/x?token=${{CREDIT_TOKEN}}",
        ]
        messages = [
            await failure(url=url, name="credit", max_body_bytes=1000, **secret_options)
            for url in urls
        ]
    assert messages[0] == "HTTP 401 from credit"
    for message in messages:
        assert "credit" in message
        for leak in (SECRET, "Bearer", "127.0.0.1", "2125551234", "token"):
            assert leak not in message, message


# -- TLS -------------------------------------------------------------------------------------------


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made by the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
async def tls_office(certificate: tuple[Path, Path]) -> AsyncIterator[FakeBackOffice]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    async with FakeBackOffice(ssl_context=context) as server:
        yield server


async def test_untrusted_certificate_is_a_tls_error(tls_office: FakeBackOffice) -> None:
    message = await failure(url=tls_office.url + "/customers/{e164}")
    assert message == "TLS error talking to accounting"


async def test_ca_file_trusts_the_certificate(
    tls_office: FakeBackOffice, certificate: tuple[Path, Path]
) -> None:
    record = await lookup(url=tls_office.url + "/customers/{e164}", ca_file=str(certificate[0]))
    assert record["id"] == "C-1042"


async def test_ca_file_is_relative_to_the_config(
    tls_office: FakeBackOffice, certificate: tuple[Path, Path]
) -> None:
    settings = validate_options(
        HttpSettings,
        {"url": tls_office.url + "/customers/{e164}", "ca_file": certificate[0].name},
        "connectors.accounting",
    )
    connector = HttpConnector("accounting", settings, ConnectorContext(certificate[0].parent))
    await connector.start()
    try:
        record: Any = await connector.lookup(JANE)
        assert record["id"] == "C-1042"
    finally:
        await connector.aclose()


async def test_verify_tls_off(tls_office: FakeBackOffice) -> None:
    record = await lookup(url=tls_office.url + "/customers/{e164}", verify_tls=False)
    assert record["id"] == "C-1042"


async def test_missing_ca_file_is_a_config_error(tmp_path: Path) -> None:
    settings = validate_options(
        HttpSettings, {"url": "https://127.0.0.1:1/", "ca_file": "nope.pem"}, "connectors.x"
    )
    connector = HttpConnector("x", settings, ConnectorContext(tmp_path))
    with pytest.raises(ConfigError, match=r"connectors\.x: ca_file"):
        await connector.start()
    await connector.aclose()


# -- check ---------------------------------------------------------------------------------------


async def test_check_defaults_to_head_on_the_root(office: FakeBackOffice) -> None:
    connector = await started(url=office.url + "/customers/{e164}")
    try:
        await connector.check()  # the fake answers 404 on `/`: reachable, so fine
    finally:
        await connector.aclose()
    assert (office.requests[-1].method, office.requests[-1].path) == ("HEAD", "/")


async def test_check_url(office: FakeBackOffice) -> None:
    connector = await started(
        url=office.url + "/customers/{e164}", check_url=office.url + "/health"
    )
    try:
        await connector.check()
    finally:
        await connector.aclose()
    assert (office.requests[-1].method, office.requests[-1].path) == ("GET", "/health")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"check_url": "/status/500"}, "HTTP 500 from accounting"),
        ({"check_url": "/status/404"}, "HTTP 404 from accounting"),
        ({"check_url": "/slow", "timeout_ms": 50}, "accounting did not answer within 0.05 s"),
    ],
)
async def test_check_failures(
    office: FakeBackOffice, options: dict[str, Any], message: str
) -> None:
    options = {**options, "check_url": office.url + options["check_url"]}
    connector = await started(url=office.url + "/customers/{e164}", **options)
    try:
        with pytest.raises(ConnectorError) as info:
            await connector.check()
    finally:
        await connector.aclose()
    assert str(info.value) == message


async def test_check_connection_refused() -> None:
    connector = await started(url=f"http://127.0.0.1:{closed_port()}/c/{{e164}}")
    try:
        with pytest.raises(ConnectorError, match="connection refused by accounting"):
            await connector.check()
    finally:
        await connector.aclose()


# -- settings and registration -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"url": "http://x/{phone}"}, "unknown placeholder {phone}"),
        ({"url": "http://x/", "params": {"p": "{number}"}}, "unknown placeholder {number}"),
        ({"url": "ftp://x/"}, "must be an http:// or https:// URL"),
        ({"url": "http://x/", "verb": "GET"}, "verb: unknown key"),
        ({"url": "http://x/", "method": "DELETE"}, "method"),
        ({"url": "http://x/", "max_body_bytes": 0}, "max_body_bytes"),
        ({}, "url"),
    ],
)
def test_invalid_settings(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        validate_options(HttpSettings, options, "connectors.credit")
    assert "connectors.credit" in str(info.value)
    assert message in str(info.value)


def test_registered_as_kind_http() -> None:
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    entry = pyproject["project"]["entry-points"]["screenpop.connectors"]["http"]
    assert entry == "connectors.http:HttpConnector"
    assert find_kind(entry, "connectors.credit") is HttpConnector
    assert HttpConnector.Settings is HttpSettings
