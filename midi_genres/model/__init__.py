"""Stage 4, the network: the shared Transformer (``transformer``) and its fused attention kernel
(``fused_attention``), device and precision (``runtime``), checkpoints (``checkpoint``), training (``train``) and
sampling (``sample``). Imports stages 0-3."""
