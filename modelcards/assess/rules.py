"""The catalogue of every rule a finding can cite, with stable ids like a linter's.

Ranges: MC1xx pickle and containers (MC14x chat templates and GGUF, MC15x ONNX), MC2xx
safetensors validity, MC3xx remote code, MC4xx Keras/TF, MC5xx licence; MC6xx (diff rules) and MC7xx (governance) are reserved and are added
by appending to `RULES`. An id is never reused for a different meaning.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib import import_module

from modelcards.assess.findings import EvidenceValue, Finding, Severity


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    title: str
    checks: str  # what the rule looks at
    why: str  # why it matters
    recommendation: str


C, H, M, L, INFO = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO

_CATALOGUE: tuple[Rule, ...] = (
    # --- MC1xx: pickle and containers -----------------------------------------------------
    Rule("MC101", C, "pickle imports a code-running callable",
         "GLOBAL/INST/STACK_GLOBAL imports in every pickle stream, resolved through the memo",
         "Unpickling calls the imported callable: this file runs code on load.",
         "Do not load this file. Ask for a safetensors export, or load with "
         "torch.load(weights_only=True) only after review."),
    Rule("MC102", M, "pickle imports a callable that is not on the allowlist",
         "imports in pickle streams that are neither known-safe ML types nor known to run code",
         "An unverified import may run arbitrary code when the file is unpickled.",
         "Check what the import does; prefer a safetensors export of the same weights."),
    Rule("MC103", M, "pickle stream is malformed or could only be read in part",
         "the opcode stream of a pickle-like file or member",
         "What follows the broken point was not checked; loaders may still run what came before.",
         "Treat the file as unverified; regenerate it from a trusted source."),
    Rule("MC104", M, "pickle exceeds the scan limits (expansion bomb or oversized stream)",
         "opcode count, memo size, stream bytes and time spent on one pickle",
         "What lies past the limit was not checked: it may be a bomb built to exhaust memory "
         "or time on load, or just a very large pickle. Imports seen before it are reported.",
         "Do not load it unverified; scan with higher limits or ask for safetensors."),
    Rule("MC105", L, "weights or state stored as pickle",
         "files and container members whose content is a pickle stream",
         "Pickle can run code on load; tensors do not need it.",
         "Publish safetensors instead of pickle-based formats."),
    Rule("MC106", H, "pickle hidden under a non-pickle name or format",
         "the content of files whose name promises another format (safetensors, msgpack, ...)",
         "A loader chosen by content (torch.load, joblib) runs it while reviewers trust the name.",
         "Rename or remove the file; publish real safetensors."),
    Rule("MC107", H, "pickle imports a name that cannot be resolved statically",
         "STACK_GLOBAL/INST operands that are not plain strings, EXT opcodes",
         "A computed import is a common way to hide a dangerous callable from scanners.",
         "Do not load this file."),
    Rule("MC108", L, "file named like a pickle is not a pickle",
         "files with pickle extensions whose content is not a pickle stream",
         "Loaders will fail or interpret the bytes differently from what the name says.",
         "Check what produced the file; remove it if it is not needed."),
    Rule("MC110", H, "archive is a decompression bomb or exceeds the size budget",
         "declared and actual decompressed sizes, compression ratios, overlapping members",
         "Extracting it can exhaust disk or memory; the members past the budget are unverified.",
         "Do not extract this archive; ask for the files unpacked."),
    Rule("MC111", M, "archives nested deeper than the scan limit",
         "zip archives inside zip archives",
         "Members below the limit were not checked.",
         "Unpack nested archives before publishing."),
    Rule("MC112", H, "archive member name escapes the extraction folder",
         "member names with '..', absolute paths, drive letters or backslashes",
         "Extracting it writes outside the target folder (path traversal).",
         "Do not extract this archive with a naive unzip."),
    Rule("MC113", M, "archive is malformed or a member cannot be read",
         "zip central directory, local headers, compression methods, CRC and flag bits",
         "Tools disagree on malformed archives; what one skips another may load.",
         "Re-create the archive with a standard tool."),
    Rule("MC114", M, "numpy array of Python objects (pickle inside .npy/.npz)",
         "the dtype in .npy headers",
         "Object arrays are pickles: numpy.load(allow_pickle=True) runs their imports.",
         "Store numeric arrays only, or safetensors."),
    Rule("MC115", H, "archive has duplicate or overlapping member names",
         "member names of zip archives",
         "Two tools may pick different members with the same name: a scanner sees one, a loader "
         "runs the other.",
         "Re-create the archive with unique member names."),
    Rule("MC116", M, "numpy file header is malformed",
         "the magic, version and header dict of .npy files",
         "numpy refuses it or reads it differently; the content is unverified.",
         "Regenerate the file with numpy.save."),
    Rule("MC120", H, "symlink points outside the scanned folder",
         "symbolic links in the model folder",
         "Publishing or loading through it reads files that are not part of the model.",
         "Replace the link with the file, or remove it."),
    Rule("MC121", INFO, "special file skipped",
         "FIFOs, sockets, devices and broken links in the model folder",
         "Such files are not model files and are never opened by the scanner.",
         "Remove it from the model folder."),
    Rule("MC122", M, "file could not be scanned in full",
         "every file: read errors, size caps, time limits",
         "An unscanned part is not clean; it is unknown.",
         "Scan with higher limits, or inspect the file by hand."),
    Rule("MC123", L, "file is a Git LFS pointer; its content was not scanned",
         "small files in the Git LFS pointer format",
         "The real file lives in LFS storage; nothing about its content is known.",
         "Fetch the LFS objects (git lfs pull) and scan again."),
    Rule("MC124", H, "numpy header is longer than the scan reads",
         "the declared header length of .npy files and .npz members (4 bytes in versions 2 "
         "and 3) against a 16 MiB bound",
         "numpy.load(allow_pickle=True) reads a header of any length, so padding can push an "
         "object pickle past what a scanner reads; what follows this header was not checked.",
         "Do not load it with allow_pickle=True; regenerate the file with numpy.save."),
    Rule("MC125", INFO, "TorchScript source in a TorchScript archive",
         "code/*.py members of zips that torch.jit.save wrote (constants.pkl next to code/)",
         "torch.jit.load compiles this TorchScript; it is never imported as Python, so it is "
         "listed for review, not judged as Python source.",
         "Review the TorchScript source if the model's origin is not trusted."),
    # --- MC14x: chat templates and GGUF ------------------------------------------------------
    Rule("MC140", C, "chat template reaches Python internals (template injection)",
         "chat templates in GGUF metadata, tokenizer_config.json, chat_template.json and .jinja "
         "files, parsed with Jinja2 (never rendered): dunder attributes and subscripts, |attr, "
         "names built from pieces, attributes of Jinja and Flask globals, os/popen/eval",
         "Runtimes that render templates without a sandbox run this code when a chat starts "
         "(llama-cpp-python CVE-2024-34359, SGLang CVE-2026-5760); real templates never do this.",
         "Do not serve this model; replace the template with the base model's."),
    Rule("MC141", M, "chat template cannot be parsed or is too large",
         "the same templates, with Jinja2's parser",
         "A template that does not parse could not be checked, and runtimes may read it "
         "differently.",
         "Fix the template or take the base model's."),
    Rule("MC142", M, "chat template computes the names it reads or loads other templates",
         "|attr with a computed name, subscripts with built strings, include/import/extends",
         "Computed names are how injection payloads hide from review; real templates name "
         "what they read.",
         "Review the template by hand."),
    Rule("MC143", H, "GGUF header is malformed",
         "magic, version, tensor and metadata counts, string and array lengths against the file "
         "size, value types, duplicate keys, tensor dimensions, names and data offsets",
         "Parsers that trust these fields have overflowed on them; what one tool reads another "
         "may not.",
         "Regenerate the file with llama.cpp's conversion scripts."),
    # --- MC15x: ONNX -------------------------------------------------------------------------
    Rule("MC150", H, "ONNX external data path leaves the model folder",
         "the location of every tensor stored as external data (initializers, attributes, "
         "subgraphs, training graphs): '..', absolute paths, drive letters, NUL bytes, and "
         "symlinks resolved against the model's folder",
         "Loading the model reads whatever file the path names, outside the model "
         "(CVE-2024-27318, CVE-2024-5187, CVE-2026-27489); saving it can overwrite one.",
         "Keep external data files beside the model and name them by plain relative paths."),
    Rule("MC151", M, "ONNX model uses operators from a custom domain",
         "node domains and opset_import domains outside the standard ONNX and ONNX Runtime "
         "domains and the model's own functions",
         "Running it needs a custom-op library: native code that is not part of the model and "
         "was not reviewed with it.",
         "Name and pin the custom-op library in the card, or export with standard operators."),
    Rule("MC152", M, "ONNX file is not a readable model",
         "the protobuf wire format of .onnx files: tags, lengths, nesting, external entries",
         "A file that tools parse differently may hide what one of them loads.",
         "Re-export the model with onnx."),
    # --- MC2xx: safetensors validity --------------------------------------------------------
    Rule("MC201", H, "safetensors header length is invalid",
         "the 8-byte little-endian header length against bounds (2 bytes .. 100 MB) and the file",
         "The reference loader refuses the file; other parsers may read something else.",
         "Regenerate the file with the safetensors library."),
    Rule("MC202", H, "safetensors header is not a UTF-8 JSON object",
         "the header bytes: UTF-8, JSON syntax, starts with '{', a top-level object",
         "The reference loader refuses the file; a lenient parser may not.",
         "Regenerate the file with the safetensors library."),
    Rule("MC203", H, "safetensors header has duplicate keys",
         "tensor names and keys in the header JSON",
         "Parsers disagree on which duplicate wins: one tool sees different weights than another.",
         "Regenerate the file with the safetensors library."),
    Rule("MC204", H, "safetensors tensor entry is invalid",
         "each tensor's dtype (known names), shape (non-negative integers) and fields",
         "The reference loader refuses the file.",
         "Regenerate the file with the safetensors library."),
    Rule("MC205", H, "safetensors data offsets overlap, leave gaps or exceed the data",
         "data_offsets sorted: contiguous from 0, no overlap, no gap, inside the data",
         "Gaps and overlaps hide bytes or alias tensors; the reference loader refuses it.",
         "Regenerate the file with the safetensors library."),
    Rule("MC206", H, "safetensors tensor size does not match its shape and dtype",
         "shape x dtype size against the byte span, with overflow checked",
         "A mismatch reads out of bounds or hides data; the reference loader refuses it.",
         "Regenerate the file with the safetensors library."),
    Rule("MC207", H, "safetensors file has bytes after the last tensor",
         "the end of the last tensor against the end of the file",
         "Trailing bytes can carry a second payload (polyglot files).",
         "Regenerate the file with the safetensors library."),
    Rule("MC208", M, "safetensors __metadata__ is not a string-to-string map",
         "the __metadata__ entry of the header",
         "The reference loader refuses non-string metadata.",
         "Store only string values in metadata."),
    Rule("MC209", H, "shard index names a file outside the model folder",
         "every shard name in the weight_map of a *.index.json",
         "A loader opens each named shard relative to the folder: an absolute or '..' path reads "
         "a file the model folder does not hold.",
         "Name shards by their file names inside the folder; regenerate the index."),
    # --- MC3xx: remote code -----------------------------------------------------------------
    Rule("MC301", H, "config maps model classes to custom code (auto_map)",
         "auto_map in config.json and tokenizer_config.json",
         "Loading with trust_remote_code=True imports and runs this repository's Python code.",
         "Review the referenced modules, pin the revision, or use a built-in architecture."),
    Rule("MC302", C, "auto_map pulls code from another repository",
         "auto_map references of the form 'other/repo--module.Class'",
         "Code runs from a repository whose content is outside this model's review and can change.",
         "Vendor the code into this repository and pin it, or drop the reference."),
    Rule("MC303", M, "Python source file in the model folder",
         "*.py files (parsed, never imported)",
         "Custom code is executed by trust_remote_code loaders and by anyone who runs it.",
         "Review the code; keep only what the auto_map needs."),
    Rule("MC304", H, "Python file uses process, network, file or dynamic-code APIs",
         "imports and calls found by parsing *.py files with ast",
         "Model code has no need to spawn processes, open sockets or run dynamic code.",
         "Review these calls before enabling trust_remote_code."),
    Rule("MC305", M, "Python file cannot be parsed",
         "*.py files that are not valid Python or too large",
         "Unparseable code cannot be reviewed by tools.",
         "Fix or remove the file."),
    Rule("MC306", M, "config that may carry auto_map cannot be parsed",
         "config.json, tokenizer_config.json and processor configs as strict JSON",
         "A config that tools parse differently may hide an auto_map from review.",
         "Fix the JSON (no duplicate keys, no NaN, UTF-8)."),
    # --- MC4xx: Keras / TensorFlow ----------------------------------------------------------
    Rule("MC401", H, "Keras model contains a Lambda layer or serialized Python function",
         "model config in .keras archives and .h5 files: Lambda, __lambda__, function",
         "A Lambda layer's code runs when the model is loaded with safe_mode off.",
         "Replace Lambda layers with registered custom layers; publish weights only."),
    Rule("MC402", M, "Keras config references functions from Python modules",
         "'module'/'registered_name' entries outside keras in the model config",
         "Deserialisation imports the module and calls the function.",
         "Review the referenced modules."),
    Rule("MC403", C, "Keras config references a code-running function",
         "function references in the model config against the dangerous-callable list",
         "Loading the model calls a function that runs commands or code.",
         "Do not load this model."),
    Rule("MC404", M, "Keras model config cannot be read",
         "config.json in .keras archives, model_config in .h5 files",
         "An unreadable config was not checked for Lambda layers.",
         "Regenerate the file with Keras."),
    Rule("MC405", C, "Keras config calls a Keras API that loads models, fetches files or turns "
         "safe mode off",
         "function and class references inside keras/tf_keras/tensorflow anywhere in the config "
         "(nested models, layer configs, build_config, compile_config): load_model, get_file, "
         "safe-mode switches, file and export APIs",
         "Keras imports anything under keras.* even with safe_mode=True: load_model with safe "
         "mode off runs a second model's code (CVE-2025-9906), get_file writes any file "
         "(CVE-2025-8747).",
         "Do not load this model; ask for one saved by Keras without custom functions."),
    Rule("MC406", H, "Keras layer opens a file, URL or SavedModel when the model loads",
         "TFSMLayer, and StringLookup/IntegerLookup/TextVectorization given a vocabulary path",
         "TFSMLayer runs the graph of an external SavedModel (CVE-2026-1462); a vocabulary path "
         "reads any local file, or a URL, into the model.",
         "Ship the vocabulary inside the model and export SavedModels separately."),
    Rule("MC407", M, "Keras config references a Keras function outside the tensor-only APIs",
         "function references to keras modules other than ops, activations, losses, metrics, "
         "initializers, regularizers, constraints, random, backend, optimizers and layers",
         "Such functions are importable by any config; not every one is free of side effects.",
         "Check what the function does, or replace it with a registered custom layer."),
    # --- MC5xx: licence ---------------------------------------------------------------------
    Rule("MC501", M, "fine-tuned model has no licence",
         "the license field of the fine-tuned model's card",
         "Users cannot know the terms; the base licence still binds them.",
         "Declare the licence; for a restricted base it is usually the base licence."),
    Rule("MC502", M, "licence differs from the base model's",
         "license of base and fine-tuned model",
         "A derivative usually stays bound by the base licence terms.",
         "Check that the base licence allows relicensing; explain the change in the card."),
    Rule("MC503", H, "licence is more permissive than the base licence allows",
         "a permissive tuned licence over a non-commercial, custom or copyleft base licence",
         "Republishing e.g. a Llama-licensed base as apache-2.0 misstates the terms users get.",
         "Use the base licence (or a compatible one) and carry its notices."),
    Rule("MC504", L, "base licence obligations carry over to the fine-tune",
         "the base licence family: attribution, naming, acceptable-use policy, restrictions",
         "A derivative must meet these obligations too.",
         "State the obligations in the card and carry the required notices."),
    Rule("MC505", L, "base model licence is unknown",
         "the license field of the base model's card",
         "Without the base licence the fine-tune's terms cannot be checked.",
         "Find the base licence and record it."),
)  # fmt: skip

# the modules whose rules live beside their logic (MC6xx diff, MC7xx governance, lineage, task,
# claims, evaluation, merge sources): each adds its rules to RULES when it is imported
RULE_MODULES = (
    "modelcards.assess.claim_rules",
    "modelcards.assess.diff_rules",
    "modelcards.assess.evaluation_rules",
    "modelcards.assess.governance",
    "modelcards.assess.lineage_rules",
    "modelcards.assess.merge_rules",
    "modelcards.assess.task_rules",
)


class Catalogue(Mapping[str, Rule]):
    """Every rule by id. Reading it whole (a waiver's rule, `rules`, SARIF) imports the
    modules of `RULE_MODULES` first, so that a command which evaluates none of their rules
    (`check` of a current card, a header-only `diff`) loads none of their logic."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self._rules = {rule.id: rule for rule in rules}
        self._complete = False

    def add(self, rules: Iterable[Rule]) -> None:
        """A rule module's own rules, on its import (an id already there keeps its rule)."""
        for rule in rules:
            self._rules.setdefault(rule.id, rule)

    def _all(self) -> dict[str, Rule]:
        if not self._complete:
            for module in RULE_MODULES:  # each adds its rules here as it loads
                import_module(module)
            self._complete = True  # after: a thread that asks meanwhile imports them too
        return self._rules

    def __getitem__(self, rule_id: str) -> Rule:
        found = self._rules.get(rule_id)
        return found if found is not None else self._all()[rule_id]

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._rules or rule_id in self._all()

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


RULES = Catalogue(_CATALOGUE)


def finding(
    rule_id: str,
    file: str,
    message: str,
    evidence: dict[str, EvidenceValue] | None = None,
    *,
    severity: Severity | None = None,
) -> Finding:
    """Build a finding for a catalogued rule; the severity defaults to the rule's."""
    rule = RULES[rule_id]
    return Finding(
        rule=rule.id,
        severity=severity or rule.severity,
        file=file,
        message=message,
        evidence=dict(evidence or {}),
        recommendation=rule.recommendation,
    )
