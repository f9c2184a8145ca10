"""Webhook sources (`[[telephony]] kind = "webhook"`): the generic JSON one and Twilio."""
