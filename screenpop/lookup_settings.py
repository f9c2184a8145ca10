"""`[lookup]` in the config: call variables (IVR data) passed to the connectors as lookup keys.

```toml
[lookup]
keys = { account = "IVR_ACCOUNT" }    # :account in SQL, {account} in HTTP <- variable IVR_ACCOUNT
```

Each key is a parameter name the connectors' queries may use; its value is the PBX call variable
of that name (an Asterisk channel variable, a FreeSWITCH `variable_<name>`, a webhook body's
`variables` entry). Only the variables named here are kept from the PBX's events.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, field_validator

NUMBER_PARAMETERS = ("e164", "national", "digits", "national_digits")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,31}$")
_VARIABLE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


class LookupSettings(BaseModel):
    """`[lookup]`: `keys` maps a lookup key (a parameter name) to the call variable it reads."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    keys: dict[str, str] = {}

    @field_validator("keys")
    @classmethod
    def _keys(cls, value: dict[str, str]) -> dict[str, str]:
        for key, variable in value.items():
            if not _KEY.match(key):
                raise ValueError(f"key {key!r} is not a name (letters, digits, _; 32 at most)")
            if key in NUMBER_PARAMETERS:
                raise ValueError(f"key {key!r} is already the caller's number ({key})")
            if not isinstance(variable, str) or not _VARIABLE.match(variable):
                raise ValueError(f"key {key!r}: {variable!r} is not a call variable name")
        return value

    @property
    def variables(self) -> frozenset[str]:
        """The call variables the sources keep."""
        return frozenset(self.keys.values())

    def values(self, variables: dict[str, str] | None) -> dict[str, str]:
        """The lookup keys that have a value among a call's `variables`."""
        found = variables or {}
        return {key: found[name] for key, name in self.keys.items() if found.get(name)}
