"""The names of the small files a model's facts are read from: its tokenizer files, training
records, checkpoint states, processor configs and sentence-transformers' files.

They live here, below `inspect`, because two stages need them: `inspect` reads them, and a lock
(`resolve/lock.py`) keeps them so that `inspect` can read them offline.
"""

from __future__ import annotations

import re

TOKENIZER_FILES = (
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "tokenizer.json",
    "tokenizer.model",
    "vocab.json",
    "vocab.txt",
    "merges.txt",
    "chat_template.jinja",
    "chat_template.json",
)
# configs beside config.json that change what a model computes: sentence-transformers' pipeline
# and a GPTQ branch's settings (a module's own folder config is named by modules.json)
ST_CONFIG = "config_sentence_transformers.json"  # with the sentence-transformers version
MODULE_FILES = (
    "modules.json", "sentence_bert_config.json", ST_CONFIG, "quantize_config.json",
)  # fmt: skip
RESULT_FILES = (
    "all_results.json",
    "train_results.json",
    "eval_results.json",
    "test_results.json",
    "predict_results.json",
)
CHECKPOINT_STATE = re.compile(r"^checkpoint-(\d+)/trainer_state\.json$")
PROCESSOR_FILES = (
    "preprocessor_config.json",  # a feature extractor (audio) or an image processor
    "processor_config.json",
    "video_preprocessor_config.json",
)
# the files a training recipe is read from (inspect/recipe_sources.py), at the top level or in
# the latest checkpoint-N folder; axolotl YAMLs are found by their keys, not by name
RECIPE_FILES = (
    "training_args.bin",
    "training_args.json",
    "training_args.yaml",
    "args.json",
    "llamaboard_config.yaml",
    "trainer_log.jsonl",
    "quantize_config.json",
    "mergekit_config.yml",
)
# the JSON files a chat template can be stored in (besides a `.jinja` file)
TEMPLATE_CARRIERS = frozenset(
    {"tokenizer_config.json", "chat_template.json", "processor_config.json"}
)
