"""The alert domain: one sub-package per stage of the loop, the tables and lifecycles they share.

Stages, in the order an event travels (each may import the ones above it in this list, never
below; docs/architecture.md has the whole table and tests/unit/test_architecture.py enforces it):

- ``ingestion``   back-office files in: dedupe, store events, quarantine, the watched folder
- ``alert_types`` alert types as versioned data, their content per locale/channel, recordings
- ``customers``   customers, contact points, preferences and consent, the single view (history)
- ``decisions``   stored events into decisions and alerts with their delivery plans
- ``delivery``    run plan steps through channels, attempts and provider statuses, sweep, jobs
- ``responses``   customers' answers: record once, act (transactions, copies, callbacks), hand off
- ``api``         the HTTP routers only (JSON API and provider webhooks): parse, authorise, call

Shared by all stages: ``models`` (tables), ``columns`` (portable column types), ``lifecycle``
(legal status moves), ``deps`` (what the services get from the composition root) and ``ports``
(what they ask of the call centre).
"""
