"""An invisible watermark carrying the generation id, readable after re-encoding and resizing.

How it works: the image's luma is resampled to a canonical grid (short side 256 px), so a resized copy
lands on the same grid. There, 96 bits (the 64-bit generation id and a 32-bit keyed check) are spread over
low/mid-frequency coefficients of 8×8 DCT blocks: each bit owns a key-chosen random set of coefficients
and is written by quantising their projection on a random ±1 direction to one of two interleaved lattices
(spread-transform dither modulation). The change is made on the canonical grid, scaled up to full size
and added to R, G and B alike; a few rounds correct what scaling and 8-bit rounding take away. A wrong key
or an unmarked image fails the keyed check, so a random image reads as "no watermark" (odds 2^-32).

Changing anything below the key (grid, band, step, bit count) makes earlier watermarks unreadable.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

import numpy as np
from PIL import Image

CANONICAL_SHORT_SIDE = 256
BLOCK = 8
# DCT frequencies (u, v) with 2 <= u + v <= 4: low enough to survive JPEG and downscaling, high enough
# not to show as smooth shading.
BAND = tuple((u, v) for u in range(BLOCK) for v in range(BLOCK) if 2 <= u + v <= 4)
STEP = 56.0  # lattice step of a bit's projection: about 50 dB PSNR
ROUNDS = 3
ID_BYTES = 8
CHECK_BYTES = 4
BITS = (ID_BYTES + CHECK_BYTES) * 8
MIN_READABLE_SIDE = 64
_LUMA = np.array([0.299, 0.587, 0.114])


def embed_generation_id(image: Image.Image, generation_id: int, *, key: bytes) -> Image.Image:
    """An RGB copy of `image` carrying `generation_id` (0 <= id < 2^64); the short side must be >= 256."""
    if min(image.size) < CANONICAL_SHORT_SIDE:
        raise ValueError(f"watermarked images need a short side of at least {CANONICAL_SHORT_SIDE} px")
    rgb = np.asarray(image.convert("RGB"), dtype=np.float64)
    height, width = rgb.shape[:2]
    grid = _canonical_size(width, height)
    positions, directions = _layout(grid, key)
    lattice_offset = _payload_bits(generation_id, key) * (STEP / 2)
    change = np.zeros((height, width))
    for _ in range(ROUNDS):
        marked = np.clip(np.round(rgb + change[..., None]), 0, 255)
        coefficients = _block_dct(_resample(marked @ _LUMA, grid)).ravel()
        projections = (coefficients[positions] * directions).sum(axis=1)
        targets = np.round((projections - lattice_offset) / STEP) * STEP + lattice_offset
        correction = np.zeros_like(coefficients)
        correction[positions] = (targets - projections)[:, None] * directions
        change += _resample(_block_idct(correction.reshape(grid[1] // BLOCK, grid[0] // BLOCK, BLOCK, BLOCK)),
                            (width, height))
    return Image.fromarray(np.clip(np.round(rgb + change[..., None]), 0, 255).astype(np.uint8))


def read_generation_id(image: Image.Image, *, key: bytes) -> int | None:
    """The generation id the image carries, or None when it carries none under this key."""
    if min(image.size) < MIN_READABLE_SIDE:
        return None
    luma = np.asarray(image.convert("RGB"), dtype=np.float64) @ _LUMA
    grid = _canonical_size(image.width, image.height)
    positions, directions = _layout(grid, key)
    coefficients = _block_dct(_resample(luma, grid)).ravel()
    projections = (coefficients[positions] * directions).sum(axis=1)
    # Nearer the odd half-step lattice than the even one: a 1.
    phase = np.mod(projections, STEP) / STEP
    bits = (np.abs(phase - 0.5) < 0.25).astype(np.uint8)
    payload = np.packbits(bits).tobytes()
    generation_id, check = payload[:ID_BYTES], payload[ID_BYTES:]
    if not hmac.compare_digest(check, _check(generation_id, key)):
        return None
    return int.from_bytes(generation_id, "big")


def _payload_bits(generation_id: int, key: bytes) -> np.ndarray:
    if not 0 <= generation_id < 2 ** (8 * ID_BYTES):
        raise ValueError(f"a generation id must fit in {ID_BYTES} bytes: {generation_id}")
    payload = generation_id.to_bytes(ID_BYTES, "big")
    return np.unpackbits(np.frombuffer(payload + _check(payload, key), dtype=np.uint8)).astype(np.float64)


def _check(payload: bytes, key: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()[:CHECK_BYTES]


def _canonical_size(width: int, height: int) -> tuple[int, int]:
    scale = CANONICAL_SHORT_SIDE / min(width, height)
    return (round(width * scale) // BLOCK * BLOCK, round(height * scale) // BLOCK * BLOCK)


@lru_cache(maxsize=16)
def _layout(grid: tuple[int, int], key: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Which coefficients (flat indices) each bit owns, and its ±1 direction over them (unit length)."""
    blocks = (grid[0] // BLOCK) * (grid[1] // BLOCK)
    band = np.array([u * BLOCK + v for u, v in BAND])
    candidates = (np.arange(blocks)[:, None] * BLOCK * BLOCK + band).ravel()
    seed = hashlib.sha256(key + f"{grid[0]}x{grid[1]}".encode()).digest()
    random = np.random.default_rng(int.from_bytes(seed[:8], "big"))
    per_bit = len(candidates) // BITS
    positions = random.permutation(candidates)[: per_bit * BITS].reshape(BITS, per_bit)
    directions = random.choice([-1.0, 1.0], size=(BITS, per_bit)) / np.sqrt(per_bit)
    positions.flags.writeable = directions.flags.writeable = False  # shared through the cache
    return positions, directions


def _resample(plane: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    resized = Image.fromarray(plane.astype(np.float32)).resize(size, Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.float64)


@lru_cache(maxsize=1)
def _dct_matrix() -> np.ndarray:
    k = np.arange(BLOCK)[:, None]
    i = np.arange(BLOCK)[None, :]
    matrix = np.sqrt(2 / BLOCK) * np.cos(np.pi * (2 * i + 1) * k / (2 * BLOCK))
    matrix[0] /= np.sqrt(2)
    return matrix


def _block_dct(plane: np.ndarray) -> np.ndarray:
    """Orthonormal 2-D DCT of each 8×8 block: shape (rows, columns, 8, 8)."""
    rows, columns = plane.shape[0] // BLOCK, plane.shape[1] // BLOCK
    blocks = plane.reshape(rows, BLOCK, columns, BLOCK).transpose(0, 2, 1, 3)
    d = _dct_matrix()
    return np.einsum("ij,rcjk,lk->rcil", d, blocks, d)


def _block_idct(coefficients: np.ndarray) -> np.ndarray:
    rows, columns = coefficients.shape[:2]
    d = _dct_matrix()
    blocks = np.einsum("ji,rcjk,kl->rcil", d, coefficients, d)
    return blocks.transpose(0, 2, 1, 3).reshape(rows * BLOCK, columns * BLOCK)
