"""Read scalars from TensorFlow event files (``*.tfevents.*``) with the standard library only.

Decodes the TFRecord framing and just enough of the ``Event`` protobuf to pick out scalars
the way Guild AI's ``guild.tfevent.ScalarReader`` does, many times faster than TensorBoard.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from functools import lru_cache

from promoter.runs.guild.fastio import read_file

__all__ = ["EventFileError", "read_scalars"]

_Scalars = list[tuple[str, float, int]]
_HEADER = struct.Struct("<QI")
_F32 = struct.Struct("<f")
_F64 = struct.Struct("<d")
_U64 = (1 << 64) - 1
_I64_MIN = 1 << 63
# Keys (field << 3 | wire type) of the members of the oneofs Event.what and
# Summary.Value.value other than summary, simple_value and tensor: protobuf keeps only the
# member that comes last on the wire.
_EVENT_WHAT = frozenset((field << 3) | 2 for field in (3, 4, 6, 7, 8, 9))
_VALUE_KIND = frozenset((field << 3) | 2 for field in (3, 4, 5, 6))


class EventFileError(Exception):
    """An events file is corrupt (not merely truncated at the end)."""


def _crc_of_byte(crc: int) -> int:
    for _ in range(8):
        crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc


_CRC_TABLE = tuple(_crc_of_byte(byte) for byte in range(256))


@lru_cache(maxsize=4096)
def _length_crc(length: int) -> int:
    """The masked CRC-32C that TFRecord stores after a record's 8-byte length."""
    crc = 0xFFFFFFFF
    for byte in length.to_bytes(8, "little"):
        crc = _CRC_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    crc ^= 0xFFFFFFFF
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def read_scalars(path: str | os.PathLike[str]) -> list[tuple[str, float, int]]:
    """(tag, value, step) for each scalar in one events file, in file order.

    A record cut short at the end of the file (a run still writing) ends the read quietly.
    Raises EventFileError for a bad length checksum or a malformed protobuf.
    """
    buf = read_file(os.fspath(path))
    out: _Scalars = []
    pos, size = 0, len(buf)
    while pos + 12 <= size:
        length, crc = _HEADER.unpack_from(buf, pos)
        if _length_crc(length) != crc:
            raise EventFileError(f"{path}: bad record length checksum at byte {pos}")
        start = pos + 12
        pos = start + length + 4
        if pos > size:
            break
        # The data CRC is not checked: in pure Python it would cost more than all the decoding.
        try:
            _read_event(buf, start, start + length, out)
        except (EventFileError, UnicodeDecodeError) as e:
            raise EventFileError(f"{path}: record at byte {start - 12}: {e}") from None
    return out


def _varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    """(value, next position) of the varint at pos, as an unsigned 64-bit int."""
    result = shift = 0
    while pos < end and shift < 70:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result & _U64, pos
        shift += 7
    raise EventFileError("truncated or overlong varint")


