"""Composition root: settings, database, app factory, worker settings, CLI, embedded services."""
