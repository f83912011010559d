"""The package's shape: stages import one way, no import cycles, and the workflow's DAG needs no heavy library."""

import ast
import re
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "midi_genres"
# Stage of each subpackage; a module may import its own stage and earlier ones. present/ reads files only: it sits
# right after core/ and may import nothing else, so that analysis and experiments can draw their figures with it.
STAGES = {"core": 0, "present": 1, "sources": 2, "tokens": 3, "model": 4, "analysis": 5, "experiments": 6}
TOP_LEVEL = 7  # modules directly in midi_genres/ (the command line and the API): may import any stage


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p) for p in PACKAGE.rglob("*.py")}


def imports_of(source: str) -> set[str]:
    """Every midi_genres module imported anywhere in the source (also inside functions); ``from pkg import sub``
    counts as an import of the submodule ``pkg.sub``."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("midi_genres"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in MODULES else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("midi_genres")}
    return found


def stage(module: str) -> int:
    parts = module.split(".")
    return STAGES.get(parts[1], TOP_LEVEL) if len(parts) > 1 else TOP_LEVEL


GRAPH = {module_name(p): imports_of(p.read_text()) for p in PACKAGE.rglob("*.py")}


def test_every_module_belongs_to_a_stage_and_imports_no_later_stage():
    wrong = [(m, i) for m, imported in GRAPH.items() for i in imported if stage(i) > stage(m)]
    assert not wrong, f"imports of a later stage: {wrong}"
    present = [(m, i) for m, imported in GRAPH.items() if stage(m) == STAGES["present"] for i in imported
               if stage(i) not in (STAGES["core"], STAGES["present"])]
    assert not present, f"present/ may import only core/: {present}"


def test_no_import_cycle_inside_the_package():
    def visit(module, path):
        if module in path:
            raise AssertionError("import cycle: " + " -> ".join(path[path.index(module):] + [module]))
        for imported in GRAPH.get(module, ()):
            visit(imported, path + [module])

    for module in GRAPH:
        visit(module, [])


def test_the_graph_sees_imports_inside_functions_and_submodules():
    source = "import os\nfrom midi_genres.core import notes\ndef f():\n    from midi_genres.model.train import train\n"
    assert imports_of(source) == {"midi_genres.core.notes", "midi_genres.model.train"}
    assert stage("midi_genres.model.train") > stage("midi_genres.tokens.event") > stage("midi_genres.core.notes")


def test_what_the_snakefile_imports_loads_no_heavy_library():
    code = ("import sys, midi_genres.present.audio, midi_genres.tokens.base, midi_genres.sources.midi_dir, "
            "midi_genres.sources.synth; heavy = {'torch', 'music21', 'matplotlib', 'pretty_midi'} & set(sys.modules);"
            "print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


REPO = PACKAGE.parent
# The workflow's rule files, one per stage, in the order the data flows; the Snakefile includes them in this order.
RULE_FILES = ["sources", "tokens", "model", "sampling", "analysis", "experiments", "presentation"]


def test_the_snakefile_includes_one_rule_file_per_stage_in_the_order_the_data_flows():
    included = [line.split('"')[1] for line in (REPO / "Snakefile").read_text().splitlines()
                if line.startswith("include:")]
    assert included == ["rules/common.smk"] + [f"rules/{name}.smk" for name in RULE_FILES]
    assert sorted(p.name for p in (REPO / "rules").glob("*.smk")) == sorted(Path(i).name for i in included)


def test_every_rule_script_exists_and_every_workflow_script_is_used_by_a_rule():
    rules_text = "\n".join(p.read_text() for p in (REPO / "rules").glob("*.smk"))
    used = set(re.findall(r'script:\s*"\.\./workflow_scripts/([\w]+\.py)"', rules_text))
    scripts = {p.name for p in (REPO / "workflow_scripts").glob("*.py")}
    assert used - scripts == set(), "rules name scripts that do not exist"
    assert scripts - used == set(), "workflow scripts no rule runs"


def test_every_workflow_script_says_which_rule_runs_it():
    rules_text = "\n".join(p.read_text() for p in (REPO / "rules").glob("*.smk"))
    rules = set(re.findall(r"^(?:rule (\w+):|use rule \w+ as (\w+) with:)", rules_text, re.M))
    names = {a or b for a, b in rules}
    for script in (REPO / "workflow_scripts").glob("*.py"):
        first = script.read_text().split("\n", 1)[0]
        named = re.match(r'"""Rules? (\w+)', first)
        assert named and named[1] in names, f"{script.name}: its docstring names no rule of the workflow ({first})"
