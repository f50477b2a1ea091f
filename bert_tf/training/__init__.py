"""Training loops: pre-training (`pretrain_loop`) and its configuration."""
