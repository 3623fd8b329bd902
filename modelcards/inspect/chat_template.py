"""What a chat template does, read from its Jinja source without rendering it.

The template is a model's code: it is parsed (jinja2's parser builds a tree and runs nothing)
and the tree is read for the behaviours a reader must know about — a system prompt injected
when the user gives none, text added to every user turn, tool-call formats, the generation
prompt, thinking blocks kept or stripped, system text emitted without a role header.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateSyntaxError, nodes
from jinja2.ext import Extension, loopcontrols
from jinja2.parser import Parser
from jinja2.sandbox import ImmutableSandboxedEnvironment

from modelcards.inspect.token_roles import format_kind

__all__ = ["TemplateBehaviour", "analyse_template"]

MAX_CHARS = 256 * 1024
QUOTE = 300  # characters of a quoted string kept
TOKEN = re.compile(r"<\|?/?[A-Za-z][\w-]*\|?>|\[/?[A-Z_]+\]")
# any markup a template writes around text: <｜User｜>, <<SYS>>, [INST], <|im_start|>
MARKUP = re.compile(r"<<?/?[^<>\s]{1,60}>>?|\[/?[A-Z_]+\]")
ROLE_WORDS = re.compile(
    r"\b(user|assistant|system|human|bot|gpt|model|tool|ipython|function|instruction|"
    r"response|input|output)\b",
    re.IGNORECASE,
)


class GenerationTag(Extension):
    """`{% generation %}` as transformers parses it (only parsed here, never run)."""

    tags = {"generation"}

    def parse(self, parser: Parser) -> nodes.Node:
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return nodes.Scope(body, lineno=lineno)


# transformers compiles chat templates with trim_blocks and lstrip_blocks: so is the text read here
_ENV = ImmutableSandboxedEnvironment(
    extensions=[GenerationTag, loopcontrols], trim_blocks=True, lstrip_blocks=True
)


@dataclass(frozen=True)
class TemplateBehaviour:
    default_system_prompt: tuple[
        str, ...
    ] = ()  # text used when the conversation has no system turn
    user_turn_text: tuple[str, ...] = ()  # constant text (besides role markers) in every user turn
    uses_tools: bool = False  # reads the `tools` variable
    tool_tokens: tuple[str, ...] = ()  # tool-call tokens the template writes
    generation_prompt: str | None = None  # what add_generation_prompt appends
    generation_prompt_always: bool = False  # an assistant header after every user turn
    thinking: tuple[str, ...] = ()  # what it does with thinking blocks
    system_raw: bool = False  # system text emitted without any role header
    problem: str | None = None  # why it could not be read

    def summary(self) -> list[str]:
        """Short sentences, most consequential first."""
        if self.problem:
            return [f"could not be read: {self.problem}"]
        lines = [f"injects a default system prompt when none is given: {_q(p)}"
                 for p in self.default_system_prompt]  # fmt: skip
        lines += [f"adds {_q(t)} to every user turn" for t in self.user_turn_text]
        if self.uses_tools or self.tool_tokens:
            lines.append("formats tool calls" + (
                f" with {', '.join(self.tool_tokens)}" if self.tool_tokens else ""
            ) + (" (reads `tools`)" if self.uses_tools else ""))  # fmt: skip
        lines += list(self.thinking)
        if self.generation_prompt_always:
            lines.append("writes the assistant header after every user turn, with or without "
                         "add_generation_prompt")  # fmt: skip
        elif self.generation_prompt is not None:
            lines.append(
                f"ends with {_q(self.generation_prompt)} when add_generation_prompt is set"
            )
        if self.system_raw:
            lines.append("emits system text raw, without a role header")
        return lines

    def as_json(self) -> dict[str, Any]:
        return {
            "default_system_prompt": list(self.default_system_prompt),
            "user_turn_text": list(self.user_turn_text),
            "uses_tools": self.uses_tools,
            "tool_tokens": list(self.tool_tokens),
            "generation_prompt": self.generation_prompt,
            "generation_prompt_always": self.generation_prompt_always,
            "thinking": list(self.thinking),
            "system_raw": self.system_raw,
            "problem": self.problem,
            "summary": self.summary(),
        }


def _q(text: str) -> str:
    text = text if len(text) <= QUOTE else text[: QUOTE - 1] + "…"
    return '"' + text.replace("\n", "\\n") + '"'


def _consts(node: nodes.Node) -> Iterator[str]:
    """Constant strings a subtree outputs or assigns (not those it only compares against)."""
    kinds = (nodes.TemplateData, nodes.Output, nodes.Assign)
    for child in [node, *node.find_all(kinds)] if isinstance(node, kinds) else node.find_all(kinds):
        if isinstance(child, nodes.TemplateData):
            yield child.data
        elif isinstance(child, nodes.Output):
            for item in child.nodes:
                for const in _output_consts(item):
                    yield const
        elif isinstance(child, nodes.Assign):
            for const in _output_consts(child.node):
                yield const


def _output_consts(node: nodes.Node) -> Iterator[str]:
    if isinstance(node, nodes.Const) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, (nodes.Add, nodes.Concat)):
        for child in node.iter_child_nodes():
            yield from _output_consts(child)


def _text(const: str) -> str:
    """A constant without its special tokens and the role header they open."""
    text = MARKUP.sub("", const).strip()
    return re.sub(r"^(system|user)\s*[:\n]\s*", "", text, flags=re.IGNORECASE).strip()


def _walk(node: nodes.Node, kind: Any) -> list[Any]:
    """The node itself and every descendant of the kind (`find_all` skips the node itself)."""
    return ([node] if isinstance(node, kind) else []) + list(node.find_all(kind))


def _prose(text: str) -> str:
    """What is left of a constant once tokens, role words and layout are taken out."""
    stripped = ROLE_WORDS.sub(" ", MARKUP.sub(" ", text))
    return " ".join(re.sub(r"[#:\s*>\-=_|]+", " ", stripped).split())


def _mentions(test: nodes.Node, value: str) -> str | None:
    """'eq' or 'ne' when the test compares something with the constant `value`."""
    for compare in _walk(test, nodes.Compare):
        consts = [compare.expr, *(op.expr for op in compare.ops)]
        if any(isinstance(c, nodes.Const) and c.value == value for c in consts):
            op = compare.ops[0].op if compare.ops else "eq"
            negated = isinstance(test, nodes.Not)
            if op in ("eq", "ne"):
                return ("ne" if op == "eq" else "eq") if negated else op
    return None


def _branches(node: nodes.If) -> tuple[list[nodes.Node], list[nodes.Node]]:
    """(the body, everything taken when the test is false: elif branches and else)."""
    other: list[nodes.Node] = [*node.elif_, *node.else_]
    return list(node.body), other


def _without_system(tree: nodes.Template) -> list[str]:
    prompts = []
    for node in tree.find_all(nodes.If):
        how = _mentions(node.test, "system")
        if how is None or not _index_zero_or_flag(node.test):
            continue
        body, other = _branches(node)
        taken = other if how == "eq" else body
        for part in taken:
            for const in _consts(part):
                if len(_prose(const).split()) >= 3:
                    prompts.append(_text(const))
    return list(dict.fromkeys(prompts))


def _index_zero_or_flag(test: nodes.Node) -> bool:
    """The test looks at the first message (messages[0]), not at each message in a loop."""
    for item in _walk(test, nodes.Getitem):
        if isinstance(item.arg, nodes.Const) and item.arg.value == 0:
            return True
    return False


def _role_branches(tree: nodes.Template, role: str) -> list[nodes.Node]:
    found: list[nodes.Node] = []
    for node in tree.find_all(nodes.If):
        if _mentions(node.test, role) == "eq" and not _index_zero_or_flag(node.test):
            found += node.body
    return found


def analyse_template(source: str) -> TemplateBehaviour:
    if len(source) > MAX_CHARS:
        return TemplateBehaviour(problem=f"{len(source):,} characters, more than {MAX_CHARS:,}")
    try:
        tree = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        return TemplateBehaviour(problem=f"line {exc.lineno}: {exc.message}")
    except RecursionError:
        return TemplateBehaviour(problem="nested too deeply to parse")
    try:
        return _read(tree)
    except RecursionError:
        return TemplateBehaviour(problem="nested too deeply to read")


def _read(tree: nodes.Template) -> TemplateBehaviour:
    names = {n.name for n in tree.find_all(nodes.Name)}
    every_const = list(_consts(tree))
    tokens = sorted({t for c in every_const for t in TOKEN.findall(c) if format_kind(t) == "tool-call"}
                    | {t for c in every_const for t in re.findall(r"\[[A-Z_]*TOOL[A-Z_]*\]", c)})  # fmt: skip
    user_text = [
        _text(c) for part in _role_branches(tree, "user") for c in _consts(part) if _prose(c)
    ]
    system_parts = _role_branches(tree, "system")
    system_raw = bool(system_parts) and not any(
        c.strip() for part in system_parts for c in _consts(part)
    )
    if not system_parts:  # `{% if messages[0].role == 'system' %}{% set s = … %}` then `{{ s }}`
        system_raw = _system_assigned_raw(tree)
    generation, always = _generation_prompt(tree)
    return TemplateBehaviour(
        default_system_prompt=tuple(_without_system(tree)),
        user_turn_text=tuple(dict.fromkeys(user_text)),
        uses_tools="tools" in names,
        tool_tokens=tuple(tokens),
        generation_prompt=generation,
        generation_prompt_always=always,
        thinking=tuple(_thinking(tree, every_const, names)),
        system_raw=system_raw,
    )


def _system_assigned_raw(tree: nodes.Template) -> bool:
    for node in tree.find_all(nodes.If):
        if _mentions(node.test, "system") == "eq" and _index_zero_or_flag(node.test):
            assigned = {a.target.name for a in node.find_all(nodes.Assign)
                        if isinstance(a.target, nodes.Name)}  # fmt: skip
            for output in tree.find_all(nodes.Output):
                reads = any(isinstance(n, nodes.Name) and n.name in assigned for n in output.nodes)
                if reads and not any(c.strip() for n in output.nodes for c in _output_consts(n)):
                    return True
    return False


def _generation_prompt(tree: nodes.Template) -> tuple[str | None, bool]:
    for node in tree.find_all(nodes.If):
        if any(n.name == "add_generation_prompt" for n in _walk(node.test, nodes.Name)):
            text = "".join(c for part in node.body for c in _consts(part))
            if text.strip():
                return text, False
    for part in _role_branches(tree, "user"):
        for const in _consts(part):
            if re.search(r"assistant\W*$", const.strip(), re.IGNORECASE) and TOKEN.search(const):
                return None, True
    return None, False


def _thinking(tree: nodes.Template, consts: list[str], names: set[str]) -> list[str]:
    notes = []
    think = sorted({t for c in consts for t in TOKEN.findall(c) if format_kind(t) == "thinking"})
    stripped = any(
        isinstance(call.node, nodes.Getattr) and call.node.attr in ("split", "rsplit")
        and any(isinstance(a, nodes.Const) and isinstance(a.value, str)
                and format_kind(a.value.strip()) == "thinking" for a in call.args)
        for call in tree.find_all(nodes.Call)
    )  # fmt: skip
    if stripped:
        notes.append("strips thinking blocks from earlier assistant turns")
    if think:
        notes.append("writes thinking tags " + ", ".join(think))
    if "enable_thinking" in names:
        notes.append("has a thinking switch (enable_thinking)")
    return notes
