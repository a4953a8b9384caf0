"""Paging: contact channels, escalation jobs and signed acknowledgement links."""
