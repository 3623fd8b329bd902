"""A transformers `TrainerCallback` that writes the model card whenever the Trainer saves.

    trainer = Trainer(..., callbacks=[ModelcardsCallback()])

Each checkpoint (and, at the end, `output_dir` when a model was saved there) gets the card,
CHANGES.md and card.json `modelcards build` writes, through the API's `modelcards.build`. The
project is the git repository holding `output_dir` (else the folder holding it); the base comes from
modelcards.yml when it lists the folder, else from the saved files and the model's own
`config._name_or_path` (or its adapter's `base_model_name_or_path`), as `modelcards init`
guesses it. Only the main process writes. A failure is a warning with its one-line reason:
documenting a model never stops the training.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from transformers import TrainerCallback

if TYPE_CHECKING:
    from modelcards.project.build import BuildReport
    from modelcards.project.config import BaseSpec, ProjectConfig

logger = logging.getLogger(__name__)
CHECKPOINT_PREFIX = "checkpoint"  # transformers' PREFIX_CHECKPOINT_DIR


def project_root(folder: Path) -> Path:
    """The git repository holding `folder`, else the folder holding it."""
    for parent in (folder, *folder.parents):
        if (parent / ".git").exists():
            return parent
    return folder.parent


def _named_base(model: Any) -> str | None:
    """The base the model in memory was loaded from (the saved files may not say)."""
    peft = getattr(model, "peft_config", None)
    if isinstance(peft, dict):
        for adapter in peft.values():
            name = getattr(adapter, "base_model_name_or_path", None)
            if isinstance(name, str) and name:
                return name
    name = getattr(getattr(model, "config", None), "_name_or_path", None)
    return name if isinstance(name, str) and name else None


def guessed_base(root: Path, rel: str, model: Any = None) -> BaseSpec | None:
    """The base as `modelcards init` would guess it from the folder's files, with the model's
    `_name_or_path` standing in when config.json has none (transformers 5 leaves it out)."""
    from modelcards.project.config import BaseSpec
    from modelcards.project.discover import project_name
    from modelcards.project.discover.bases import guess_base
    from modelcards.project.discover.files import read_folder

    folder = root / rel
    entries = sorted(os.listdir(folder))
    files = [n for n in entries if (folder / n).is_file()]
    info = read_folder(root, rel, files, [n for n in entries if (folder / n).is_dir()])
    named = _named_base(model)
    if named and info.adapter is None and not (info.config or {}).get("_name_or_path"):
        info.config = {**(info.config or {}), "_name_or_path": named}
    choice = guess_base(root, info, [], project_name(root)).base
    if choice.kind == "none":
        return None
    return BaseSpec(path=choice.path, id=choice.id, revision=choice.revision)


def project_for(folder: Path, model: Any = None) -> tuple[ProjectConfig, str]:
    """The project config to build `folder` with, and the folder's path in it: modelcards.yml
    when it lists the folder; otherwise an entry for it, with the base of the configured
    model it lies in (a checkpoint of `output_dir`) or the guessed one."""
    from modelcards.project.config import ModelEntry, find_config, load_config, parse_config

    folder = folder.resolve()
    root = project_root(folder)
    rel = folder.relative_to(root).as_posix()
    config = load_config(root) if find_config(root) is not None else None
    if config is not None and any(e.path == rel for e in config.models):
        return config, rel
    outer = [
        e for e in (config.models if config else ()) if PurePosixPath(rel).is_relative_to(e.path)
    ]
    base = outer[-1].base if outer and outer[-1].path != "." else guessed_base(root, rel, model)
    names = {e.name for e in config.models} if config else set()
    name = PurePosixPath(rel).name if PurePosixPath(rel).name not in names else rel
    if config is None:
        base_raw = None if base is None else {k: v for k, v in vars(base).items() if v}
        raw = {"models": [{"name": name, "path": rel, "base": base_raw}]}
        return parse_config(raw, root=root, file="ModelcardsCallback"), rel
    entry = ModelEntry(name=name, path=rel, base=base)
    return dataclasses.replace(config, models=(*config.models, entry)), rel


def _one_line(exc: BaseException) -> str:
    from modelcards.safeio.errors import ModelcardsError

    text = str(exc) if isinstance(exc, ModelcardsError) else f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())


class ModelcardsCallback(TrainerCallback):
    """Write the model card of every checkpoint (`on_save`) and of `output_dir` at the end.

    `check=True` also runs `modelcards check` and logs its problems for the model; `deep=True`
    compares tensor contents too; `online=True` lets a Hub base be read from the Hub.
    `checkpoints=False` documents only `output_dir` at the end of training.
    """

    def __init__(
        self,
        *,
        check: bool = False,
        deep: bool = False,
        online: bool = False,
        checkpoints: bool = True,
    ) -> None:
        self.check = check
        self.deep = deep
        self.online = online
        self.checkpoints = checkpoints
        self.reports: list[BuildReport] = []  # every build this callback ran, in order

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not self.checkpoints or not state.is_world_process_zero:
            return
        folder = Path(args.output_dir) / f"{CHECKPOINT_PREFIX}-{state.global_step}"
        if folder.is_dir():
            self.document(folder, model=kwargs.get("model"))

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not state.is_world_process_zero:
            return
        folder = Path(args.output_dir)
        if any((folder / n).is_file() for n in ("config.json", "adapter_config.json")):
            self.document(folder, model=kwargs.get("model"))

    def document(self, folder: str | os.PathLike[str], *, model: Any = None) -> BuildReport | None:
        """Write `folder`'s card now (e.g. after `trainer.save_model()`); None when it failed,
        with the reason logged as a warning. Never raises."""
        try:
            return self._document(Path(folder), model)
        except Exception as exc:  # the training run matters more than its card
            logger.warning("modelcards: no card for %s: %s", folder, _one_line(exc))
            return None

    def _document(self, folder: Path, model: Any) -> BuildReport | None:
        import modelcards

        config, rel = project_for(folder, model)
        report = modelcards.build(
            config, models=[rel], site=False, deep=self.deep, online=self.online
        )
        self.reports.append(report)
        for failure in report.failed:
            logger.warning("modelcards: no card for %s: %s", failure.path, failure.error)
        for rendered in report.models:
            coverage = rendered.context["coverage"]["base"]
            significant = ((rendered.context.get("diff") or {}).get("summary") or {}).get(
                "significant"
            )
            logger.info(
                "modelcards: wrote %s/README.md (base %s%s)",
                rendered.path,
                coverage["state"],
                f", {significant} significant changes" if significant is not None else "",
            )
            for risk in rendered.context.get("risks") or []:
                if not risk.get("waived"):
                    logger.info(
                        "modelcards: %s %s: %s", risk["severity"], risk["rule"], risk["message"]
                    )
        if self.check and not report.failed:
            names = {m.name for m in report.models}
            for problem in modelcards.check(config, online=self.online).problems:
                if problem.model in names:
                    logger.warning("modelcards check: %s: %s", problem.file, problem.reason)
        return report
