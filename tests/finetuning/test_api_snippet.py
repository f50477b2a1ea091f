"""The README/docs Python API snippet (docs/finetuning.md) runs as written on a small subset."""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "finetuning.md"
#: The snippet's one line of user paths; the tests put theirs in its place.
PATHS_LINE = 'checkpoint, glue_dir = "path/to/checkpoint", "path/to/glue"'


def api_snippet(name: str = "api-snippet", path: pathlib.Path = DOCS) -> str:
    text = path.read_text(encoding="utf-8")
    match = re.search(rf"<!-- {name} -->\n```python\n(.*?)```", text, re.S)
    assert match, f"{path.name} lost its <!-- {name} --> block"
    return match.group(1)


def without_user_paths(code: str) -> str:
    """The snippet with its placeholder paths line removed (the test supplies the paths)."""
    lines = code.splitlines(keepends=True)
    placeholder = [i for i, line in enumerate(lines) if line.startswith(PATHS_LINE)]
    assert len(placeholder) == 1, "the snippet must set checkpoint and glue_dir on one line"
    return "".join(lines[: placeholder[0]] + lines[placeholder[0] + 1 :])


def test_readme_shows_the_same_snippet():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    if "<!-- api-snippet -->" not in readme:
        pytest.skip("README.md has no fine-tuning snippet (<!-- api-snippet --> block) yet")
    assert api_snippet(path=ROOT / "README.md") == api_snippet()


def test_snippet_is_about_a_dozen_lines():
    code = [line for line in api_snippet().splitlines() if line.strip()]
    assert len(code) <= 15


def test_snippet_fine_tunes_from_raw_text(shared_data, tiny_real_vocab_checkpoint, monkeypatch):
    import bert_tf.data.glue as glue
    from bert_tf.finetuning.subset import fixed_subset

    read = glue.read_glue_split

    def small_split(data_dir, task, split, **kwargs):  # the same code on 48 examples per split
        data = read(data_dir, task, split, **kwargs)
        data.examples = fixed_subset(data.examples, 48, seed=0)
        return data

    monkeypatch.setattr(glue, "read_glue_split", small_split)
    namespace = {"checkpoint": str(tiny_real_vocab_checkpoint), "glue_dir": str(shared_data / "glue")}
    exec(compile(without_user_paths(api_snippet()), str(DOCS), "exec"), namespace)
    model, train_ds = namespace["model"], namespace["train_ds"]
    history = model.history.history
    assert len(train_ds) == 2 and len(history["loss"]) == 3
    assert set(history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert model.optimizer.iterations.numpy() == 6
    # The schedule is the paper's: warm-up 10 % of 6 steps (1), then linear decay to 0.
    assert float(model.optimizer.learning_rate) == pytest.approx(0.0, abs=1e-12)


def test_tagging_snippet_fine_tunes_a_tagger(shared_data, tiny_real_vocab_checkpoint, monkeypatch):
    import bert_tf.data.conll as conll
    from bert_tf.finetuning.subset import fixed_subset

    read = conll.read_conll2003

    def small_split(data_dir, split, **kwargs):
        data = read(data_dir, split, **kwargs)
        data.sentences = fixed_subset(data.sentences, 40, seed=0)
        return data

    monkeypatch.setattr(conll, "read_conll2003", small_split)
    namespace = {"checkpoint": str(tiny_real_vocab_checkpoint),
                 "conll_dir": str(shared_data / "ner" / "conll2003")}  # fmt: skip
    imports = api_snippet().split(PATHS_LINE)[0]  # the first snippet's imports
    exec(compile(imports + api_snippet("tagging-snippet"), str(DOCS), "exec"), namespace)
    tagger, windows = namespace["tagger"], namespace["windows"]
    assert len(windows) == 40 and tagger.optimizer.iterations.numpy() == 6
    assert set(tagger.history.history) == {"loss", "token_accuracy"}
