"""FreeSWITCH over the event socket (mod_event_socket, inbound): `[[telephony]] kind = "esl"`."""
