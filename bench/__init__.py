"""The deskapp benchmark: ``python -m bench`` (see bench/README.md)."""
