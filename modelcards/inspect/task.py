"""What a model does (its Hub task) and what it takes in and gives out, each with the file it
was read from.

The task is taken, in order, from the author's `pipeline_tag`, the card's model-index, the
architecture class (a table of transformers' model-class names, never a guess from a suffix
alone: an unknown `*ForConditionalGeneration` gets no task), and an adapter's peft `task_type`.
Input modalities come from the processor configs first (a feature extractor means audio, an
image processor images), then from the task.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

# model class pattern -> Hub task; specific patterns first, the generic suffixes last
_SEQ2SEQ_TEXT = (
    "T5|MT5|UMT5|LongT5|Bart|MBart|Pegasus|PegasusX|M2M100|NllbMoe|BigBirdPegasus|LED"
    "|Blenderbot|BlenderbotSmall|ProphetNet|XLMProphetNet|PLBart|SwitchTransformers|FSMT|Mvp"
)
_IMAGE_TEXT = (
    r"Llava\w*|Idefics\d*|Qwen2VL|Qwen2_5_VL|Qwen3VL\w*|PaliGemma|Mllama|Gemma3|Mistral3|Llama4"
    r"|SmolVLM|AyaVision|InternVL|Florence2|Kosmos2"
)
ARCHITECTURE_TASKS: tuple[tuple[str, str | None], ...] = (
    (r"(Whisper|Speech2Text|Speecht5|SeamlessM4T\w*)ForConditionalGeneration", "automatic-speech-recognition"),
    (r"\w*ForSpeechSeq2Seq|SpeechEncoderDecoderModel", "automatic-speech-recognition"),
    (r"\w*ForCTC", "automatic-speech-recognition"),
    (r"\w*ForAudioClassification", "audio-classification"),
    (rf"({_IMAGE_TEXT})ForConditionalGeneration", "image-text-to-text"),
    (r"\w*ForVision2Seq|\w*ForImageTextToText", "image-text-to-text"),
    (r"VisionEncoderDecoderModel", "image-to-text"),
    (r"(CLIP|Siglip|Siglip2|ChineseCLIP|AltCLIP)Model", "zero-shot-image-classification"),
    (r"\w*ForImageClassification\w*", "image-classification"),
    (r"\w*ForObjectDetection", "object-detection"),
    (r"\w*For(Semantic|Instance|Universal)Segmentation", "image-segmentation"),
    (rf"({_SEQ2SEQ_TEXT})ForConditionalGeneration|MarianMTModel|\w*ForSeq2SeqLM", "text2text-generation"),
    (r"\w*ForCausalLM|\w*LMHeadModel", "text-generation"),
    (r"\w*ForMaskedLM", "fill-mask"),
    (r"\w*ForSequenceClassification", "text-classification"),
    (r"\w*ForTokenClassification", "token-classification"),
    (r"\w*ForQuestionAnswering", "question-answering"),
    (r"\w*ForMultipleChoice", None),  # known, but the Hub has no multiple-choice task
)  # fmt: skip
ADAPTER_TASKS = {
    "CAUSAL_LM": "text-generation",
    "SEQ_2_SEQ_LM": "text2text-generation",
    "SEQ_CLS": "text-classification",
    "TOKEN_CLS": "token-classification",
    "QUESTION_ANS": "question-answering",
    "FEATURE_EXTRACTION": "feature-extraction",
}
# Hub task -> (inputs, outputs)
TASK_MODALITIES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "text-generation": (("text",), ("text",)),
    "text2text-generation": (("text",), ("text",)),
    "text-classification": (("text",), ("class labels",)),
    "token-classification": (("text",), ("per-token labels",)),
    "question-answering": (("text",), ("text span",)),
    "fill-mask": (("text",), ("token probabilities",)),
    "feature-extraction": (("text",), ("embedding vectors",)),
    "sentence-similarity": (("text",), ("embedding vectors",)),
    "automatic-speech-recognition": (("audio",), ("text",)),
    "audio-classification": (("audio",), ("class labels",)),
    "image-text-to-text": (("image", "text"), ("text",)),
    "image-to-text": (("image",), ("text",)),
    "zero-shot-image-classification": (("image", "text"), ("class scores",)),
    "image-classification": (("image",), ("class labels",)),
    "object-detection": (("image",), ("bounding boxes",)),
    "image-segmentation": (("image",), ("segmentation masks",)),
}
SENTENCE_TRANSFORMERS_FILE = "modules.json"


@dataclass(frozen=True)
class Sourced:
    """A value and the file (and key) it was read from."""

    value: str
    source: str


@dataclass(frozen=True)
class TaskFacts:
    pipeline_tag: Sourced | None  # the Hub task; None when no file says it
    inputs: tuple[Sourced, ...]  # modalities: "text", "audio", "image", "video"
    outputs: tuple[Sourced, ...]
    sampling_rate: Sourced | None = None  # audio, e.g. "16000 Hz"
    image_size: Sourced | None = None  # e.g. "224x224"
    processor: Sourced | None = None  # feature extractor / image processor / processor class
    # what the architecture alone says, kept so that a card's own pipeline_tag can be checked
    architecture_task: Sourced | None = None

    def as_json(self) -> dict[str, Any]:
        def one(s: Sourced | None) -> dict[str, str] | None:
            return None if s is None else {"value": s.value, "source": s.source}

        return {
            "pipeline_tag": one(self.pipeline_tag),
            "inputs": [one(s) for s in self.inputs],
            "outputs": [one(s) for s in self.outputs],
            "sampling_rate": one(self.sampling_rate),
            "image_size": one(self.image_size),
            "processor": one(self.processor),
        }


def architecture_task(cls: str, present: Collection[str] = ()) -> str | None:
    """The Hub task of a transformers model class, or None when the table does not know it.

    A bare `*Model` is an encoder whose use its files say: sentence-transformers' modules.json
    makes it a sentence-similarity model; without it, no task.
    """
    for pattern, task in ARCHITECTURE_TASKS:
        if re.fullmatch(pattern, cls):
            return task
    if cls.endswith("Model") and SENTENCE_TRANSFORMERS_FILE in present:
        return "sentence-similarity"
    return None


def _model_index_task(meta: Mapping[str, Any]) -> str | None:
    index = meta.get("model-index")
    for model in index if isinstance(index, list) else []:
        results = model.get("results") if isinstance(model, dict) else None
        for result in results if isinstance(results, list) else []:
            task = result.get("task") if isinstance(result, dict) else None
            kind = task.get("type") if isinstance(task, dict) else None
            if isinstance(kind, str) and kind.strip():
                return kind.strip()
    return None


def _architecture_claim(
    config: Mapping[str, Any] | None, present: Collection[str]
) -> Sourced | None:
    archs = (config or {}).get("architectures")
    cls = archs[0] if isinstance(archs, list) and archs and isinstance(archs[0], str) else None
    task = architecture_task(cls, present) if cls else None
    if not task:
        return None
    where = f"config.json architectures ({cls})"
    if task == "sentence-similarity":
        where += f" with {SENTENCE_TRANSFORMERS_FILE}"
    return Sourced(task, where)


def _pipeline_tag(
    config: Mapping[str, Any] | None,
    card_meta: Mapping[str, Any],
    adapter: Mapping[str, Any] | None,
    present: Collection[str],
) -> Sourced | None:
    """The first claim in order wins; where a later, file-based claim agrees, that one is
    cited: a tag a build wrote into the card (the author's key from then on) keeps citing the
    file it came from, so the card does not change on the next build."""
    claims: list[Sourced] = []
    tag = card_meta.get("pipeline_tag")
    if isinstance(tag, str) and tag.strip():
        claims.append(Sourced(tag.strip(), "README.md pipeline_tag"))
    indexed = _model_index_task(card_meta)
    if indexed:
        claims.append(Sourced(indexed, "README.md model-index"))
    by_class = _architecture_claim(config, present)
    if by_class:
        claims.append(by_class)
    kind = (adapter or {}).get("task_type")
    if isinstance(kind, str) and kind in ADAPTER_TASKS:
        claims.append(Sourced(ADAPTER_TASKS[kind], f"adapter_config.json task_type ({kind})"))
    if not claims:
        return None
    return next(c for c in reversed(claims) if c.value == claims[0].value)


def _size(value: Any) -> str | None:
    """An image processor's `size`: an int, {"height", "width"}, {"shortest_edge"}."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value}x{value}"
    if isinstance(value, dict):
        if isinstance(value.get("height"), int) and isinstance(value.get("width"), int):
            return f"{value['height']}x{value['width']}"
        for key in ("shortest_edge", "longest_edge"):
            if isinstance(value.get(key), int):
                return f"{key.replace('_', ' ')} {value[key]}"
    return None


@dataclass(frozen=True)
class _Processing:
    modalities: tuple[Sourced, ...]
    sampling_rate: Sourced | None
    image_size: Sourced | None
    processor: Sourced | None


def _processing(processors: Mapping[str, Mapping[str, Any]]) -> _Processing:
    """What the processor configs say about the inputs (file name -> its JSON object)."""
    found: dict[str, Sourced] = {}
    rate = size = processor = None
    for name, values in processors.items():
        extractor = values.get("feature_extractor_type")
        if isinstance(extractor, str) or isinstance(values.get("sampling_rate"), int):
            key = "feature_extractor_type" if isinstance(extractor, str) else "sampling_rate"
            shown = f" ({extractor})" if isinstance(extractor, str) else ""
            found.setdefault("audio", Sourced("audio", f"{name} {key}{shown}"))
        if isinstance(values.get("sampling_rate"), int) and rate is None:
            rate = Sourced(f"{values['sampling_rate']} Hz", f"{name} sampling_rate")
        images = values.get("image_processor_type")
        if isinstance(images, str) or (
            values.get("image_mean") is not None and _size(values.get("size"))
        ):
            key = "image_processor_type" if isinstance(images, str) else "size"
            shown = f" ({images})" if isinstance(images, str) else ""
            found.setdefault("image", Sourced("image", f"{name} {key}{shown}"))
            if size is None and _size(values.get("size")):
                size = Sourced(str(_size(values.get("size"))), f"{name} size")
        if isinstance(values.get("video_processor_type"), str):
            found.setdefault("video", Sourced("video", f"{name} video_processor_type"))
        for key in ("processor_class", "feature_extractor_type", "image_processor_type"):
            if processor is None and isinstance(values.get(key), str):
                processor = Sourced(values[key], f"{name} {key}")
    return _Processing(tuple(found.values()), rate, size, processor)


def read_task(
    config: Mapping[str, Any] | None,
    card_meta: Mapping[str, Any],
    adapter: Mapping[str, Any] | None,
    processors: Mapping[str, Mapping[str, Any]],
    present: Collection[str],
) -> TaskFacts:
    """The task and modalities the model's own files state; nothing where they are silent."""
    tag = _pipeline_tag(config, card_meta, adapter, present)
    seen = _processing(processors)
    inputs = list(seen.modalities)
    outputs: list[Sourced] = []
    if tag and tag.value in TASK_MODALITIES:
        task_in, task_out = TASK_MODALITIES[tag.value]
        because = f"task {tag.value} ({tag.source})"
        have = {s.value for s in inputs}
        inputs += [Sourced(m, because) for m in task_in if m not in have]
        outputs = [Sourced(m, because) for m in task_out]
    return TaskFacts(
        pipeline_tag=tag,
        inputs=tuple(inputs),
        outputs=tuple(outputs),
        sampling_rate=seen.sampling_rate,
        image_size=seen.image_size,
        processor=seen.processor,
        architecture_task=_architecture_claim(config, present),
    )
