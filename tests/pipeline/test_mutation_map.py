"""``make mutate``'s map (``bench/mutation/mutate.py``): every module and test file exists."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def mutate_script():
    spec = importlib.util.spec_from_file_location("mutate", ROOT / "bench" / "mutation" /
                                                  "mutate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_module_and_test_file_of_the_map_exists():
    mutate = mutate_script()
    assert mutate.MODULES
    for module, tests in mutate.MODULES.items():
        assert (ROOT / module).is_file() and module.endswith(".py"), module
        assert tests, module
        for path in tests:
            assert (ROOT / path).exists() and path.startswith("tests/"), (module, path)
    for module, functions in mutate.FUNCTIONS.items():
        defined = {line.split("(")[0].removeprefix("def ")
                   for line in (ROOT / module).read_text().splitlines()
                   if line.startswith("def ")}
        assert module in mutate.MODULES and set(functions) <= defined, module
    for module, judged in mutate.EQUIVALENT.items():
        assert module in mutate.MODULES and all(judged.values()), module  # a reason each
        stem = "neuropipe." + module.removesuffix(".py").replace("/", ".") + ".x"
        assert all(name.startswith(stem) for name in judged), module


def test_only_and_tests_pick_from_the_map_or_replace_it(tmp_path):
    mutate = mutate_script()
    assert mutate.plan_of(["core/records.py"], None) == {
        "core/records.py": mutate.MODULES["core/records.py"]}
    assert mutate.plan_of(["core/staging.py"], ["tests/core"]) == {
        "core/staging.py": ("tests/core",)}
    with pytest.raises(ValueError, match="core/staging.py has no tests in MODULES"):
        mutate.plan_of(["core/staging.py"], None)
    plan = {"a.py": ("t1",), "b.py": ("t2",), "c.py": ("t1",)}
    assert mutate.groups_of(plan, tmp_path) == [(tmp_path / "a", ("a.py", "c.py"), ("t1",)),
                                                (tmp_path / "b", ("b.py",), ("t2",))]
    assert mutate.groups_of({"x/a.py": ("t",)}, tmp_path) == [(tmp_path, ("x/a.py",), ("t",))]


def test_the_score_leaves_out_equivalent_mutants(monkeypatch):
    from collections import Counter

    mutate = mutate_script()
    name = "neuropipe.m.x_f__mutmut_"
    monkeypatch.setattr(mutate, "EQUIVALENT", {"m.py": {name + "3": "same value",
                                                         name + "9": "killed anyway"}})
    lines, worst = mutate.score_table({"m.py": (
        Counter({"killed": 8, "survived": 2, "not checked": 5, "new process": 3, "words": 4}),
        [name + "3", name + "4", *(f"{name}{n}" for n in range(10, 15))])})
    # 22 mutants, 5 not run, 4 words only, 1 equivalent survivor: 8 + 3 of 12.
    assert lines[1].split() == ["m.py", "22", "5", "11", "2", "0", "4", "0", "1", "91.7%"]
    assert worst == pytest.approx(11 / 12)
    assert lines[2].endswith(name + "9")


def test_a_mutant_that_changes_only_a_message_counts_as_words(tmp_path):
    mutate = mutate_script()
    source = tmp_path / "mutants" / "neuropipe" / "m.py"
    source.parent.mkdir(parents=True)
    source.write_text(
        "def x_f__mutmut_orig(n):\n"
        "    if n < 0:\n"
        "        raise ValueError(f'no such run: {n}')\n"
        "    return {'joules': n}\n"
        "def x_f__mutmut_1(n):\n"
        "    if n < 0:\n"
        "        raise ValueError(f'XXno such run: XX{n}')\n"
        "    return {'joules': n}\n"
        "def x_f__mutmut_2(n):\n"
        "    if n < 0:\n"
        "        raise ValueError(f'no such run: {n}')\n"
        "    return {'XXjoulesXX': n}\n"  # a key: code, not words
        "def x_f__mutmut_3(n):\n"
        "    if n <= 0:\n"
        "        raise ValueError(f'NO SUCH RUN: {n}')\n"  # words and code changed
        "    return {'joules': n}\n"
        "def x_f__mutmut_4(n):\n"
        "    if n < 0:\n"
        "        raise ValueError(f'NO SUCH RUN: {n}')\n"
        "    return {'joules': n}\n")
    names = [f"neuropipe.m.x_f__mutmut_{k}" for k in (1, 2, 3, 4)]
    assert mutate.words_only(tmp_path, names) == {names[0], names[3]}
    # a package's own module (mutmut names targets/handoff/__init__.py targets.handoff)
    package = tmp_path / "mutants" / "neuropipe" / "p"
    package.mkdir()
    (package / "__init__.py").write_text(source.read_text())
    names = [f"neuropipe.p.x_f__mutmut_{k}" for k in (1, 2)]
    assert mutate.words_only(tmp_path, names) == {names[0]}


def test_only_the_functions_in_scope_of_a_module_count(monkeypatch):
    mutate = mutate_script()
    monkeypatch.setattr(mutate, "FUNCTIONS", {"m.py": ("f", "meth")})
    assert mutate.in_scope("m.py", "neuropipe.m.x_f__mutmut_3")
    assert mutate.in_scope("m.py", "neuropipe.m.xǁCǁmeth__mutmut_1")
    assert not mutate.in_scope("m.py", "neuropipe.m.x_draw__mutmut_2")
    assert not mutate.in_scope("m.py", "neuropipe.m.x_f_label__mutmut_2")
    assert mutate.in_scope("other.py", "neuropipe.other.x_draw__mutmut_2")
