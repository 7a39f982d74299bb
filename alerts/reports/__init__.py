"""Reports that prove the business case: read-only queries over the alert tables, and the one
table they add (the telephony system's inbound call counts, imported from CSV).

- ``models``    the inbound-call table and the indexes the reports' group-bys need
- ``base``      date ranges, shares, percentiles and durations that work on SQLite and PostgreSQL
- ``funnel``    events -> decided -> sent -> delivered -> responded -> routed -> resolved
- ``responses`` response rates and time to respond per channel
- ``delivery``  provider failures, retries, fallbacks, time to first attempt, expiry
- ``calls``     the inbound-call import and calls avoided per alert type
- ``choices``   customers' opt-outs and preference changes over time
- ``export``    every report's tables as CSV (the same numbers as the JSON), and the refresh
                of the rollups before a report is read
- ``rollup``    the daily rollups kept current from watermarks (``rollup_build``: the
                statements that build a run of days; ``coverage``: which days a report reads
                from them and which raw; ``timings``: the measured times percentiles need)
- ``calls_counts`` the calls-avoided report's day-by-day counts

May import ``alerts.models``, ``alerts.columns``, ``alerts.lifecycle`` and ``alerts.audit``;
nothing imports it but the routers (``alerts.api.reports``, ``admin_ui.reports``) and the CLI.
"""
