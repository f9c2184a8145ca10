"""Asterisk (and FreePBX) over the manager interface (AMI): `[[telephony]] kind = "ami"`."""
