"""CLIP's tokenizer vocabulary, for the base models whose tokenizer files are not at hand (single-file
checkpoints, the full-size random-weight architectures): built at run time from the BPE merges file that
OpenAI's CLIP package (`openai-clip` on PyPI, in the [ml] extra) ships, so no hub download is needed and no copy
lives in this repository. Every SD 1.x and SDXL text encoder uses this one vocabulary."""

from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path

from transformers.convert_slow_tokenizer import bytes_to_unicode

VOCAB_SIZE = 49408
_SOURCE_PACKAGE = "clip"
_MERGES_FILE = "bpe_simple_vocab_16e6.txt.gz"
# CLIP keeps the first merges of the file only: its vocabulary is 256 bytes, 256 word-final bytes, the merges
# and two special tokens, 49408 in all.
_MERGE_COUNT = VOCAB_SIZE - 2 * 256 - 2
SPECIAL_TOKENS = ("<|startoftext|>", "<|endoftext|>")


def merges_file() -> Path:
    """The gzipped merges file inside the installed `clip` package, found without importing it (importing clip
    imports torchvision)."""
    spec = importlib.util.find_spec(_SOURCE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"{_SOURCE_PACKAGE} (the openai-clip package of the [ml] extra) is not "
                                  f"installed: it carries CLIP's tokenizer vocabulary")
    return Path(spec.submodule_search_locations[0]) / _MERGES_FILE


def clip_merges() -> list[str]:
    """The merges CLIP uses, one "left right" pair a line (the file's first line is a header)."""
    lines = gzip.decompress(merges_file().read_bytes()).decode("utf-8").split("\n")
    return lines[1:1 + _MERGE_COUNT]


def clip_vocab(merges: list[str]) -> dict[str, int]:
    """Token ids in the order of CLIP's own SimpleTokenizer: the byte symbols, the same ending a word, every
    merge's result, then the start and end of text."""
    symbols = list(bytes_to_unicode().values())
    tokens = symbols + [f"{symbol}</w>" for symbol in symbols] + [merge.replace(" ", "") for merge in merges]
    vocab = {token: index for index, token in enumerate([*tokens, *SPECIAL_TOKENS])}
    assert len(vocab) == VOCAB_SIZE, f"CLIP's vocabulary has {VOCAB_SIZE} tokens, built {len(vocab)}"
    return vocab


def write_clip_tokenizer_files(directory: Path) -> None:
    """`vocab.json` and `merges.txt` in the layout transformers' CLIPTokenizer reads."""
    merges = clip_merges()
    vocab = json.dumps(clip_vocab(merges), ensure_ascii=False)
    (directory / "vocab.json").write_text(vocab, encoding="utf-8")
    (directory / "merges.txt").write_text("\n".join(["#version: 0.2", *merges]) + "\n", encoding="utf-8")
