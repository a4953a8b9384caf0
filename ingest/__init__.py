"""Webhook ingestion: authenticate, normalize to ``Alert``, append to the alert stream."""
