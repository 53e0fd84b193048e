"""Subcommands of the CLI: each module defines HELP, add_arguments(parser), main(args)."""
