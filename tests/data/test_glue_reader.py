"""GLUE TSV reader: the real files, every task layout, and bad input."""

from __future__ import annotations

import collections

import pytest

from bert_tf.data.glue import GLUE_TASKS, glue_task, read_glue_split, read_glue_tsv
from bert_tf.data.read_stats import DataFormatError

# (task, split) -> rows, {label name: count}, first text, first pair (shared/data/README.md).
REAL = {
    ("SST-2", "train"): (67349, {"1": 37569, "0": 29780},
                         "hide new secretions from the parental units ", None),
    ("SST-2", "dev"): (872, {"1": 444, "0": 428},
                       "it 's a charming and often affecting journey . ", None),
    ("MRPC", "train"): (3668, {"1": 2474, "0": 1194}, "Amrozi accused his brother, whom he called "
                        '"the witness", of deliberately distorting his evidence.',
                        'Referring to him as only "the witness", Amrozi accused his brother of '
                        "deliberately distorting his evidence."),
    ("MRPC", "dev"): (408, {"1": 279, "0": 129}, "He said the foodservice pie business doesn't "
                      "fit the company's long-term growth strategy.", '"The foodservice pie '
                      "business does not fit our long-term growth strategy."),
    ("RTE", "train"): (2490, {"entailment": 1249, "not_entailment": 1241},
                       "No Weapons of Mass Destruction Found in Iraq Yet.",
                       "Weapons of Mass Destruction Found in Iraq."),
    ("RTE", "dev"): (277, {"entailment": 146, "not_entailment": 131}, None, None),
    ("CoLA", "train"): (8551, {"1": 6023, "0": 2528}, "Our friends won't buy this analysis, "
                        "let alone the next one we propose.", None),
    ("CoLA", "dev"): (1043, {"1": 719, "0": 324},
                      "The sailors rode the breeze clear of the rocks.", None),
}  # fmt: skip


@pytest.mark.parametrize(("task", "split"), sorted(REAL))
def test_real_glue_files(shared_data, task, split):
    rows, label_counts, first_text, first_pair = REAL[(task, split)]
    data = read_glue_split(shared_data / "glue", task, split)
    assert len(data) == rows
    assert data.stats.read == data.stats.kept == rows and not data.stats.skipped
    counts = collections.Counter(data.label_names[i] for i in data.labels().tolist())
    assert counts == label_counts
    first = data.examples[0]
    if first_text is not None:
        assert first.text == first_text
        assert first.text_pair == first_pair
    assert data.has_text_pairs == (glue_task(task).text_pair_column is not None)
    assert (data.stats.events["utf8_bom"] == 1) == (task == "MRPC")
    assert all(ex.text.strip() for ex in data.examples)


def _write(path, text: str, bom: bool = False):
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


# One tiny file per layout as distributed by GLUE: (task, file text, expected examples).
LAYOUTS = [
    ("qqp", "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n"
            "7\t15\t16\tHow do I \"read\" this?\tWhat's that?\t1\n",
     [("How do I \"read\" this?", "What's that?", 1)]),
    ("mnli", "index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\t"
             "sentence1_parse\tsentence2_parse\tsentence1\tsentence2\tlabel1\tgold_label\n"
             "0\t1\t2\tgov\t( a )\t( b )\t(ROOT a)\t(ROOT b)\tPremise .\tHypothesis .\tneutral"
             "\tneutral\n",
     [("Premise .", "Hypothesis .", 2)]),
    ("qnli", "index\tquestion\tsentence\tlabel\n0\tWhy?\tBecause.\tnot_entailment\n",
     [("Why?", "Because.", 1)]),
    ("wnli", "index\tsentence1\tsentence2\tlabel\n0\tA b.\tC d.\t1\n", [("A b.", "C d.", 1)]),
    ("stsb", "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2"
             "\tscore\n0\tmain\tf\t2012\t1\tnone\tnone\tA plane.\tAn air plane.\t5.000\n",
     [("A plane.", "An air plane.", 5.0)]),
    ("sst2", "index\tsentence\n0\tunlabelled test sentence\n",
     [("unlabelled test sentence", None, None)]),
    ("cola", "index\tsentence\n0\tTest sentence.\n", [("Test sentence.", None, None)]),
    ("cola", "gj04\t0\t*\tHe \"left\".\r\nab12\t1\t\tShe stayed.\r\n",
     [('He "left".', None, 0), ("She stayed.", None, 1)]),
    ("mrpc", "index\t#1 ID\t#2 ID\t#1 String\t#2 String\n0\t1\t2\tOne.\tTwo.\n",
     [("One.", "Two.", None)]),
]  # fmt: skip


