"""A customer's single view, one page at a time: the newest alerts with their events, decisions
(plan and notes), attempts, responses and hand-offs (with their status moves); the events
without an alert; and the changes to the customer's preferences and consent.

- ``views``    the value types (``CustomerHistory``, ``AlertView``, ...) and the page cursors
- ``rows``     one page's rows: one query per table, grouped by a dict; the lists' sizes
- ``build``    rows into views, addresses masked or not
- ``words``    preferences, consent changes and decisions in words
- ``service``  ``customer_history``: the page read and assembled
"""

from alerts.customers.history.service import customer_history, find_alert
from alerts.customers.history.views import CustomerHistory, HistoryQuery

__all__ = ["CustomerHistory", "HistoryQuery", "customer_history", "find_alert"]
