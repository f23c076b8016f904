"""TFRecord framing, read without TensorFlow.

Each record is ``uint64 length | uint32 masked CRC32C(length) | data | uint32 masked
CRC32C(data)``, little-endian (TensorFlow ``core/lib/io/record_writer.cc``). Both CRCs
are checked, so a truncated or corrupted download is reported instead of misread.
CRC32C comes from ``google-crc32c`` when installed (``nasbench[nb101]``, C speed), else
from a table-driven pure-Python implementation.
"""
from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from harness import UserError

_MASK_DELTA = 0xA282EAD8
_POLY = 0x82F63B78  # CRC32C (Castagnoli), reflected


def _table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _table()


def crc32c_python(data: bytes) -> int:
    """CRC32C of ``data`` (the pure-Python fallback)."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _crc32c() -> Callable[[bytes], int]:
    try:
        import google_crc32c
    except ImportError:
        return crc32c_python
    return lambda data: int(google_crc32c.value(data))


crc32c = _crc32c()


def masked_crc(data: bytes) -> int:
    """TFRecord's masked CRC: rotate right by 15 bits and add a constant."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def read_records(path: Path) -> Iterator[bytes]:
    """Every record's payload, in file order; a framing or CRC error is a ``UserError``."""
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise UserError(f"cannot read TFRecord file {path} ({exc.strerror})") from None
    with stream:
        yield from _records(stream, path)


def _records(stream: BinaryIO, path: Path) -> Iterator[bytes]:
    number = 0
    while True:
        header = stream.read(12)
        if not header:
            return
        if len(header) < 12:
            raise _broken(path, number, "the file ends inside a record header")
        length_bytes, length_crc = header[:8], struct.unpack("<I", header[8:])[0]
        if masked_crc(length_bytes) != length_crc:
            raise _broken(path, number, "the length's CRC does not match")
        (length,) = struct.unpack("<Q", length_bytes)
        data = stream.read(length)
        footer = stream.read(4)
        if len(data) < length or len(footer) < 4:
            raise _broken(path, number, "the file ends inside a record")
        if masked_crc(data) != struct.unpack("<I", footer)[0]:
            raise _broken(path, number, "the data's CRC does not match")
        yield data
        number += 1


def _broken(path: Path, number: int, reason: str) -> UserError:
    return UserError(f"{path} is not a valid TFRecord file: record {number}: {reason} "
                     "(download the file again)")
