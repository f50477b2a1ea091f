"""The repository keeps its promises: README's commands, CI, layout, config files."""

import re

from bert_tf.cli import SUBCOMMANDS
from tests.conftest import REPO_ROOT


def readme_test_command() -> str:
    text = (REPO_ROOT / "README.md").read_text()
    match = re.search(r"<!-- test-command:[^>]*-->\s*```bash\n(.+?)\n```", text)
    assert match, "README.md lost its marked test command"
    return match.group(1).strip()


def test_ci_runs_exactly_the_readme_test_command():
    command = readme_test_command()
    ci = (REPO_ROOT / ".ci" / "run").read_text().splitlines()
    assert command in [line.strip() for line in ci]
    assert "BERT_TF_DATA=../shared/data" in command and "pytest" in command


def test_readme_main_command_runs_the_pretraining_script_with_its_defaults():
    text = (REPO_ROOT / "README.md").read_text()
    assert "pip install -e . && python scripts/pretrain.py\n" in text
    assert (REPO_ROOT / "configs/pretrain/default.yaml").is_file()


def test_required_top_level_layout():
    for name in ("bert_tf", "scripts", "configs", "tests", "setup.cfg", "README.md", "pyproject.toml"):
        assert (REPO_ROOT / name).exists(), name


def test_scripts_named_in_readme_exist():
    text = (REPO_ROOT / "README.md").read_text()
    for script in set(re.findall(r"scripts/[\w]+\.py", text)):
        assert (REPO_ROOT / script).is_file(), script


def test_cli_subcommands_import():
    import importlib

    for name, (module, _) in SUBCOMMANDS.items():
        assert callable(importlib.import_module(module).main), name
