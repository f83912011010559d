"""Stage 6, the open ends: cross-genre prompting (``crossprompt``), one model for every genre led by a genre token
(``conditional``) and finished runs side by side (``compare_runs``). Imports stages 0-5."""
