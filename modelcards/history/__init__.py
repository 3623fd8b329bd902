"""history: what git says about a model — its commits grouped into releases, what changed in the
work tree, the release-to-release diffs, and where each file came from (provenance)."""

from modelcards.history.gitlog import GROUP_ORDER, History, ProjectGit, Release

__all__ = ["GROUP_ORDER", "History", "ProjectGit", "Release"]
