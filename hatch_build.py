"""Build hook: compile the deep compare's fused pass (modelcards/compare/deep/fused.c).

The library is optional: where no C compiler works, or with MODELCARDS_BUILD_KERNEL=0, the
package installs as pure Python and `--deep` uses its numpy path (modelcards/compare/deep/
kernel.py). With the library, the wheel is platform-specific. An editable install builds it
in the source tree, where the package is read from.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = Path("modelcards/compare/deep/fused.c")
TARGET = "modelcards/compare/deep/_fused_kernel.so"


class KernelBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"
    _scratch: Path | None = None  # a standard wheel's library waits here until it is packed

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        if os.environ.get("MODELCARDS_BUILD_KERNEL", "1").strip() == "0":
            self.app.display_info("modelcards: MODELCARDS_BUILD_KERNEL=0, --deep uses numpy")
            return
        root = Path(self.root)
        if version == "editable":
            output = root / TARGET
        else:
            self._scratch = Path(tempfile.mkdtemp(prefix="modelcards-kernel-"))
            output = self._scratch / "_fused_kernel.so"
        problem = _compile(root / SOURCE, output)
        if problem:
            self.app.display_warning(
                f"modelcards: the fused --deep kernel was not built ({problem}); "
                "--deep uses its numpy path"
            )
            return
        if version != "editable":
            build_data["force_include"][str(output)] = TARGET
        build_data["pure_python"] = False
        # loaded with ctypes: bound to the platform, not to the Python version or ABI
        platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
        build_data["tag"] = f"py3-none-{platform}"

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)


def _compile(source: Path, output: Path) -> str:
    """'' once `output` is built, else what went wrong (the compiler's last line)."""
    compiler = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")
    flags = ["-O3", "-shared", "-fPIC"]
    problem = "no C compiler"
    for extra in (["-DMC_CLONES"], []):  # run-time AVX2 choice where the toolchain has it
        partial = output.with_suffix(".partial")
        try:
            done = subprocess.run(
                [*compiler, *flags, *extra, str(source), "-o", str(partial)],
                capture_output=True, text=True, timeout=300, check=False,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as error:
            partial.unlink(missing_ok=True)
            return f"{compiler[0]}: {error}"
        if done.returncode == 0:
            partial.replace(output)
            return ""
        partial.unlink(missing_ok=True)
        lines = (done.stderr or done.stdout).strip().splitlines()
        problem = lines[-1] if lines else f"{compiler[0]} exited {done.returncode}"
    return problem
