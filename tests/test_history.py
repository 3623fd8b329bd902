"""ProjectGit's one-pass indexes: LFS hashes per folder, and commits that only touch build output."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from modelcards.history import ProjectGit
from modelfiles import git

# A Git-LFS clean filter without git-lfs: the blob git stores is the pointer of the content.
POINTER_FILTER = """\
import hashlib, sys
data = sys.stdin.buffer.read()
sys.stdout.write("version https://git-lfs.github.com/spec/v1\\n"
                 f"oid sha256:{hashlib.sha256(data).hexdigest()}\\nsize {len(data)}\\n")
"""


def test_clean_lfs_files_are_hashed_from_their_pointers_folder_by_folder(tmp_path: Path) -> None:
    (tmp_path / "pointer.py").write_text(POINTER_FILTER)
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "filter.lfs.clean", f"{sys.executable} {tmp_path / 'pointer.py'}")
    (tmp_path / ".gitattributes").write_text("*.bin filter=lfs\n")
    contents = {}
    for folder in ("models/a", "models/a-b", "models/b"):  # "a-b" sorts between "a" and "a/"
        (tmp_path / folder).mkdir(parents=True)
        contents[folder] = folder.encode() * 2000
        (tmp_path / folder / "weights.bin").write_bytes(contents[folder])
        (tmp_path / folder / "config.json").write_text("{}")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "feat: models")
    project = ProjectGit(tmp_path)
    for folder, data in contents.items():
        oids = project.clean_lfs_oids(tmp_path / folder)
        assert oids == {"weights.bin": hashlib.sha256(data).hexdigest()}, folder
    (tmp_path / "models/b/weights.bin").write_bytes(b"changed" * 2000)  # dirty: hash it for real
    assert ProjectGit(tmp_path).clean_lfs_oids(tmp_path / "models/b") == {}


def test_commits_of_build_output_alone_are_no_change(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    model = tmp_path / "models/m"
    model.mkdir(parents=True)
    (model / "config.json").write_text("{}")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "feat: model")
    (model / "README.md").write_text("# card\n")
    (model / "CHANGES.md").write_text("# changes\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "docs: cards")
    (model / "config.json").write_text('{"a": 1}')
    (model / "README.md").write_text("# card 2\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "fix: config and card")
    history = ProjectGit(tmp_path).history("models/m")
    subjects = [c.subject for r in history.releases for c in r.commits]
    assert subjects == ["fix: config and card", "feat: model"]
