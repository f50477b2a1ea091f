"""TF Serving's REST JSON <-> tensors conversion for the Predict API, re-stated in Python.

The rules of `tensorflow_serving/util/json_tensor.cc` (`FillPredictRequestFromJson`,
`MakeJsonFromTensors`), which the model server applies to every `/v1/models/<name>:predict`
call, so that a test (or a client) can see exactly which tensors a JSON body becomes and which
JSON a server returns, without running a server:

* request: either `instances` (row format: a non-empty list; with several inputs a list of
  objects holding every input name, each the value of one example, stacked along a new batch
  dimension) or `inputs` (columnar: one value/list for a single input, or an object with
  every input name, each a whole tensor); `signature_name` is optional. Dense shapes only
  (taken from the first element at every level; a ragged list is an error). Strings are the
  UTF-8 bytes of the JSON string, or base64-decoded bytes of `{"b64": "..."}`. int32 takes
  JSON integers only ("1.0" is an error); float takes any number that fits without loss;
  `NaN`/`Infinity` are accepted.
* response: row format -> `{"predictions": [...]}` (one value per example when the signature
  has one output, else one object per example; every output needs the same batch size);
  columnar -> `{"outputs": ...}`. Floats are written in their shortest round-tripping form,
  string outputs whose name ends with `_bytes` as `{"b64": ...}`.

This module imports only the standard library and NumPy (it runs inside the serving test's
fresh process, where bert_tf is not importable).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from typing import Any

import numpy as np

DEFAULT_SIGNATURE = "serving_default"
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
_FLOAT_MAX_INT = 2**24 - 1
_DOUBLE_MAX_INT = 2**53 - 1
_B64_ALPHABET = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")


class RestError(ValueError):
    """A request or response TF Serving would reject (HTTP 400 with this message)."""


def _is_b64(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("b64"), str)


def _decode_b64(value: dict) -> bytes:
    text = value["b64"]
    if not _B64_ALPHABET.match(text):
        raise RestError("Unable to base64 decode")
    try:  # absl::Base64Unescape also accepts input without the trailing '=' padding
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise RestError("Unable to base64 decode") from None


def _leaf(value: Any, dtype: str):
    if isinstance(value, dict):
        if dtype == "string" and _is_b64(value):
            return _decode_b64(value)
        if dtype == "string":
            raise RestError(f"JSON Value: {json.dumps(value)} not formatted correctly for base64 data")
        raise RestError(f"JSON Value: {json.dumps(value)} Type: Object is not of expected type: {dtype}")
    is_int = isinstance(value, int) and not isinstance(value, bool)
    is_number = is_int or isinstance(value, float)
    if dtype == "string":
        if not isinstance(value, str):
            raise RestError(f"JSON Value: {json.dumps(value)} is not of expected type: string")
        try:
            return value.encode("utf-8")
        except UnicodeEncodeError:
            raise RestError("JSON Parse error: The surrogate pair in string is invalid") from None
    if dtype in ("float32", "float64"):
        if not is_number:
            raise RestError(f"JSON Value: {json.dumps(value)} is not of expected type: {dtype}")
        limit = _FLOAT_MAX_INT if dtype == "float32" else _DOUBLE_MAX_INT
        finfo = np.finfo(np.float32 if dtype == "float32" else np.float64)
        if is_int and abs(value) <= _INT64[1] + 1 and abs(value) > limit:
            raise RestError(f"Cannot convert JSON value: {value} to {dtype[:5]} without loss of precision.")
        if not is_int and math.isfinite(value) and not finfo.min <= value <= finfo.max:
            raise RestError(f"Cannot convert JSON value: {value} to {dtype[:5]} without loss of precision.")
        return float(value)
    if dtype in ("int32", "int16", "int8", "uint8"):
        if not is_int or not _INT32[0] <= value <= _INT32[1]:
            raise RestError(f"JSON Value: {json.dumps(value)} is not of expected type: {dtype}")
        return value
    if dtype == "int64":
        if not is_int or not _INT64[0] <= value <= _INT64[1]:
            raise RestError(f"JSON Value: {json.dumps(value)} is not of expected type: int64")
        return value
    if dtype == "bool":
        if not isinstance(value, bool):
            raise RestError(f"JSON Value: {json.dumps(value)} is not of expected type: bool")
        return value
    raise RestError(f"Conversion of JSON Value to type: {dtype} is not implemented")


def _dense_shape(value: Any) -> list[int]:
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        if not value:
            break
        value = value[0]
    return shape


def _to_array(value: Any, dtype: str) -> np.ndarray:
    """A JSON value -> a dense array of `dtype`, with json_tensor.cc's shape checks."""
    shape = _dense_shape(value)
    flat: list = []

    def fill(node, level):
        if not isinstance(node, list):
            if level != len(shape):
                raise RestError(f"JSON Value: {json.dumps(node)} found at incorrect level: "
                                f"{level + 1} in the JSON DOM. Expected at level: {len(shape)}")  # fmt: skip
            flat.append(_leaf(node, dtype))
            return
        if level >= len(shape):
            raise RestError(f"Encountered list at unexpected level: {level} expected < {len(shape)}")
        if len(node) != shape[level]:
            raise RestError(f"Encountered list at unexpected size: {len(node)} at level: {level} "
                            f"expected size: {shape[level]}")  # fmt: skip
        for item in node:
            fill(item, level + 1)

    fill(value, 0)
    if dtype == "string":
        array = np.empty(len(flat), dtype=object)
        array[:] = flat
        return array.reshape(shape)
    return np.asarray(flat, dtype=np.dtype(dtype)).reshape(shape)


