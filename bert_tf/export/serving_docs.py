"""The "how to serve it" part of an export's README: server command line, REST and gRPC
requests for the task's signatures (docs/export.md has the long version)."""

from __future__ import annotations

import json
from pathlib import Path

EXAMPLE_INPUTS = {
    "classification": {"text": ["a gripping, beautifully shot film", "a dull two hours"]},
    "classification_pair": {"text": ["The cat sat on the mat.", "He left early."],
                            "text_pair": ["A cat was sitting on a mat.", "She stayed late."]},
    "tagging": {"text": ["John Smith lives in New York.", "Acme Corp hired Mary in Paris."]},
    "squad": {"question": ["Where does John live?"],
              "context": ["John Smith moved to New York in 1999 and still lives there."]},
}  # fmt: skip


def example_inputs(task_type: str, text_pair: bool = False) -> dict[str, list[str]]:
    """Columnar example inputs of a task's `serving_default` signature."""
    return EXAMPLE_INPUTS["classification_pair" if task_type == "classification" and text_pair
                          else task_type]  # fmt: skip


def rest_bodies(task_type: str, text_pair: bool = False) -> tuple[str, str]:
    """(`instances` body, `inputs` body) of a REST predict request, as JSON text."""
    columns = example_inputs(task_type, text_pair)
    names = list(columns)
    rows = [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]
    instances = {"instances": rows if len(names) > 1 else [r[names[0]] for r in rows]}
    return json.dumps(instances, ensure_ascii=False), json.dumps({"inputs": columns}, ensure_ascii=False)


def readme_sections(task_type: str, model_name: str, export_dir: Path, text_pair: bool = False) -> list[str]:
    """Markdown sections: serving command line, REST requests, a gRPC client."""
    rows, columns = rest_bodies(task_type, text_pair)
    names = list(example_inputs(task_type, text_pair))
    grpc_inputs = "\n".join(
        f'request.inputs["{n}"].CopyFrom(tf.make_tensor_proto({example_inputs(task_type, text_pair)[n]!r}))'
        for n in names
    )
    return [
        "## Serving\n\n"
        "```\n"
        f"tensorflow_model_server --port=8500 --rest_api_port=8501 \\\n"
        f"  --model_name={model_name} --model_base_path={export_dir / model_name}\n"
        f"# or: docker run -p 8500:8500 -p 8501:8501 -v {export_dir / model_name}:/models/{model_name} \\\n"
        f"#   -e MODEL_NAME={model_name} tensorflow/serving\n"
        "```",
        "## REST\n\n"
        "```\n"
        f"curl -d '{rows}' \\\n  localhost:8501/v1/models/{model_name}:predict\n"
        f"curl -d '{columns}' \\\n  localhost:8501/v1/models/{model_name}:predict\n"
        "```\n\n"
        "Bytes that are not UTF-8 go as `{\"b64\": \"<base64>\"}`. Other signatures: add "
        "`\"signature_name\": \"serving_token_ids\"` (or `serving_tf_example`).",
        "## gRPC (Python, `pip install tensorflow-serving-api`)\n\n"
        "```python\n"
        "import grpc, tensorflow as tf\n"
        "from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc\n\n"
        "stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel(\"localhost:8500\"))\n"
        "request = predict_pb2.PredictRequest()\n"
        f"request.model_spec.name = \"{model_name}\"\n"
        "request.model_spec.signature_name = \"serving_default\"\n"
        f"{grpc_inputs}\n"
        "response = stub.Predict(request, timeout=10.0)\n"
        "outputs = {k: tf.make_ndarray(v) for k, v in response.outputs.items()}\n"
        "```",
    ]
