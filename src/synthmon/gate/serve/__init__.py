"""`synthmon gate serve`: the gate as a service. One evaluation loop (the engine of
`gate --watch`) keeps the latest decision; HTTP serves only what it stored: the verdict
JSON, Flagger's webhooks, /metrics, /health and the ship-room page."""
