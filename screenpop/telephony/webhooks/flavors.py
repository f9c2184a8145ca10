"""The webhook flavors by name, and the factory the daemon finds for `kind = "webhook"`."""

from __future__ import annotations

from typing import Any

from screenpop.errors import ConfigError
from screenpop.settings import validate_options
from screenpop.telephony.base import SourceContext, WebhookSource
from screenpop.telephony.webhooks.generic import JsonOptions, JsonWebhookSource
from screenpop.telephony.webhooks.twilio import TwilioOptions, TwilioSource


def make_webhook_source(
    name: str, options: dict[str, Any], context: SourceContext
) -> WebhookSource:
    """Build the webhook source of `[[telephony]]` entry `name` from its options.

    Raises ConfigError (naming `telephony.<name>`) for an unknown flavor or invalid options.
    """
    where = f"telephony.{name}"
    flavor = options.get("flavor", "json")
    if flavor == "json":
        json_options = validate_options(JsonOptions, options, where)
        return JsonWebhookSource(name, json_options, variables=context.variables)
    if flavor == "twilio":
        return TwilioSource(name, validate_options(TwilioOptions, options, where))
    raise ConfigError(f"{where}: unknown webhook flavor {flavor!r} (known: json, twilio)")
