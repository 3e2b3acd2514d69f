"""read_scalars against TensorBoard's own reader (the oracle), real Guild runs and bad files."""

from __future__ import annotations

import contextlib
import math
import os
import struct
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promoter.runs.guild.tfevents import EventFileError, read_scalars

Scalars = list[tuple[str, float, int]]
FILTER_RUNS = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "guild" / "filter-runs"
try:
    import tensorboard  # noqa: F401
except ImportError:
    HAS_TENSORBOARD = False
else:
    HAS_TENSORBOARD = True
INT64 = st.integers(-(2**63), 2**63 - 1)


# -- stdlib helpers: TFRecord framing and protobuf encoding, independent of the module ----------


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 * (crc & 1))
    return crc ^ 0xFFFFFFFF


def masked_crc(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def frame(data: bytes) -> bytes:
    header = struct.pack("<Q", len(data))
    return (
        header + struct.pack("<I", masked_crc(header)) + data + struct.pack("<I", masked_crc(data))
    )


def varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def field(number: int, wire: int, payload: bytes | int) -> bytes:
    key = varint(number << 3 | wire)
    if wire == 0:
        assert isinstance(payload, int)
        return key + varint(payload)
    assert isinstance(payload, bytes)
    return key + (varint(len(payload)) + payload if wire == 2 else payload)


def f32(x: float) -> bytes:
    return struct.pack("<f", x)


def as_f32(x: float) -> float:
    """x as a float32 read back into a Python float, as protobuf and TensorBoard give it."""
    return float(struct.unpack("<f", struct.pack("<f", x))[0])


def simple(tag: str | bytes, value: float) -> bytes:
    raw = tag.encode() if isinstance(tag, str) else tag
    return field(1, 2, raw) + field(2, 5, f32(value))


def event(*values: bytes, step: int = 0) -> bytes:
    summary = b"".join(field(1, 2, v) for v in values)
    return field(1, 1, struct.pack("<d", 1.5e9)) + field(2, 0, step) + field(5, 2, summary)


def write(path: Path, records: Iterable[bytes]) -> Path:
    path.write_bytes(b"".join(frame(r) for r in records))
    return path


def comparable(scalars: Iterable[tuple[str, float, int]]) -> list[tuple[str, Any, int]]:
    """Scalars with NaN equal to NaN and -0.0 unequal to 0.0, for exact comparison."""
    return [
        (tag, "nan" if math.isnan(v) else struct.pack("<d", v), step) for tag, v, step in scalars
    ]


# -- the oracle: TensorBoard's reader plus Guild's rule (guild.tfevent._try_scalar_event) -------


def event_scalars(pb: Any) -> Iterator[tuple[str, float, int]]:
    from tensorboard.util import tensor_util

    for value in pb.summary.value:
        kind = value.WhichOneof("value")
        if kind == "tensor" and value.tensor.dtype in (1, 2):
            try:
                array = tensor_util.make_ndarray(value.tensor)
            except ValueError:  # a shape that does not fit the data: no scalar
                continue
            if array.size == 1:
                yield value.tag, array.item(), pb.step
        elif kind == "simple_value":
            yield value.tag, value.simple_value, pb.step


def tb_scalars(path: Path) -> Scalars:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    return [s for e in EventFileLoader(str(path)).Load() for s in event_scalars(e)]


def tb_write(logdir: Path, events: Iterable[Any]) -> Path:
    """Write events with TensorBoard's own writer; returns the new events file."""
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    logdir.mkdir(parents=True, exist_ok=True)
    before = set(logdir.iterdir())
    writer = EventFileWriter(str(logdir))
    for e in events:
        writer.add_event(e)
    writer.close()
    (path,) = set(logdir.iterdir()) - before
    return path


def assert_matches_tensorboard(path: Path, expected: Scalars | None = None) -> Scalars:
    ours = read_scalars(path)
    assert comparable(ours) == comparable(tb_scalars(path))
    if expected is not None:
        assert comparable(ours) == comparable(expected)
    return ours


# -- files written by TensorBoard's writer ------------------------------------------------------

TAGS = st.text(max_size=3) | st.text(min_size=120, max_size=140)  # short and long (2-byte length)
EVENTS = st.lists(
    st.tuples(INT64, st.lists(st.tuples(TAGS, st.floats(width=32)), max_size=4)), max_size=8
)


@given(events=EVENTS)
@settings(max_examples=150, deadline=None)
def test_simple_values_round_trip_like_tensorboard(
    events: list[tuple[int, list[tuple[str, float]]]],
) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.compat.proto import event_pb2, summary_pb2

    pbs = [
        event_pb2.Event(
            wall_time=1.7e9,
            step=step,
            summary=summary_pb2.Summary(
                value=[summary_pb2.Summary.Value(tag=t, simple_value=v) for t, v in values]
            ),
        )
        for step, values in events
    ]
    expected = [(t, v, step) for step, values in events for t, v in values]
    with tempfile.TemporaryDirectory() as tmp:
        assert_matches_tensorboard(tb_write(Path(tmp), pbs), expected)


def test_nan_and_infinities_come_back(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.compat.proto import event_pb2, summary_pb2

    values = [math.nan, math.inf, -math.inf, -0.0, 0.0312, 3.4e38]
    pbs = [
        event_pb2.Event(
            step=i, summary=summary_pb2.Summary(value=[{"tag": "x", "simple_value": v}])
        )
        for i, v in enumerate(values)
    ]
    ours = assert_matches_tensorboard(tb_write(tmp_path, pbs))
    assert math.isnan(ours[0][1])
    assert [v for _, v, _ in ours[1:]] == [
        math.inf,
        -math.inf,
        -0.0,
        0.031199999153614044,
        as_f32(3.4e38),
    ]
    assert math.copysign(1, ours[3][1]) == -1


def tensor_event(tag: str, tensor: Any, step: int = 1) -> Any:
    from tensorboard.compat.proto import event_pb2, summary_pb2

    value = summary_pb2.Summary.Value(tag=tag, tensor=tensor)
    return event_pb2.Event(step=step, summary=summary_pb2.Summary(value=[value]))


def test_float_and_double_tensor_scalars(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    import numpy as np
    from tensorboard.compat.proto import tensor_pb2, tensor_shape_pb2

    one = tensor_shape_pb2.TensorShapeProto(dim=[{"size": 1, "name": "batch"}])
    tensors = {
        "f_content": tensor_pb2.TensorProto(dtype=1, tensor_content=np.float32(0.1).tobytes()),
        "f_val": tensor_pb2.TensorProto(dtype=1, float_val=[0.1]),
        "d_content": tensor_pb2.TensorProto(dtype=2, tensor_content=np.float64(0.1).tobytes()),
        "d_val": tensor_pb2.TensorProto(dtype=2, double_val=[0.1]),
        "d_val_shape_1": tensor_pb2.TensorProto(dtype=2, tensor_shape=one, double_val=[-2.5]),
        "f_content_shape_1": tensor_pb2.TensorProto(
            dtype=1, tensor_shape=one, tensor_content=np.float32(7).tobytes()
        ),
    }
    path = tb_write(
        tmp_path, [tensor_event(tag, t, step=i) for i, (tag, t) in enumerate(tensors.items())]
    )
    expected = [
        ("f_content", as_f32(0.1), 0),
        ("f_val", as_f32(0.1), 1),
        ("d_content", 0.1, 2),
        ("d_val", 0.1, 3),
        ("d_val_shape_1", -2.5, 4),
        ("f_content_shape_1", 7.0, 5),
    ]
    assert_matches_tensorboard(path, expected)


def test_non_scalar_values_are_skipped(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    import numpy as np
    from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2

    pair = tensor_shape_pb2.TensorShapeProto(dim=[{"size": 2}])
    values = [
        summary_pb2.Summary.Value(
            tag="image",
            image=summary_pb2.Summary.Image(height=1, width=1, encoded_image_string=b"png"),
        ),
        summary_pb2.Summary.Value(
            tag="histo", histo=summary_pb2.HistogramProto(min=0, max=1, num=1)
        ),
        summary_pb2.Summary.Value(
            tag="text", tensor=tensor_pb2.TensorProto(dtype=7, string_val=[b"hi"])
        ),
        summary_pb2.Summary.Value(tag="int", tensor=tensor_pb2.TensorProto(dtype=3, int_val=[4])),
        summary_pb2.Summary.Value(
            tag="pair", tensor=tensor_pb2.TensorProto(dtype=1, tensor_shape=pair, float_val=[1, 2])
        ),
        summary_pb2.Summary.Value(
            tag="pair_content",
            tensor=tensor_pb2.TensorProto(
                dtype=2, tensor_shape=pair, tensor_content=np.array([1.0, 2.0]).tobytes()
            ),
        ),
        summary_pb2.Summary.Value(  # one value broadcast to two elements by make_ndarray
            tag="broadcast",
            tensor=tensor_pb2.TensorProto(dtype=1, tensor_shape=pair, float_val=[1]),
        ),
        summary_pb2.Summary.Value(tag="empty", tensor=tensor_pb2.TensorProto(dtype=1)),
        summary_pb2.Summary.Value(tag="kept", simple_value=0.75),
    ]
    pbs = [event_pb2.Event(step=3, summary=summary_pb2.Summary(value=values))]
    assert_matches_tensorboard(tb_write(tmp_path, pbs), [("kept", 0.75, 3)])


@given(
    dtype=st.sampled_from([1, 2, 3, 19]),
    dims=st.lists(st.sampled_from([1, 1, 1, 0, 2, -1]), max_size=3),
    count=st.integers(0, 3),
    in_content=st.booleans(),
    data=st.data(),
)
@settings(max_examples=200, deadline=None)
def test_tensors_of_any_shape_agree_with_make_ndarray(
    dtype: int, dims: list[int], count: int, in_content: bool, data: st.DataObject
) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.compat.proto import tensor_pb2, tensor_shape_pb2

    values = data.draw(st.lists(st.floats(width=32), min_size=count, max_size=count))
    tensor = tensor_pb2.TensorProto(
        dtype=dtype, tensor_shape=tensor_shape_pb2.TensorShapeProto(dim=[{"size": d} for d in dims])
    )
    if in_content:
        tensor.tensor_content = struct.pack(f"<{count}{'d' if dtype == 2 else 'f'}", *values)
    else:
        tensor.float_val.extend(values)
        tensor.double_val.extend(values)
    with tempfile.TemporaryDirectory() as tmp:
        ours = assert_matches_tensorboard(tb_write(Path(tmp), [tensor_event("t", tensor)]))
    # make_ndarray reshapes tensor_content, which tolerates one unknown (-1) dim; it repeats a
    # single float_val over the shape's element count, which an unknown dim makes negative.
    unknown_ok = dims.count(-1) <= (1 if in_content else 0)
    fits = unknown_ok and all(d in (1, -1) for d in dims)
    assert len(ours) == int(dtype in (1, 2) and count == 1 and fits)


@pytest.mark.parametrize("step", [0, 1, 127, 128, 2**31, 2**63 - 1, -1, -128, -(2**63)])
def test_big_and_negative_steps(tmp_path: Path, step: int) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.compat.proto import event_pb2, summary_pb2

    pb = event_pb2.Event(
        step=step, summary=summary_pb2.Summary(value=[{"tag": "s", "simple_value": 2}])
    )
    assert_matches_tensorboard(tb_write(tmp_path, [pb]), [("s", 2.0, step)])


def test_many_tags(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.compat.proto import event_pb2, summary_pb2

    tags = [f"group{i % 7}/métrique_{i}" for i in range(600)]
    pbs = [
        event_pb2.Event(
            step=step,
            summary=summary_pb2.Summary(
                value=[{"tag": t, "simple_value": i / 8} for i, t in enumerate(tags)]
            ),
        )
        for step in range(3)
    ]
    expected = [(t, i / 8, step) for step in range(3) for i, t in enumerate(tags)]
    assert len(assert_matches_tensorboard(tb_write(tmp_path, pbs), expected)) == 1800


# -- protobuf corner cases, hand-encoded: the last oneof member wins, repeats merge -------------

TENSOR_1 = field(1, 0, 1) + field(5, 5, f32(0.5))  # DT_FLOAT, float_val [0.5], shape []
CORNER_CASES = {
    "step after summary": (
        field(5, 2, field(1, 2, simple("a", 1))) + field(2, 0, 7),
        [("a", 1.0, 7)],
    ),
    "two steps, last wins": (field(2, 0, 3) + event(simple("a", 1), step=4), [("a", 1.0, 4)]),
    "summary replaced by file_version": (event(simple("a", 1)) + field(3, 2, b"brain.Event:2"), []),
    "summary after file_version": (
        field(3, 2, b"x") + event(simple("a", 1), step=2),
        [("a", 1.0, 2)],
    ),
    "summary, graph, summary": (
        event(simple("a", 1)) + field(4, 2, b"g") + field(5, 2, field(1, 2, simple("b", 2))),
        [("b", 2.0, 0)],
    ),
    "two summaries merge": (
        event(simple("a", 1), step=5) + field(5, 2, field(1, 2, simple("b", 2))),
        [("a", 1.0, 5), ("b", 2.0, 5)],
    ),
    "tensor then simple_value": (
        event(field(1, 2, b"t") + field(8, 2, TENSOR_1) + field(2, 5, f32(3))),
        [("t", 3.0, 0)],
    ),
    "simple_value then tensor": (event(simple("t", 3) + field(8, 2, TENSOR_1)), [("t", 0.5, 0)]),
    "simple_value then image": (event(simple("t", 3) + field(4, 2, b"")), []),
    "tensors merge into two floats": (event(field(8, 2, TENSOR_1) + field(8, 2, TENSOR_1)), []),
    "tensors merge dtype": (
        event(field(8, 2, field(5, 2, f32(2))) + field(8, 2, field(1, 0, 1))),
        [("", 2.0, 0)],
    ),
    "unpacked double_val": (
        event(field(8, 2, field(1, 0, 2) + field(6, 1, struct.pack("<d", 0.1)))),
        [("", 0.1, 0)],
    ),
    "dtype as a 10-byte varint": (
        event(field(8, 2, field(1, 0, 2**64 - 2**32 + 1) + field(5, 5, f32(1)))),
        [("", 1.0, 0)],
    ),
    "unknown fields and a group": (
        field(99, 0, 5)
        + field(7, 3, field(1, 0, 1) + varint(7 << 3 | 4))
        + event(simple("a", 1) + field(77, 1, b"\0" * 8)),
        [("a", 1.0, 0)],
    ),
    "step with the wrong wire type": (
        field(2, 5, b"\1\0\0\0") + event(simple("a", 1)),
        [("a", 1.0, 0)],
    ),
    "over-long step varint": (
        field(2, 0, 0) + b"\x10\x81\x80\x00" + field(5, 2, field(1, 2, simple("a", 1))),
        [("a", 1.0, 1)],
    ),
}


@pytest.mark.parametrize("name", CORNER_CASES)
def test_protobuf_corner_cases(tmp_path: Path, name: str) -> None:
    data, expected = CORNER_CASES[name]
    path = write(tmp_path / "events.out.tfevents.1", [data])
    assert read_scalars(path) == expected
    if HAS_TENSORBOARD:
        assert comparable(read_scalars(path)) == comparable(tb_scalars(path))


# -- a real ``guild run`` -----------------------------------------------------------------------

GUILD_YML = r"""
train:
  main: train
  output-scalars:
    - step: 'step (\step)'
    - '(\key): (\value)'
"""
TRAIN_PY = """
for step, loss in enumerate([0.5, 0.25, 0.0312]):
    print(f"step {step}")
    print(f"loss: {loss}")
print("step 7")
print("acc: 1e-3")
"""


@pytest.mark.slow
def test_real_guild_run(tmp_path: Path) -> None:
    pytest.importorskip("guild")
    guild_exe = Path(sys.executable).parent / "guild"
    if not guild_exe.exists():
        pytest.skip("no guild executable beside this Python")
    project, home = tmp_path / "project", tmp_path / "guild-home"
    project.mkdir()
    home.mkdir()
    (project / "guild.yml").write_text(GUILD_YML)
    (project / "train.py").write_text(TRAIN_PY)
    env = {**os.environ, "GUILD_HOME": str(home), "NO_WARN_RUNDIR": "1"}
    env.pop("VIRTUAL_ENV", None)
    proc = subprocess.run(
        [str(guild_exe), "run", "train", "-y"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (events,) = home.glob("runs/*/.guild/*.tfevents.*")
    expected = [
        ("loss", 0.5, 0),
        ("loss", 0.25, 1),
        ("loss", 0.031199999153614044, 2),
        ("acc", 0.0010000000474974513, 7),
    ]
    assert_matches_tensorboard(events, expected)
    from guild.tfevent import ScalarReader  # the reader whose rule we mirror

    assert list(ScalarReader(str(events.parent))) == read_scalars(events)


# -- truncated, corrupt and empty files ---------------------------------------------------------

RECORDS = [
    field(3, 2, b"brain.Event:2"),
    event(simple("loss", 0.5), step=1),
    event(simple("loss", 0.25), simple("acc", 0.75), step=2),
    event(simple("loss", 0.125), step=3),
]
EXPECTED = [("loss", 0.5, 1), ("loss", 0.25, 2), ("acc", 0.75, 2), ("loss", 0.125, 3)]


def test_hand_written_file(tmp_path: Path) -> None:
    path = write(tmp_path / "events.out.tfevents.1", RECORDS)
    assert read_scalars(path) == EXPECTED
    if HAS_TENSORBOARD:
        assert tb_scalars(path) == EXPECTED


def test_record_truncated_at_the_end_is_left_out(tmp_path: Path) -> None:
    whole = b"".join(frame(r) for r in RECORDS)
    last = len(frame(RECORDS[-1]))
    path = tmp_path / "events.out.tfevents.1"
    for cut in range(1, last):  # inside the length, its CRC, the data, and the data CRC
        path.write_bytes(whole[: len(whole) - cut])
        assert read_scalars(path) == EXPECTED[:-1], cut
    path.write_bytes(whole[: len(whole) - last])
    assert read_scalars(path) == EXPECTED[:-1]
    if HAS_TENSORBOARD:
        path.write_bytes(whole[:-7])
        assert tb_scalars(path) == EXPECTED[:-1]


@pytest.mark.parametrize("record", [0, 1, 3])
@pytest.mark.parametrize("byte", [0, 7, 8, 11])
def test_corrupt_length_or_its_crc_raises(tmp_path: Path, record: int, byte: int) -> None:
    data = bytearray(b"".join(frame(r) for r in RECORDS))
    data[sum(len(frame(r)) for r in RECORDS[:record]) + byte] ^= 0x10
    path = tmp_path / "events.out.tfevents.1"
    path.write_bytes(bytes(data))
    with pytest.raises(EventFileError, match="checksum"):
        read_scalars(path)


GARBAGE = {
    "overlong varint": b"\x10" + b"\xff" * 10 + b"\x01",
    "truncated varint": b"\x10\xff",
    "wire type 7": b"\x0f",
    "wire type 6": b"\x0e",
    "stray end group": b"\x0c",
    "unterminated group": b"\x0b\x08\x01",
    "field number 0": b"\x00\x01",
    "field number too big": b"\xf8\xff\xff\xff\x1f\x01",
    "summary overruns event": b"\x2a\x05ab",
    "wall_time overruns event": b"\x09\x00\x00",
    "value overruns summary": field(5, 2, b"\x0a\x09" + simple("a", 1)),
    "long value overruns summary": field(5, 2, b"\x0a\x89\x01" + simple("a", 1)),
    "tag overruns value": event(b"\x0a\x09ab\x15" + f32(1)),
    "truncated simple_value": event(b"\x0a\x01a\x15\x00\x00"),
    "tag not UTF-8": event(simple(b"\xff\xfe", 1)),
    "tag not UTF-8, slow path": event(simple(b"\xff\xfe", 1) + field(9, 2, b"")),
    "packed float_val of 3 bytes": event(field(8, 2, field(1, 0, 1) + field(5, 2, b"abc"))),
    "packed double_val of 4 bytes": event(field(8, 2, field(1, 0, 2) + field(6, 2, f32(1)))),
    "bad dim in shape": event(field(8, 2, TENSOR_1 + field(2, 2, field(2, 2, b"\x08")))),
}


@pytest.mark.parametrize("name", GARBAGE)
def test_garbage_protobuf_in_a_valid_frame_raises(tmp_path: Path, name: str) -> None:
    path = write(tmp_path / "events.out.tfevents.1", [RECORDS[1], GARBAGE[name], RECORDS[2]])
    with pytest.raises(EventFileError, match=f"record at byte {len(frame(RECORDS[1]))}:"):
        read_scalars(path)
    if HAS_TENSORBOARD:  # the protobuf library agrees the record is malformed
        from google.protobuf.message import DecodeError
        from tensorboard.compat.proto import event_pb2

        with pytest.raises(DecodeError):
            event_pb2.Event.FromString(GARBAGE[name])


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "events.out.tfevents.1"
    path.write_bytes(b"")
    assert read_scalars(path) == []


def test_file_with_only_a_partial_header(tmp_path: Path) -> None:
    path = tmp_path / "events.out.tfevents.1"
    path.write_bytes(frame(RECORDS[0])[:11])
    assert read_scalars(path) == []


# -- shared fixtures and fuzzing against the protobuf library -----------------------------------


def test_shared_guild_fixtures() -> None:
    if not FILTER_RUNS.is_dir():
        pytest.skip(f"{FILTER_RUNS} is absent")
    paths = sorted(p for p in FILTER_RUNS.rglob("*.tfevents.*") if p.is_file())
    assert paths
    found = [assert_matches_tensorboard(p) for p in paths]
    assert all(len(scalars) > 0 for scalars in found)


def _message(depth: int) -> st.SearchStrategy[bytes]:
    leaf = st.one_of(
        st.builds(field, st.integers(1, 10), st.just(0), st.integers(0, 2**64 - 1)),
        st.builds(field, st.integers(1, 10), st.just(1), st.binary(min_size=8, max_size=8)),
        st.builds(field, st.integers(1, 10), st.just(5), st.binary(min_size=4, max_size=4)),
        st.builds(field, st.integers(1, 10), st.just(2), st.binary(max_size=9)),
    )
    if depth == 0:
        return st.lists(leaf, max_size=4).map(b"".join)
    nested = st.builds(field, st.integers(1, 10), st.just(2), _message(depth - 1))
    return st.lists(leaf | nested | nested, max_size=4).map(b"".join)


def _tensor() -> st.SearchStrategy[bytes]:
    shape = st.lists(st.sampled_from([1, 1, 2, 2**64 - 1]), max_size=2).map(
        lambda dims: field(2, 2, b"".join(field(2, 2, field(1, 0, d)) for d in dims))
    )
    part = st.one_of(
        st.builds(field, st.just(1), st.just(0), st.sampled_from([0, 1, 2, 3, 7])),
        shape,
        st.builds(field, st.just(4), st.just(2), st.binary(max_size=9)),
        st.builds(field, st.just(5), st.sampled_from([2, 5]), st.binary(min_size=4, max_size=4)),
        st.builds(field, st.just(6), st.sampled_from([1, 2]), st.binary(min_size=8, max_size=8)),
    )
    return st.lists(part, max_size=5).map(b"".join)


VALUE_PART = st.one_of(
    st.builds(field, st.just(1), st.just(2), st.sampled_from([b"", b"loss", b"\xc3\xa9", b"\xff"])),
    st.builds(field, st.just(2), st.just(5), st.binary(min_size=4, max_size=4)),
    st.builds(field, st.just(8), st.just(2), _tensor()),
    st.builds(field, st.sampled_from([3, 4, 5, 6, 7, 9]), st.just(2), _message(1)),
)
EVENT_PART = st.one_of(
    st.builds(field, st.just(1), st.just(1), st.binary(min_size=8, max_size=8)),
    st.builds(field, st.just(2), st.just(0), INT64),
    st.builds(
        field,
        st.just(5),
        st.just(2),
        st.lists(
            st.lists(VALUE_PART, max_size=4).map(b"".join).map(lambda v: field(1, 2, v)), max_size=3
        ).map(b"".join),
    ),
    st.builds(field, st.integers(3, 10), st.just(2), _message(1)),
)


@given(
    parts=st.lists(EVENT_PART, max_size=5),
    mutation=st.none() | st.tuples(st.integers(0, 10**6), st.integers(0, 255)),
)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_fuzzed_events_agree_with_protobuf(
    tmp_path_factory: pytest.TempPathFactory, parts: list[bytes], mutation: tuple[int, int] | None
) -> None:
    pytest.importorskip("tensorboard")
    from google.protobuf.message import DecodeError
    from tensorboard.compat.proto import event_pb2

    data = bytearray(b"".join(parts))
    if mutation and data:
        data[mutation[0] % len(data)] = mutation[1]
    path = write(tmp_path_factory.mktemp("fuzz") / "events.out.tfevents.1", [bytes(data)])
    try:
        expected = list(event_scalars(event_pb2.Event.FromString(bytes(data))))
    except DecodeError:
        # Our reader rejects bad framing and bad fields it reads, but does not look inside
        # fields it skips (e.g. a file_version that is not UTF-8): it may or may not raise.
        with contextlib.suppress(EventFileError):
            read_scalars(path)
    else:
        assert comparable(read_scalars(path)) == comparable(expected)