def predict_request_to_tensors(
    body: str | bytes | dict, inputs: dict[str, str]
) -> tuple[str, dict[str, np.ndarray], str]:
    """Converts a Predict request body as TF Serving does.

    Args:
        body: the JSON text (or already parsed object).
        inputs: the signature's inputs, name -> dtype name ("string", "int32", "float32"...).

    Returns:
        (signature name, input name -> array, "row" or "columnar").

    Raises:
        RestError: with the model server's message, for bodies it rejects.
    """
    if isinstance(body, (str, bytes)):
        if not body:
            raise RestError("JSON Parse error: The document is empty")
        try:
            body = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise RestError(f"JSON Parse error: {error}") from None
    if not isinstance(body, dict):
        raise RestError("JSON Value: Is not object")
    signature = body.get("signature_name", DEFAULT_SIGNATURE)
    if not isinstance(signature, str):
        raise RestError("'signature_name' key must be a string value.")
    if not inputs:
        raise RestError(f"Failed to get input map for signature: {signature}")
    if "instances" in body and "inputs" in body:
        raise RestError("Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist")
    if "instances" in body:
        return signature, _rows(body["instances"], inputs), "row"
    if "inputs" in body:
        return signature, _columns(body["inputs"], inputs), "columnar"
    raise RestError("Missing 'inputs' or 'instances' key")


def _rows(instances: Any, inputs: dict[str, str]) -> dict[str, np.ndarray]:
    if not isinstance(instances, list):
        raise RestError("Excepting 'instances' to be an list/array")
    if not instances:
        raise RestError("No values in 'instances' array")

    def is_object(value):
        return isinstance(value, dict) and not _is_b64(value)

    objects = is_object(instances[0])
    if not objects and len(inputs) > 1:
        raise RestError("instances is a plain list, but expecting list of objects as multiple "
                        "input tensors required as per tensorinfo_map")  # fmt: skip
    items: dict[str, list[np.ndarray]] = {}
    for index, element in enumerate(instances):
        if objects != is_object(element):
            expected = "object but got list" if objects else "value/list but got object"
            raise RestError(f"Expecting {expected} at item {index} of input list")
        pairs = element.items() if objects else [(next(iter(inputs)), element)]
        for name, value in pairs:
            if name not in inputs:
                raise RestError(f"Failed to process element: {index} key: {name} of 'instances' "
                                f"list. Error: JSON object: does not have named input: {name}")  # fmt: skip
            array = _to_array(value, inputs[name])
            first = items.setdefault(name, [])
            if first and first[0].shape != array.shape:
                raise RestError(f"Failed to process element: {index} key: {name} of 'instances' list. "
                                f"Error: Expecting shape {list(first[0].shape)} but got: {list(array.shape)}")  # fmt: skip
            first.append(array)
        if objects and set(element) != set(inputs):
            raise RestError(f"Failed to process element: {index} of 'instances' list. JSON object "
                            f"keys must be equal to: {','.join(sorted(inputs))}")  # fmt: skip
    return {name: np.stack(arrays) for name, arrays in items.items()}


