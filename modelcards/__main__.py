"""`python -m modelcards` runs the command line."""

from modelcards.cli import main

main()
