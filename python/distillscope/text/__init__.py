"""Text: tokenizers, segmentation, lexical metrics (ROUGE, BLEU, chrF, n-gram overlap), style features and sentence alignment."""
