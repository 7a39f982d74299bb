"""Decisions: stored events become decisions (with a reason) and alerts with their delivery
plans, by the pure rules engine; rows are committed before the first step is enqueued.

May import: alerts.models, alerts.columns, alerts.deps, alerts.ports, alerts.alert_types,
alerts.customers, rules.
"""
