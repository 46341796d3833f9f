#!/usr/bin/env python3
"""Recompute CloudLedger's hash chain from a line-item export (CSV or JSON lines).

Written from the README section "Verifying the chain" alone, as an auditor would: it
imports nothing of CloudLedger. Prints "<count> <head hash>"; exits 1 naming the first
row that does not verify.
"""
import csv
import hashlib
import io
import json
import sys


def uvarint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def varint(n):
    return uvarint(((n << 1) ^ (n >> 63)) & 0xFFFFFFFFFFFFFFFF)


def lenbytes(b):
    return uvarint(len(b)) + b


def unquote(cell):
    # The CSV defuses a text cell a spreadsheet would run as a formula with a leading
    # apostrophe (README, "Verifying the chain"): drop it to get the value back.
    if len(cell) > 1 and cell[0] == "'" and cell[1] in "=+-@\t\r'":
        return cell[1:]
    return cell


def rows(path):
    with open(path, "rb") as f:
        data = f.read().decode("utf-8-sig")
    if path.lower().endswith(".csv"):
        for row in csv.DictReader(io.StringIO(data)):
            yield {k: unquote(v) for k, v in row.items()}
    else:
        for line in data.splitlines():
            if line.strip():
                yield json.loads(line)


def main(path):
    prev = bytes(32)
    n = 0
    for row in rows(path):
        n += 1
        if int(row["seq"]) != n:
            print(f"row {n}: seq {row['seq']}, want {n}")
            return 1
        canon = (uvarint(int(row["seq"])) + uvarint(int(row["raft_index"]))
                 + lenbytes(row["key"].encode("utf-8")) + lenbytes(row["actor"].encode("utf-8"))
                 + varint(int(row["recorded_at_unix_nano"])) + lenbytes(bytes.fromhex(row["body_hex"])))
        h = hashlib.sha256(prev + canon).digest()
        if h.hex() != row["hash"]:
            print(f"seq {n}: hash {row['hash']}, recomputed {h.hex()}")
            return 1
        prev = h
    print(n, prev.hex())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
