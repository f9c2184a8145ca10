"""The connector contract kit's public import path for plugin authors (it lives in
:mod:`screenpop.connectors.kit`, beside the contract it checks); see the README."""

from screenpop.connectors.kit import check_connector_contract

__all__ = ["check_connector_contract"]
