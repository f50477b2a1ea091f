"""Side-by-side benchmarks of bert_tf against keras-hub and Hugging Face transformers.

`python benchmarks/run_all.py --help` runs them; see benchmarks/README.md. Every measurement
runs in its own subprocess (`benchmarks.worker`), so that TensorFlow and torch never share a
process and Keras's global dtype policy never leaks from one configuration into the next.
"""
