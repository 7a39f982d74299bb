"""Alert types as versioned data: the stored catalogue, content per locale and channel
(rendered in the sandbox), and recorded voice segments.

May import: alerts.models, alerts.columns, rules, channels (SMS segment counting).
"""
