"""Embeddings: the ONNX sentence encoder, its cache, model files and the ONNX graph builder."""

from .encoder import EmbeddingCache, Encoder
from .models import DEFAULT_MODEL, ModelFiles, download_model, list_models, model_available, resolve_model
from .onnx_builder import build_bert_onnx, build_onnx_from_dir, build_tiny_model

__all__ = [
    "DEFAULT_MODEL",
    "EmbeddingCache",
    "Encoder",
    "ModelFiles",
    "build_bert_onnx",
    "build_onnx_from_dir",
    "build_tiny_model",
    "download_model",
    "list_models",
    "model_available",
    "resolve_model",
]
