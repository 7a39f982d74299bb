"""Responses: a customer's answer (keypress, SMS reply, email click) recorded once and acted
on: close the alert, hand off to the call centre, run a transaction, plan a copy, honour keywords.

May import: alerts.models, alerts.lifecycle, alerts.deps, alerts.ports, alerts.alert_types,
alerts.customers, alerts.delivery, rules, channels.
"""
