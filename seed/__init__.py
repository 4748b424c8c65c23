"""Deterministic generators that fill a desk database through the services: the agent
roster, the demo database and large data sets for performance work."""
