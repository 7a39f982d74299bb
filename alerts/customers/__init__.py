"""Customers and what they told us: records (import, lookup), preferences and consent, and the
single view of everything that happened to them (history).

May import: alerts.models, alerts.columns, alerts.deps, alerts.links,
alerts.alert_types, rules, channels.
"""
