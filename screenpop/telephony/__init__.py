"""Telephony sources: each turns one PBX protocol into CallEvents."""
