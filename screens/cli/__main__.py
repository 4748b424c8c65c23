"""``python -m screens.cli``: the ``deskapp`` command without its console script."""

from screens.cli import entry

entry()
