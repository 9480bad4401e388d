"""`python -m egov` is the same as the `egov` command."""

from egov.cli import main

main()
