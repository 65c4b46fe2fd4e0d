"""A minimal writer of 8-bit grayscale PNG files."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def write_grayscale_png(path: Path, width: int, height: int, pixels: bytes) -> None:
    """Write ``pixels`` (row-major, one byte per pixel, ``height`` rows of ``width``) as a PNG file."""
    if len(pixels) != width * height:
        raise ValueError(f"expected {width * height} pixel bytes, got {len(pixels)}")
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # bit depth 8, grayscale, no interlace
    scanlines = b"".join(b"\x00" + pixels[row * width : (row + 1) * width] for row in range(height))
    path.write_bytes(
        SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(scanlines)) + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    checksum = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", checksum)
