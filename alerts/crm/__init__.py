"""Back to the CRM: outbound webhooks a company subscribes to.

The outbox (``alerts.outbox``) holds what happened; ``deliver.fan_out`` gives each event one
delivery row per subscription that wants its kind; ``deliver.deliver_due`` posts them, signed
(``signing``), oldest first and in order per customer (a customer's later event waits while an
earlier one is being retried), with backoff for at least a day. The delivery log keeps every try's
outcome; a failed delivery can be replayed. Stage: imports the shared modules only.
"""
