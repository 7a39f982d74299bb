"""Responses: a customer's answer (keypress, SMS reply, email click) recorded once and acted
on: close the alert, hand off to the call centre, run a transaction, plan a copy, honour keywords.

- ``record``: an answer recorded once and acted on (the one entry point for every channel);
  ``actions``: transactions, copies, callback times; ``handoffs``: work for the call centre;
  ``keywords``: STOP / START / HELP; ``values``: the typed options and hand-off context.
- The provider webhooks' domain side, called by alerts.api.webhooks: ``voice`` (the alert's
  call), ``transfers`` (a hand-off's calls through its lifecycle), ``sms`` (texts received),
  ``matching`` (which attempt or hand-off a request is about; refusing the rest).
- ``voice_script``: what a call says, as provider-neutral channels.scripts values; the channel
  renders them. Nothing here reads a provider's parameters or writes its wire format.

May import: alerts.models, alerts.lifecycle, alerts.deps, alerts.ports, alerts.alert_types,
alerts.customers, alerts.delivery, rules, channels.
"""
