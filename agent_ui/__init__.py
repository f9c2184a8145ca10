"""The aiohttp web application: agent desktop, supervisor board, websocket, webhooks."""
