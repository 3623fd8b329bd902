"""Hooks into training libraries; each module imports its library, `import modelcards` never does."""
