"""modelcards: what a fine-tune changed against its base, what that risks, and where it came from."""

__version__ = "0.1.0"
