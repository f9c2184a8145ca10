"""Several nodes on one Redis (`[cluster]`): PBX leases, node heartbeats, delivery shared by every
node. Nothing here is used without a `[cluster] url`."""
