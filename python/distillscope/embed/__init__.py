"""Embeddings: the ONNX sentence encoder, its cache, model files and the ONNX graph builder."""
