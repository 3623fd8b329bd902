"""Imports whose dotted names walk into the interpreter (builtins, globals, the type graph)."""

from __future__ import annotations

import pickle

import pytest
from corpus import pickle_of, sbu, stack_global

from modelcards.assess.findings import Severity
from modelcards.assess.scan.limits import ScanLimits
from modelcards.assess.scan.pickle_findings import stream_findings
from modelcards.assess.scan.pickle_ops import scan_bytes
from modelcards.assess.scan.policy import Verdict, classify


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("numpy", "size.__builtins__"),
        ("numpy", "__builtins__"),
        ("torch._utils", "_rebuild_tensor_v2.__builtins__.get"),
        ("builtins", "object.__subclasses__"),
        ("builtins", "int.__class__.__base__.__subclasses__"),
        ("collections", "OrderedDict.__init__.__globals__"),
        ("collections", "OrderedDict.__getattribute__"),
        ("numpy.random._pickle", "__randomstate_ctor.__code__"),
        ("torch.jit._pickle", "build_intlist.__globals__"),
        ("numpy.core.__dict__", "x"),
        ("copyreg", "_reconstructor.__mro__"),
    ],
)
def test_attribute_walks_to_the_interpreter_are_dangerous(module: str, name: str) -> None:
    verdict, target = classify(module, name)
    assert verdict is Verdict.DANGEROUS, target


def test_gadget_finding_is_critical_and_names_the_attribute() -> None:
    get = stack_global("collections", "OrderedDict.__init__.__globals__")
    findings, _ = stream_findings(scan_bytes(pickle_of(get, 4), ScanLimits()), "x.pkl")
    hit = next(f for f in findings if f.rule == "MC101")
    assert hit.severity is Severity.CRITICAL
    assert hit.evidence["gadget"] == "__globals__" and "__globals__" in hit.message


def test_the_walk_really_reaches_builtins() -> None:
    data = pickle_of(
        stack_global("copyreg", "_reconstructor.__builtins__.get") + b"(" + sbu("len") + b"tR",
        4,
    )
    assert pickle.loads(data) is len  # what the scanner must call code-running


@pytest.mark.parametrize(
    "name",
    [
        "build_intlist",
        "build_tensorlist",
        "build_doublelist",
        "build_boollist",
        "build_tensor_from_id",
        "restore_type_tag",
    ],
)
def test_torchscript_list_builders_are_safe(name: str) -> None:
    assert classify("torch.jit._pickle", name)[0] is Verdict.SAFE


@pytest.mark.parametrize(
    ("module", "name"),
    [("torch.jit._pickle", "_unknown"), ("torch.jit", "load"), ("torch.jit._script", "x")],
)
def test_the_rest_of_torch_jit_stays_dangerous(module: str, name: str) -> None:
    assert classify(module, name)[0] is Verdict.DANGEROUS


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("__builtin__", "set"),  # Python 2's name of builtins, as old pickles of sets say
        ("numpy.random._pickle", "__randomstate_ctor"),
        ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence"),
        ("collections", "OrderedDict"),
    ],
)
def test_dunder_like_safe_names_stay_safe(module: str, name: str) -> None:
    assert classify(module, name)[0] is Verdict.SAFE
