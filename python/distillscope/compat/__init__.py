"""Drop-in APIs of rouge-score, sacrebleu and bert-score on distillscope's kernels.

Swap the import and keep the calls::

    from distillscope.compat import rouge_scorer   # was: from rouge_score import rouge_scorer
    from distillscope.compat import sacrebleu      # was: import sacrebleu
    from distillscope.compat import bert_score     # was: import bert_score

Results equal the peers' (checked by the parity tests in tests/compat/);
where a peer feature is not covered, the call raises with a one-line
message saying so rather than returning something different.
"""
