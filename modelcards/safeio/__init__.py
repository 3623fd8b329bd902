"""safeio: the plumbing every stage stands on, for files and processes we do not trust.

Strict JSON and YAML readers (bounded size and depth, no custom tags), atomic writes, streamed
hashing and its cache, the worker pool, progress on stderr, and the error base every layer's
errors derive from. Nothing here imports any other part of modelcards.
"""
