"""A TensorBoard scalar writer in the standard library, for the example projects' scripts.

Writes TFRecord-framed ``Event`` messages holding ``Summary.Value{tag, simple_value}`` (a
float32), which is what TensorBoard's and tensorboardX's writers emit for ``add_scalar``.
The test fixture copies this file into each example project that logs scalars this way.
"""

import os
import socket
import struct
import time

_POLY = 0x82F63B78  # CRC-32C (Castagnoli), reflected
_TABLE = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ _POLY if _c & 1 else _c >> 1
    _TABLE.append(_c)


def _masked_crc(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    crc ^= 0xFFFFFFFF
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _bytes_field(number, payload):
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


class Writer:
    """``Writer(logdir).add_scalar(tag, value, step)``; one events file per writer."""

    def __init__(self, logdir="."):
        os.makedirs(logdir, exist_ok=True)
        name = f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}.{os.getpid()}"
        self._file = open(os.path.join(logdir, f"{name}.{id(self)}"), "wb")  # noqa: SIM115
        self._event(_bytes_field(3, b"brain.Event:2"))

    def _event(self, what, step=0):
        data = b"\x09" + struct.pack("<d", time.time()) + b"\x10" + _varint(step) + what
        header = struct.pack("<Q", len(data))
        self._file.write(header + struct.pack("<I", _masked_crc(header)))
        self._file.write(data + struct.pack("<I", _masked_crc(data)))

    def add_scalar(self, tag, value, step=0):
        value_msg = _bytes_field(1, tag.encode()) + b"\x15" + struct.pack("<f", value)
        self._event(_bytes_field(5, _bytes_field(1, value_msg)), step)

    def close(self):
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
