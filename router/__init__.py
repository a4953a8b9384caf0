"""Routing, dedup and grouping of alerts into incidents, and the incident store."""