def _columns(value: Any, inputs: dict[str, str]) -> dict[str, np.ndarray]:
    if not isinstance(value, dict) or _is_b64(value):
        if len(inputs) > 1:
            raise RestError("inputs is a plain value/list, but expecting an object as multiple "
                            "input tensors required as per tensorinfo_map")  # fmt: skip
        name = next(iter(inputs))
        return {name: _to_array(value, inputs[name])}
    out = {}
    for name, dtype in inputs.items():  # names the signature does not have are ignored
        if name not in value:
            raise RestError(f"Missing named input: {name} in 'inputs' object.")
        out[name] = _to_array(value[name], dtype)
    return out


def _float_text(value: float, dtype) -> str:
    """absl StrCat (%.6g), or max_digits10 when that does not round-trip; '.0' appended."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "-Infinity" if value < 0 else "Infinity"
    kind = np.float32 if dtype == np.float32 else np.float64
    text = f"{value:.6g}"
    if kind(float(text)) != kind(value):
        text = f"{value:.{9 if kind == np.float32 else 17}g}"
    if "." not in text and "e" not in text:
        text += ".0"
    return text


def _leaf_json(value: Any, dtype: np.dtype, as_bytes: bool) -> str:
    if dtype.kind == "f":
        return _float_text(float(value), dtype.type)
    if dtype.kind == "b":
        return "true" if value else "false"
    if dtype.kind in "iu":
        return str(int(value))
    if isinstance(value, str):
        value = value.encode("utf-8")
    if as_bytes:
        return json.dumps({"b64": base64.b64encode(value).decode("ascii")})
    try:
        return json.dumps(value.decode("utf-8"), ensure_ascii=False)
    except UnicodeDecodeError:
        raise RestError("string output is not valid UTF-8: name it '..._bytes' to get base64") from None


def _value_json(array: Any, as_bytes: bool) -> str:
    if isinstance(array, np.generic):  # one element of a numeric array
        return _leaf_json(array, array.dtype, as_bytes)
    if not isinstance(array, np.ndarray):  # one element of an object (string) array: bytes
        return _leaf_json(array, np.dtype(object), as_bytes)
    if array.ndim == 0:
        return _leaf_json(array[()], array.dtype, as_bytes)
    if array.ndim == 1:
        return "[" + ",".join(_leaf_json(v, array.dtype, as_bytes) for v in array) + "]"
    return "[" + ",".join(_value_json(item, as_bytes) for item in array) + "]"


def tensors_to_response(outputs: dict[str, Any], request_format: str) -> str:
    """The JSON text TF Serving returns for these output tensors (name -> array)."""
    if not outputs:
        raise RestError("Cannot convert empty tensor map to JSON")
    arrays = {name: np.asarray(value) for name, value in sorted(outputs.items())}
    as_bytes = {name: name.endswith("_bytes") and a.dtype.kind in "OSU" for name, a in arrays.items()}
    if request_format == "columnar":
        if len(arrays) == 1:
            (name, array), = arrays.items()
            return '{"outputs":' + _value_json(array, as_bytes[name]) + "}"
        return '{"outputs":{' + ",".join(f"{json.dumps(n)}:{_value_json(a, as_bytes[n])}"
                                         for n, a in arrays.items()) + "}}"  # fmt: skip
    if request_format != "row":
        raise RestError("Invalid request format")
    batch = None
    for name, array in arrays.items():
        if array.ndim == 0:
            raise RestError(f"Tensor name: {name} has no shape information ")
        if batch is not None and array.shape[0] != batch:
            raise RestError(f"Tensor name: {name} has inconsistent batch size: {array.shape[0]} "
                            f"expecting: {batch}")  # fmt: skip
        batch = array.shape[0]
    rows = []
    for i in range(batch):
        if len(arrays) == 1:
            (name, array), = arrays.items()
            rows.append(_value_json(array[i], as_bytes[name]))
        else:
            rows.append("{" + ",".join(f"{json.dumps(n)}:{_value_json(a[i], as_bytes[n])}"
                                       for n, a in arrays.items()) + "}")  # fmt: skip
    return '{"predictions":[' + ",".join(rows) + "]}"
