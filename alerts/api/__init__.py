"""The HTTP routers of the alert domain: the JSON API under /api/v1 and the provider webhooks.
Routers are thin: parse and authorise the request, call one service function, return a model.

May import: every other part of alerts, channels, rules; nothing imports alerts.api but the
composition root (herald), admin_ui and callcentre's own router (for the shared dependencies).
"""
