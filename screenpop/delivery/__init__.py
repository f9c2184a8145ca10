"""Getting messages to agents' tabs: the hub, the `DeliveryLog` seam (per-agent seq and replay),
the per-call courier that keeps a call's messages in order, and the typed server-to-client
messages."""
