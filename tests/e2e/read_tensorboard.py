#!/usr/bin/env python3
"""Independent reader of TensorBoard event files (python3 standard library only).

Usage: read_tensorboard.py DIR

Finds every file whose name contains "tfevents" under DIR (recursively, sorted by path),
verifies the TFRecord framing of every record (both masked CRC-32C values; a short read is a
truncated record), decodes each record as a tensorboard.Event protobuf by hand and prints

  {"files": n, "records": m, "scalars": {tag: [[step, value], ...], ...}}

to stdout (values in file order; non-finite values as null). The first record of every file
must carry file_version "brain.Event:...". Exit status: 0 on success, 1 on any corrupt,
truncated or undecodable record (with a message on stderr), 2 on bad usage.

Shares no code with the C++ writer (common/metrics/tensorboard.cc) on purpose: it is the
test oracle for that writer. Field numbers from tensorboard/compat/proto/event.proto and
summary.proto: Event.wall_time=1 (double), step=2 (int64), file_version=3 (string),
summary=5; Summary.value=1; Summary.Value.tag=1, simple_value=2 (float).
"""

import json
import math
import os
import struct
import sys


class FormatError(Exception):
    pass


def _make_crc32c_table():
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC32C_TABLE = _make_crc32c_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC32C_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data):
    crc = crc32c(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283


def read_varint(buf, pos):
    result = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise FormatError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise FormatError("varint too long")


def parse_fields(buf):
    """Yields (field_number, wire_type, value) for a serialized protobuf message.

    value: int for varint, bytes for fixed64 / fixed32 / length-delimited.
    """
    pos = 0
    while pos < len(buf):
        key, pos = read_varint(buf, pos)
        field, wire_type = key >> 3, key & 7
        if field == 0:
            raise FormatError("field number 0")
        if wire_type == 0:
            value, pos = read_varint(buf, pos)
        elif wire_type == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire_type == 2:
            length, pos = read_varint(buf, pos)
            value, pos = buf[pos:pos + length], pos + length
        elif wire_type == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise FormatError("unsupported wire type %d (field %d)" % (wire_type, field))
        if pos > len(buf):
            raise FormatError("field %d runs past the end of its message" % field)
        yield field, wire_type, value


def decode_event(data):
    """Returns {"wall_time", "step", "file_version", "values": [(tag, simple_value)]}."""
    event = {"wall_time": 0.0, "step": 0, "file_version": None, "values": []}
    for field, wire_type, value in parse_fields(data):
        if field == 1 and wire_type == 1:
            event["wall_time"] = struct.unpack("<d", value)[0]
        elif field == 2 and wire_type == 0:
            event["step"] = value - (1 << 64) if value >= (1 << 63) else value  # int64
        elif field == 3 and wire_type == 2:
            event["file_version"] = value.decode("utf-8")
        elif field == 5 and wire_type == 2:
            for sfield, stype, svalue in parse_fields(value):
                if sfield != 1 or stype != 2:
                    continue
                tag, simple = None, None
                for vfield, vtype, vvalue in parse_fields(svalue):
                    if vfield == 1 and vtype == 2:
                        tag = vvalue.decode("utf-8")
                    elif vfield == 2 and vtype == 5:
                        simple = struct.unpack("<f", vvalue)[0]
                if tag is not None and simple is not None:
                    event["values"].append((tag, simple))
    return event


def read_records(path):
    """Yields the data of every TFRecord in `path`; raises FormatError on corruption."""
    with open(path, "rb") as f:
        blob = f.read()
    pos = 0
    index = 0
    while pos < len(blob):
        if len(blob) - pos < 12:
            raise FormatError("record %d at byte %d: truncated header" % (index, pos))
        header = blob[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (header_crc,) = struct.unpack("<I", blob[pos + 8:pos + 12])
        if header_crc != masked_crc32c(header):
            raise FormatError("record %d at byte %d: length CRC mismatch" % (index, pos))
        start = pos + 12
        if len(blob) - start < length + 4:
            raise FormatError("record %d at byte %d: truncated data (%d bytes declared)" % (index, pos, length))
        data = blob[start:start + length]
        (data_crc,) = struct.unpack("<I", blob[start + length:start + length + 4])
        if data_crc != masked_crc32c(data):
            raise FormatError("record %d at byte %d: data CRC mismatch" % (index, pos))
        yield data
        pos = start + length + 4
        index += 1


def find_event_files(root):
    found = []
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            if "tfevents" in name:
                found.append(os.path.join(dirpath, name))
    return sorted(found)


def main(argv):
    if len(argv) != 2 or not os.path.isdir(argv[1]):
        sys.stderr.write("usage: read_tensorboard.py DIR (an existing directory)\n")
        return 2
    files = find_event_files(argv[1])
    records = 0
    scalars = {}
    for path in files:
        try:
            for index, data in enumerate(read_records(path)):
                event = decode_event(data)
                if index == 0 and not (event["file_version"] or "").startswith("brain.Event:"):
                    raise FormatError("record 0 has no file_version \"brain.Event:...\"")
                records += 1
                for tag, value in event["values"]:
                    scalars.setdefault(tag, []).append([event["step"], value if math.isfinite(value) else None])
        except (FormatError, UnicodeDecodeError, struct.error) as e:
            sys.stderr.write("read_tensorboard.py: %s: %s\n" % (path, e))
            return 1
    json.dump({"files": len(files), "records": records, "scalars": scalars}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
