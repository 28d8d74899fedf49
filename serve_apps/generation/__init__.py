"""The image-generation Serve application: a style's LoRA on the base model, many styles per replica
(multiplexed by adapter key), requests for different styles drawn together in one batch, every image signed
before it is stored. docs/serving.md describes it; `app.build_app` is what the Serve config names.

Modules, each usable without Ray except `app`: `config` (the typed knobs), `adapters` (storage → disk),
`pipeline` (the base model with per-row adapters), `batching` (one pipeline thread, cross-style batches),
`server` (a request from job to signed image), `app` (the Serve deployment and its builder).
"""

from core.contracts import GENERATION_APP_NAME

__all__ = ["GENERATION_APP_NAME"]
