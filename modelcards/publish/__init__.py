"""publish: write outputs atomically and build the static mkdocs-material site."""
