"""The tiny random-weight BERT the tests use, built without any download.

:func:`build_tiny_model` writes a WordPiece ``tokenizer.json``, a BERT
config, random weights (deterministic from a seed) saved as safetensors and
the sentence-transformers side files, so that the whole path (safetensors →
ONNX → encoder) runs in tests. :func:`distillscope.embed.onnx_builder.build_onnx_from_dir`
turns it into ONNX like any checkpoint.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

__all__ = ["build_tiny_model", "tiny_config", "tiny_tensors", "tiny_tokenizer", "tiny_vocab"]

# Bump when the files written here change: a model folder built by an older
# version is rebuilt. (It was the ONNX builder's version, 2, when this code
# lived there; the value is kept so existing tiny models stay valid.)
TINY_MODEL_VERSION = 2

_TINY_WORDS = (
    "the a an of to and in is it that for on with as was are be this by not or have from at which but "
    "they he she we you i his her their our my your model models answer answers question data text "
    "sentence sentences language large small fast slow good bad new old same different first second "
    "one two three four five ten hundred can will would should could may might do does did make made "
    "distill distillation teacher student response similarity score scores token tokens word words "
    "paris france london city capital water cat dog sun moon time year day people world number "
    "code python function return value list table step steps result results because so if then "
    "what who where when why how yes no please thank hello"
).split()
_TINY_SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def tiny_vocab() -> list[str]:
    """A small WordPiece vocabulary: specials, characters, word pieces, words."""
    chars = list("abcdefghijklmnopqrstuvwxyz0123456789") + list(".,;:!?'\"()[]{}-_/\\@#$%^&*+=<>`~|")
    cjk = list("的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年。！？，")
    pieces = ["##" + c for c in "abcdefghijklmnopqrstuvwxyz0123456789"]
    suffixes = ["##s", "##ed", "##ing", "##ly", "##er", "##est", "##tion", "##al", "##ness"]
    vocab: list[str] = []
    for tok in _TINY_SPECIAL + chars + cjk + pieces + suffixes + list(_TINY_WORDS):
        if tok not in vocab:
            vocab.append(tok)
    return vocab


def tiny_tokenizer(vocab: list[str]):
    """A BERT-style WordPiece tokenizer (lower-casing, CJK split, [CLS]/[SEP])."""
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece

    tok = Tokenizer(WordPiece({w: i for i, w in enumerate(vocab)}, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True
    )
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    cls_id, sep_id = vocab.index("[CLS]"), vocab.index("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    # Like the real all-MiniLM-L6-v2 file: a built-in truncation and fixed
    # padding that the encoder must override from the sentence-transformers
    # config (the tests check it does).
    tok.enable_truncation(max_length=16)
    tok.enable_padding(length=16, pad_id=0, pad_token="[PAD]")
    return tok


def tiny_config(
    vocab_size: int, *, hidden: int = 32, layers: int = 2, heads: int = 4, inter: int = 64, max_pos: int = 128
) -> dict:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_act": "gelu",
        "hidden_size": hidden,
        "intermediate_size": inter,
        "layer_norm_eps": 1e-12,
        "max_position_embeddings": max_pos,
        "num_attention_heads": heads,
        "num_hidden_layers": layers,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "type_vocab_size": 2,
        "vocab_size": vocab_size,
    }


def tiny_tensors(config: Mapping, seed: int) -> dict[str, np.ndarray]:
    """Random BERT weights (std 0.2 so that layers mix tokens visibly)."""
    rng = np.random.default_rng(seed)
    h, inter = config["hidden_size"], config["intermediate_size"]

    def w(*shape: int, std: float = 0.2) -> np.ndarray:
        return (rng.standard_normal(shape) * std).astype(np.float32)

    t = {
        "embeddings.word_embeddings.weight": w(config["vocab_size"], h, std=1.0),
        "embeddings.position_embeddings.weight": w(config["max_position_embeddings"], h, std=0.5),
        "embeddings.token_type_embeddings.weight": w(config["type_vocab_size"], h, std=0.5),
        "embeddings.LayerNorm.weight": 1.0 + w(h, std=0.1),
        "embeddings.LayerNorm.bias": w(h, std=0.1),
    }
    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        for n in ("query", "key", "value"):
            t[p + f"attention.self.{n}.weight"] = w(h, h)
            t[p + f"attention.self.{n}.bias"] = w(h, std=0.1)
        t[p + "attention.output.dense.weight"] = w(h, h)
        t[p + "attention.output.dense.bias"] = w(h, std=0.1)
        t[p + "attention.output.LayerNorm.weight"] = 1.0 + w(h, std=0.1)
        t[p + "attention.output.LayerNorm.bias"] = w(h, std=0.1)
        t[p + "intermediate.dense.weight"] = w(inter, h)
        t[p + "intermediate.dense.bias"] = w(inter, std=0.1)
        t[p + "output.dense.weight"] = w(h, inter)
        t[p + "output.dense.bias"] = w(h, std=0.1)
        t[p + "output.LayerNorm.weight"] = 1.0 + w(h, std=0.1)
        t[p + "output.LayerNorm.bias"] = w(h, std=0.1)
    return t


def build_tiny_model(out_dir: str | os.PathLike, *, seed: int = 0, max_seq_length: int = 64) -> Path:
    """Write the tiny random BERT model directory (idempotent, deterministic).

    The directory looks like a sentence-transformers checkpoint: weights,
    config, tokenizer, ``sentence_bert_config.json``, ``modules.json`` and
    the pooling config; :func:`build_onnx_from_dir` then turns it into ONNX
    like any real checkpoint.
    """
    from safetensors.numpy import save_file

    out = Path(out_dir)
    done = out / ".complete"
    if done.is_file() and done.read_text() == f"{TINY_MODEL_VERSION}:{seed}:{max_seq_length}":
        return out
    out.mkdir(parents=True, exist_ok=True)
    vocab = tiny_vocab()
    config = tiny_config(len(vocab))
    tok = tiny_tokenizer(vocab)
    tensors = tiny_tensors(config, seed)
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        tmpd = Path(tmp)
        save_file(tensors, str(tmpd / "model.safetensors"))
        tok.save(str(tmpd / "tokenizer.json"))
        (tmpd / "config.json").write_text(json.dumps(config, indent=2))
        (tmpd / "sentence_bert_config.json").write_text(
            json.dumps({"max_seq_length": max_seq_length, "do_lower_case": False})
        )
        (tmpd / "modules.json").write_text(
            json.dumps(
                [
                    {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                    {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                    {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
                ]
            )
        )
        (tmpd / "1_Pooling").mkdir()
        (tmpd / "1_Pooling" / "config.json").write_text(
            json.dumps(
                {
                    "word_embedding_dimension": config["hidden_size"],
                    "pooling_mode_cls_token": False,
                    "pooling_mode_mean_tokens": True,
                    "pooling_mode_max_tokens": False,
                    "pooling_mode_mean_sqrt_len_tokens": False,
                }
            )
        )
        for f in sorted(tmpd.rglob("*")):
            if f.is_file():
                dest = out / f.relative_to(tmpd)
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(f, dest)
    done.write_text(f"{TINY_MODEL_VERSION}:{seed}:{max_seq_length}")
    return out
