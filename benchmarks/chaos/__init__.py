"""Fault-injection runs (issue 17, point 8): `make chaos` (longer) and tests/chaos (short, CI).

``stack`` starts the parts, ``faults`` injects one fault at a time and judges the outcome,
``services`` holds the restartable processes. docs/chaos.md says what is asserted."""