def _field(buf: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(key, start, stop) of the field at pos: its value (for a length-delimited field, the
    payload) runs from start to stop, and the next field begins at stop."""
    key, pos = _varint(buf, pos, end)
    wire = key & 7
    if key < 8 or key >> 32:
        raise EventFileError("field number out of range")
    if wire == 0:
        stop = _varint(buf, pos, end)[1]
    elif wire == 1:
        stop = pos + 8
    elif wire == 2:
        length, pos = _varint(buf, pos, end)
        stop = pos + length
    elif wire == 5:
        stop = pos + 4
    elif wire == 3:  # a deprecated group: fields up to the matching end-group key
        stop = pos
        while (inner := _varint(buf, stop, end))[0] != key + 1:
            stop = _field(buf, stop, end)[2]
        stop = inner[1]
    else:
        raise EventFileError(f"unexpected wire type {wire}")
    if stop > end:
        raise EventFileError("field overruns its message")
    return key, pos, stop


def _fields(buf: bytes, pos: int, end: int) -> Iterator[tuple[int, int, int]]:
    while pos < end:
        field = _field(buf, pos, end)
        yield field
        pos = field[2]


def _read_event(buf: bytes, pos: int, end: int, out: _Scalars) -> None:
    # Values go straight to out with the step seen so far (writers put step before summary);
    # the rare event whose step comes later, or whose oneof ends up not a summary, is fixed up.
    mark = len(out)
    step = what = 0
    late_step = False
    while pos < end:
        key = buf[pos]
        if key == 0x09:  # wall_time
            pos += 9
            continue
        if key in (0x10, 0x2A) and pos + 1 < end and buf[pos + 1] < 0x80:  # a one-byte varint
            start = pos + 1 if key == 0x10 else pos + 2
            pos = pos + 2 if key == 0x10 else start + buf[pos + 1]
            if pos > end:
                raise EventFileError("summary overruns its event")
        else:
            key, start, pos = _field(buf, pos, end)
        if key == 0x10:  # step
            step = buf[start] if pos - start == 1 else _varint(buf, start, pos)[0]
            if step >= _I64_MIN:
                step -= 1 << 64
            late_step = len(out) > mark
        elif key == 0x2A:  # summary; repeats merge, i.e. their values concatenate
            what = 5
            _read_summary(buf, start, pos, step, out)
        elif key in _EVENT_WHAT:
            del out[mark:]
            what = key >> 3
    if pos > end:
        raise EventFileError("wall_time overruns its event")
    if what != 5:
        del out[mark:]
    elif late_step:
        out[mark:] = [(tag, value, step) for tag, value, _ in out[mark:]]


def _read_summary(buf: bytes, pos: int, end: int, step: int, out: _Scalars) -> None:
    while pos < end:
        if buf[pos] == 0x0A and pos + 1 < end and buf[pos + 1] < 0x80:  # a short value
            start = pos + 2
            pos = start + buf[pos + 1]
            if pos > end:
                raise EventFileError("value overruns its summary")
            # Fast path for the usual Value{tag, simple_value} with a short tag.
            n = pos - start
            if n > 6 and buf[start] == 0x0A and buf[start + 1] == n - 7 and buf[pos - 5] == 0x15:
                tag = buf[start + 2 : pos - 5].decode()
                out.append((tag, _F32.unpack_from(buf, pos - 4)[0], step))
                continue
        else:
            key, start, pos = _field(buf, pos, end)
            if key != 0x0A:
                continue
        _read_value(buf, start, pos, step, out)


def _read_value(buf: bytes, pos: int, end: int, step: int, out: _Scalars) -> None:
    tag, kind, simple = b"", 0, 0.0
    tensor: list[tuple[int, int]] = []
    for key, start, stop in _fields(buf, pos, end):
        if key == 0x0A:
            tag = buf[start:stop]
        elif key == 0x15:
            simple, kind = _F32.unpack_from(buf, start)[0], 2
        elif key == 0x42:  # repeats merge, just like parsing their concatenation
            tensor = [*tensor, (start, stop)] if kind == 8 else [(start, stop)]
            kind = 8
        elif key in _VALUE_KIND:
            kind = key >> 3
    name = tag.decode()
    value = simple if kind == 2 else _tensor_scalar(buf, tensor) if kind == 8 else None
    if value is not None:
        out.append((name, value, step))


def _tensor_scalar(buf: bytes, segments: list[tuple[int, int]]) -> float | None:
    """The value of a one-element DT_FLOAT or DT_DOUBLE TensorProto, as make_ndarray sees it."""
    dtype, content = 0, (0, 0)
    dims: list[int] = []
    vals: dict[int, list[tuple[int, int]]] = {1: [], 2: []}  # float_val, double_val by dtype
    for pos, end in segments:
        for key, start, stop in _fields(buf, pos, end):
            if key == 0x08:  # an int32 enum
                dtype = _varint(buf, start, stop)[0] & 0xFFFFFFFF
            elif key == 0x12:
                dims += [_dim_size(buf, s, e) for k, s, e in _fields(buf, start, stop) if k == 0x12]
            elif key == 0x22:
                content = (start, stop)
            elif key in (0x2D, 0x2A, 0x31, 0x32) and stop > start:  # unpacked or packed
                if (stop - start) % (4 if key < 0x30 else 8):
                    raise EventFileError("packed values of the wrong length")
                vals[1 if key < 0x30 else 2].append((start, stop))
    if dtype not in vals:
        return None
    if content[1] > content[0]:
        spans, unknown = [content], sum(d >= _I64_MIN for d in dims)
    else:
        spans, unknown = vals[dtype], 0
    # numpy reshapes one element to dims all 1, bar one unknown (< 0) if from tensor_content.
    itemsize = 4 if dtype == 1 else 8
    if len(spans) != 1 or spans[0][1] - spans[0][0] != itemsize:
        return None
    if unknown > 1 or dims.count(1) + unknown != len(dims):
        return None
    return float((_F32 if dtype == 1 else _F64).unpack_from(buf, spans[0][0])[0])


def _dim_size(buf: bytes, pos: int, end: int) -> int:
    """TensorShapeProto.Dim.size as an unsigned 64-bit int."""
    size = 0
    for key, start, stop in _fields(buf, pos, end):
        if key == 0x08:
            size = _varint(buf, start, stop)[0]
    return size
