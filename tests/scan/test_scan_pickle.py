"""The opcode scanner: imports resolved like the unpickler resolves them, judged by policy."""

from __future__ import annotations

import collections
import os
import pickle

import numpy as np
import pytest
from corpus import (
    Reduce,
    call,
    call0,
    glob0,
    legacy_torch,
    pickle_of,
    proto,
    sbu,
    stack_global,
    training_args_pkl,
)

from modelcards.assess.findings import Severity
from modelcards.assess.scan.limits import ScanLimits
from modelcards.assess.scan.pickle_findings import stream_findings
from modelcards.assess.scan.pickle_ops import scan_bytes
from modelcards.assess.scan.policy import Verdict, classify

LIMITS = ScanLimits()


def imports(data: bytes) -> list[tuple[str, str]]:
    return [(i.module, i.name) for i in scan_bytes(data, LIMITS).imports]


def rules(data: bytes) -> dict[str, Severity]:
    findings, _ = stream_findings(scan_bytes(data, LIMITS), "x.pkl")
    worst: dict[str, Severity] = {}
    for f in findings:
        worst[f.rule] = max(worst.get(f.rule, f.severity), f.severity)
    return worst


@pytest.mark.parametrize("protocol", range(6))
def test_reduce_to_os_system_is_critical_in_every_protocol(protocol: int) -> None:
    data = pickle.dumps(Reduce(os.system, "echo pwned"), protocol=protocol)
    found = imports(data)
    assert found == [(os.system.__module__, "system")]
    assert rules(data)["MC101"] is Severity.CRITICAL


@pytest.mark.parametrize("protocol", range(2, 6))
def test_ordered_dict_of_arrays_is_allowlisted(protocol: int) -> None:
    data = pickle.dumps(collections.OrderedDict(w=np.ones((2, 2)), b=np.zeros(2)), protocol)
    result = scan_bytes(data, LIMITS)
    assert result.complete and result.pickles == 1
    assert result.imports, "numpy and collections imports must be seen"
    assert all(classify(i.module, i.name)[0] is Verdict.SAFE for i in result.imports)
    assert set(rules(data)) == {"MC105"}


def test_stack_global_operands_resolved_through_memo() -> None:
    # module and name are memoized first, then fetched with BINGET for STACK_GLOBAL
    body = (
        sbu("os")
        + b"\x94"
        + sbu("system")
        + b"\x94"
        + b"0"
        + b"0"
        + b"h\x00h\x01\x93"
        + b"("
        + sbu("id")
        + b"tR"
    )
    data = pickle_of(body, 4)
    assert imports(data) == [("os", "system")]
    assert rules(data)["MC101"] is Severity.CRITICAL


def test_put_and_get_with_explicit_indexes() -> None:
    body = (
        sbu("subprocess")
        + b"q\x07"
        + b"0"
        + sbu("Popen")
        + b"r\x00\x01\x00\x00"
        + b"0"
        + b"h\x07j\x00\x01\x00\x00\x93"
        + b")R"
    )
    assert imports(pickle_of(body, 4)) == [("subprocess", "Popen")]


def test_string_opcodes_of_every_kind_feed_stack_global() -> None:
    variants = [
        b"S'builtins'\nS'eval'\n",  # STRING
        b"T\x08\x00\x00\x00builtinsU\x04eval",  # BINSTRING + SHORT_BINSTRING
        b"Vbuiltins\nVeval\n",  # UNICODE
        b"X\x08\x00\x00\x00builtins\x8d\x04\x00\x00\x00\x00\x00\x00\x00eval",  # BINUNICODE(8)
    ]
    for strings in variants:
        assert imports(proto(4) + strings + b"\x93N\x85R.") == [("builtins", "eval")]


def test_inst_opcode_is_an_import() -> None:
    data = b"(S'id'\nios\nsystem\n."
    assert imports(data) == [("os", "system")]
    assert rules(data)["MC101"] is Severity.CRITICAL


def test_dotted_name_walks_into_another_module() -> None:
    data = pickle_of(call(stack_global("pathlib", "os.system"), "id"), 4)
    findings, _ = stream_findings(scan_bytes(data, LIMITS), "x.pkl")
    critical = [f for f in findings if f.rule == "MC101"]
    assert critical and critical[0].evidence["resolves_to"] == "os.system"


