"""Ray Serve applications: the ingress deployment wrapping platform_api, and LoRA image generation.

Imports `core` only (the ingress module alone imports platform_api); see docs/architecture.md.
"""
