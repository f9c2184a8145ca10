"""An example screenpop connector plugin: loyalty tiers by phone number, read from a file."""

from screenpop_example.loyalty import LoyaltyConnector, LoyaltySettings

__all__ = ["LoyaltyConnector", "LoyaltySettings"]
