"""Ingestion: back-office files into stored events (dedupe by file hash and event id), the
quarantine of bad records, and the watched drop folder.

May import: alerts.models, alerts.columns, xml_adapters.
"""
