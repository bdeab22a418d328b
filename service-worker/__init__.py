"""Packaging only: lets an installed wheel carry service-worker.js (see pyproject.toml)."""