def test_parent_module_of_dangerous_submodule() -> None:
    assert classify("asyncio.unix_events", "_UnixSubprocessTransport")[0] is Verdict.DANGEROUS
    assert classify("torch.hub", "load")[0] is Verdict.DANGEROUS


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("posix", "system"),
        ("nt", "system"),
        ("__builtin__", "eval"),
        ("__builtin__", "getattr"),
        ("_pickle", "loads"),
        ("_io", "FileIO"),
        ("__builtins__", "exec"),
    ],
)
def test_aliases_are_their_modules(module: str, name: str) -> None:
    assert classify(module, name)[0] is Verdict.DANGEROUS


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("builtins", "getattr"),
        ("builtins", "__import__"),
        ("builtins", "globals"),
        ("torch", "load"),
        ("numpy", "load"),
        ("functools", "reduce"),
        ("marshal", "loads"),
        ("importlib", "import_module"),
        ("types", "FunctionType"),
        ("code", "interact"),
        ("operator", "methodcaller"),
        ("torch.storage", "_load_from_bytes"),
    ],
)
def test_curated_code_runners_are_dangerous(module: str, name: str) -> None:
    assert classify(module, name)[0] is Verdict.DANGEROUS


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("torch._utils", "_rebuild_tensor_v2"),
        ("torch", "BFloat16Storage"),
        ("torch", "bfloat16"),
        ("torch._tensor", "_rebuild_from_type_v2"),
        ("torch.serialization", "_get_layout"),
        ("torch", "device"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("_codecs", "encode"),
        ("transformers.training_args", "TrainingArguments"),
        ("transformers.trainer_utils", "IntervalStrategy"),
        ("accelerate.state", "PartialState"),
        ("accelerate.utils.dataclasses", "DistributedType"),
        ("builtins", "set"),
    ],
)
def test_known_ml_imports_are_safe(module: str, name: str) -> None:
    assert classify(module, name)[0] is Verdict.SAFE


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("mylib.models", "Net"),
        ("collections", "OrderedDict.fromkeys"),
        ("accelerate.utils.dataclasses", "X.__init__"),
    ],
)
def test_everything_else_is_unverified_never_safe(module: str, name: str) -> None:
    assert classify(module, name)[0] is Verdict.UNVERIFIED


def test_unverified_import_is_medium() -> None:
    data = pickle_of(call(glob0("mylib.layers", "Custom"), "x"), 2)
    assert rules(data)["MC102"] is Severity.MEDIUM


def test_several_pickles_in_one_stream_are_all_read() -> None:
    first = pickle.dumps([1, 2, 3], protocol=2)
    second = pickle_of(call(glob0("os", "system"), "id"), 2)
    result = scan_bytes(first + second, LIMITS)
    assert result.pickles == 2
    assert [(i.module, i.name, i.pickle_index) for i in result.imports] == [("os", "system", 1)]


def test_stream_broken_after_payload_reports_payload_and_partial() -> None:
    data = proto(2) + call(glob0("os", "system"), "id")  # no STOP
    findings, partial = stream_findings(scan_bytes(data, LIMITS), "x.pkl")
    assert {f.rule for f in findings} >= {"MC101", "MC103"}
    assert partial and "broken" in partial


def test_garbage_after_payload_is_partial_too() -> None:
    data = proto(2) + call(glob0("os", "system"), "id") + b"\xff\xfe"
    _, partial = stream_findings(scan_bytes(data, LIMITS), "x.pkl")
    assert partial is not None


def test_legacy_torch_file_reads_all_pickles_and_stops_at_tensor_bytes() -> None:
    data = legacy_torch(pickle_of(call(glob0("builtins", "eval"), "1"), 2))
    result = scan_bytes(data, LIMITS)
    assert result.pickles == 5 and result.trailing and result.complete
    assert ("builtins", "eval") in [(i.module, i.name) for i in result.imports]


def test_reduce_build_newobj_counts_are_evidence() -> None:
    findings, _ = stream_findings(scan_bytes(training_args_pkl(), LIMITS), "training_args.bin")
    summary = next(f for f in findings if f.rule == "MC105")
    assert isinstance(summary.evidence["reduce"], int) and summary.evidence["reduce"] >= 7
    assert summary.evidence["build"] == 2
    assert summary.evidence["newobj"] == 2


def test_training_args_is_nothing_above_low() -> None:
    findings, partial = stream_findings(scan_bytes(training_args_pkl(), LIMITS), "x.bin")
    assert partial is None
    assert all(f.severity <= Severity.LOW for f in findings), findings


def test_computed_stack_global_is_flagged() -> None:
    # module name comes from a call result, not a literal: cannot be resolved statically
    body = call(glob0("_codecs", "encode"), "os") + sbu("system") + b"\x93" + b")R"
    found = rules(pickle_of(body, 4))
    assert found["MC107"] is Severity.HIGH


def test_ext_opcode_is_flagged() -> None:
    assert "MC107" in rules(proto(2) + b"\x82\x01)R.")


def test_protocol_0_text_reduce() -> None:
    data = pickle_of(call0(glob0("subprocess", "getoutput"), "id"), 0)
    assert imports(data) == [("subprocess", "getoutput")]


@pytest.mark.parametrize(
    ("module", "name", "target"),
    [
        ("__builtin__", "reduce", "functools.reduce"),  # Python 2 name the unpickler remaps
        ("commands", "getoutput", "subprocess.getoutput"),
        ("urllib2", "urlopen", "urllib.request.urlopen"),
        ("torch._C", "_nn.gelu", "torch._C._nn.gelu"),  # a submodule path is an attribute path
        ("joblib.numpy_pickle", "load", "joblib.numpy_pickle.load"),
    ],
)
def test_python2_names_and_submodule_paths(module: str, name: str, target: str) -> None:
    assert classify(module, name) == (Verdict.DANGEROUS, target)


def test_python2_safe_names_stay_safe() -> None:
    assert classify("__builtin__", "set")[0] is Verdict.SAFE
    assert classify("copy_reg", "_reconstructor")[0] is Verdict.SAFE
    # the scanner follows joblib's inline arrays, so the wrapper itself is known and safe
    assert classify("joblib.numpy_pickle", "NumpyArrayWrapper")[0] is Verdict.SAFE
    assert classify("joblib.numpy_pickle", "NDArrayWrapper")[0] is Verdict.UNVERIFIED
