"""The domain services: plain functions taking a session and the acting agent.

No Textual here. Every function that changes something runs inside the caller's
``write_session`` (one transaction) and writes the audit log.
"""
