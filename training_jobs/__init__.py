"""LoRA fine-tuning as a plain function `train_lora(spec) -> manifest`, plus a thin Ray job entrypoint.

Imports `core` only; reports to the API over HTTP and never touches PostgreSQL.
"""
