"""`bert_tf/export/rest_json.py` against the request/response rules of TF Serving's REST API
(tensorflow_serving/g3doc/api_rest.md: row `instances` vs columnar `inputs`, b64 strings,
`_bytes` outputs, equal batch sizes) — the conversion the fresh-process tests rely on."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bert_tf.export.rest_json import RestError, predict_request_to_tensors, tensors_to_response

SIGNATURE = {"tag": "string", "signal": "int32", "sensor": "float32"}
ROWS = {"instances": [{"tag": "foo", "signal": [1, 2, 3, 4, 5], "sensor": [[1, 2], [3, 4]]},
                      {"tag": "bar", "signal": [3, 4, 1, 2, 5], "sensor": [[4, 5], [6, 8]]}]}  # fmt: skip
COLUMNS = {"inputs": {"tag": ["foo", "bar"], "signal": [[1, 2, 3, 4, 5], [3, 4, 1, 2, 5]],
                      "sensor": [[[1, 2], [3, 4]], [[4, 5], [6, 8]]]}}  # fmt: skip


def test_row_and_columnar_requests_give_the_same_tensors():
    _, rows, row_form = predict_request_to_tensors(json.dumps(ROWS), SIGNATURE)
    name, columns, column_form = predict_request_to_tensors(json.dumps(COLUMNS), SIGNATURE)
    assert (row_form, column_form, name) == ("row", "columnar", "serving_default")
    for key in SIGNATURE:
        np.testing.assert_array_equal(rows[key], columns[key])
    assert rows["sensor"].dtype == np.float32 and rows["sensor"].shape == (2, 2, 2)
    assert rows["tag"].tolist() == [b"foo", b"bar"]


def test_b64_single_input_and_signature_name():
    body = {"signature_name": "serving_tf_example", "instances": [{"b64": "aGVsbG8="}, "plain"]}
    name, tensors, _ = predict_request_to_tensors(body, {"examples": "string"})
    assert name == "serving_tf_example" and tensors["examples"].tolist() == [b"hello", b"plain"]


@pytest.mark.parametrize("body, message", [
    ({"instances": [{"tag": "a", "signal": [1], "sensor": [[1.0]]},
                    {"tag": "b", "signal": [1, 2], "sensor": [[1.0]]}]}, "Expecting shape"),
    ({"instances": [{"tag": "a", "signal": [1.5], "sensor": [[1.0]]}]}, "not of expected type: int32"),
    ({"instances": [{"tag": "a", "signal": [1]}]}, "keys must be equal to"),
    ({"instances": ["a"]}, "expecting list of objects"),
    ({"inputs": {"tag": ["a"], "signal": [[1]]}}, "Missing named input: sensor"),
    ({"instances": [], "inputs": {}}, "only one of 'inputs' or 'instances'"),
    ({"instances": []}, "No values in 'instances'"),
])  # fmt: skip
def test_requests_tf_serving_rejects(body, message):
    with pytest.raises(RestError, match=message):
        predict_request_to_tensors(json.dumps(body), SIGNATURE)


def test_responses_row_and_columnar():
    outputs = {"label": np.array([b"pos", b"neg"], dtype=object), "score": np.array([0.5, 0.25], np.float32),
               "raw_bytes": np.array([b"\xff", b"ok"], dtype=object)}  # fmt: skip
    rows = json.loads(tensors_to_response(outputs, "row"))
    assert rows == {"predictions": [{"label": "pos", "raw_bytes": {"b64": "/w=="}, "score": 0.5},
                                    {"label": "neg", "raw_bytes": {"b64": "b2s="}, "score": 0.25}]}  # fmt: skip
    columns = json.loads(tensors_to_response(outputs, "columnar"))
    assert columns["outputs"]["label"] == ["pos", "neg"] and columns["outputs"]["score"] == [0.5, 0.25]
    single = json.loads(tensors_to_response({"label": outputs["label"]}, "row"))
    assert single == {"predictions": ["pos", "neg"]}  # one output: plain values per example
    with pytest.raises(RestError, match="inconsistent batch size"):
        tensors_to_response({"a": np.zeros(2), "b": np.zeros(3)}, "row")
