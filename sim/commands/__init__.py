"""The subcommands of the ``citysim`` command line, one module each."""