@pytest.mark.parametrize(("task", "text", "expected"), LAYOUTS)
def test_task_layouts(tmp_path, task, text, expected):
    data = read_glue_tsv(_write(tmp_path / "f.tsv", text, bom=task == "mrpc"), task)
    assert [(e.text, e.text_pair, e.label) for e in data.examples] == expected
    assert data.label_names == GLUE_TASKS[task].label_names
    assert data.is_regression == (task == "stsb")
    assert data.examples[0].guid.startswith("f.tsv:")


def test_mnli_label_order_and_splits(tmp_path):
    assert GLUE_TASKS["mnli"].label_names == ("contradiction", "entailment", "neutral")
    assert GLUE_TASKS["rte"].label_names == ("entailment", "not_entailment")
    with pytest.raises(ValueError, match="splits"):
        read_glue_split(tmp_path, "mnli", "dev")
    with pytest.raises(FileNotFoundError, match="MNLI"):
        read_glue_split(tmp_path, "mnli", "dev_matched")


def test_split_in_task_dir_or_root(tmp_path):
    (tmp_path / "SST-2").mkdir()
    _write(tmp_path / "SST-2" / "dev.tsv", "sentence\tlabel\ngood \t1\n")
    assert len(read_glue_split(tmp_path, "sst-2", "dev")) == 1
    assert len(read_glue_split(tmp_path / "SST-2", "SST2", "dev")) == 1


SST2_BAD = "sentence\tlabel\ngood \t1\ntoo\tmany\tfields\nbad label\t2\nfine\t0\n"


def test_bad_rows_raise_with_file_and_line(tmp_path):
    path = _write(tmp_path / "train.tsv", SST2_BAD)
    with pytest.raises(DataFormatError, match=r"train\.tsv:3: malformed row: expected 2"):
        read_glue_tsv(path, "sst2")
    path = _write(tmp_path / "dev.tsv", "sentence\tlabel\ngood\t1\nbad\tpositive\n")
    with pytest.raises(DataFormatError, match=r"dev\.tsv:3: label 'positive' is not in"):
        read_glue_tsv(path, "sst2")


def test_bad_rows_skipped_and_counted(tmp_path):
    data = read_glue_tsv(_write(tmp_path / "train.tsv", SST2_BAD + "\n\n"), "sst2", errors="skip")
    assert [e.text for e in data.examples] == ["good ", "fine"]
    stats = data.stats
    assert (stats.read, stats.kept, stats.num_skipped) == (4, 2, 2)
    assert stats.skipped == {"malformed_row": 1, "bad_label": 1}
    assert stats.events["blank_lines"] == 2  # the two extra empty lines at the end
    assert "train.tsv:3" in stats.messages[0]
    assert "skipped 2" in stats.summary()


@pytest.mark.parametrize(
    ("score", "message"), [("5.5", "outside the range"), ("high", "not a number"),
                           ("nan", "not finite")],
)  # fmt: skip
def test_stsb_bad_scores(tmp_path, score, message):
    text = LAYOUTS[4][1].replace("\t5.000\n", f"\t{score}\n")
    with pytest.raises(DataFormatError, match=message):
        read_glue_tsv(_write(tmp_path / "dev.tsv", text), "stsb")


def test_wrong_header_missing_file_and_bad_utf8(tmp_path):
    with pytest.raises(DataFormatError, match=r"not a GLUE rte file.*sentence1"):
        read_glue_tsv(_write(tmp_path / "x.tsv", "sentence\tlabel\na\t1\n"), "rte")
    with pytest.raises(FileNotFoundError, match="nope.tsv"):
        read_glue_tsv(tmp_path / "nope.tsv", "rte")
    path = tmp_path / "utf.tsv"
    path.write_bytes(b"sentence\tlabel\ngood\t1\nbad \xff byte\t0\n")
    with pytest.raises(DataFormatError, match=r"utf\.tsv:3: invalid UTF-8 \(bytes 0xff"):
        read_glue_tsv(path, "sst2")
    with pytest.raises(ValueError, match="errors must be"):
        read_glue_tsv(path, "sst2", errors="ignore")


def test_empty_file(tmp_path):
    data = read_glue_tsv(_write(tmp_path / "e.tsv", ""), "sst2")
    assert len(data) == 0 and data.stats.read == 0
