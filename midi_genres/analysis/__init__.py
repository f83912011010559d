"""Stage 5, what the models learned: held-out likelihood (``likelihood``, ``heldout``) with its intervals
(``bootstrap``) and the n-gram floor (``ngram``), musical statistics (``features``), memorisation, the models as a
classifier (``fidelity``), the synthetic generators' rules (``synth_rules``) and the summary tables (``summary``).
Imports stages 0-4."""
