"""``python -m kefu.cli``: the same as the ``kefu`` command."""

from kefu.cli import main

main()
