"""Delivery: run one plan step through its channel, record attempts and provider statuses,
move the plan on (retry, fallback, expiry), the outbox sweep and the thin arq jobs.

May import: alerts.models, alerts.lifecycle, alerts.deps, alerts.ports, alerts.alert_types,
alerts.customers, alerts.decisions (the sweep evaluates stranded events), rules, channels.
"""
