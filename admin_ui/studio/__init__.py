"""The administrators' studio: alert types in the browser (list, editor, preview, versions).

Routes are thin: they check access (``access``), turn a form into a specification (``views``)
and call the services of ``alerts.alert_types`` (drafts, review) and ``alerts.decisions.trial``.
"""
