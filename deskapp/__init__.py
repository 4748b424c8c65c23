"""deskapp: a keyboard-driven terminal desk for a hosting and web agency's support."""

__version__ = "0.1.0"
