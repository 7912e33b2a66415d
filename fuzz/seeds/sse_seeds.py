#!/usr/bin/env python3
"""Writes the seeds of the sse_rewrite target.

A seed is one header byte (its value % 8 is how many chunk-length bytes follow), the
chunk lengths, then the stream. Header `0` (0x30 % 8 == 0) pushes the stream byte by
byte; `\\x01\\x05` pushes it 5 bytes at a time; `\\x03\\x01\\x07\\x02` in chunks of 1,
7, 2, 1, 7, 2, ...
"""
import json
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
FOLDER = os.path.join(HERE, "..", "corpus", "sse_rewrite")

def msg(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()

tools = msg({"jsonrpc": "2.0", "id": 1, "result": {"tools": [
    {"name": "odoo_read", "description": "Reads records", "inputSchema": {"type": "object"}},
    {"name": "odoo_web_search"},
    {"name": "ssh_execute"},
    {"name": "write"},
    {"name": "watched"},
    {"name": "unknown_tool"},
    "not a tool",
    {"description": "no name"},
    {"name": "read", "_meta": {"v": 1}},
], "nextCursor": "abc"}})
kept = msg({"jsonrpc": "2.0", "id": 2, "result": {"tools": [{"name": "read"}, {"name": "odoo_x"}]}})
call = msg({"jsonrpc": "2.0", "id": 3, "result": {"content": [{"type": "text", "text": "ok"}]}})
changed = msg({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})

BYTE = b"0"          # byte by byte
FIVES = b"\x01\x05"  # 5 bytes at a time
MIXED = b"\x03\x01\x07\x02"
WHOLE = b"\x01\xff"  # 255 bytes at a time

SEEDS = {
    "lf-tools-list": BYTE + b"data: " + tools + b"\n\n",
    "lf-tools-list-fives": FIVES + b"event: message\nid: 7\ndata: " + tools + b"\n\n",
    "crlf-events": MIXED + b"event: message\r\nid: 1\r\ndata: " + kept + b"\r\n\r\nid: 2\r\ndata: " + call + b"\r\n\r\n",
    "cr-events": BYTE + b"event: message\rdata: " + call + b"\r\rdata: " + kept + b"\r\r",
    "cr-then-lf-across-chunks": b"\x02\x0b\x01" + b"data: {\"a\":1}\r\n\r\ndata: {\"b\":2}\r\r\n",
    "cr-cr-lf": FIVES + b"data: " + call + b"\r\r\ndata: " + kept + b"\r\n\r\n",
    "mixed-line-ends": MIXED + b"id: a\rdata: " + call + b"\r\n\ndata: " + kept + b"\n\r\n",
    "bom": BYTE + b"\xef\xbb\xbfdata: " + call + b"\n\n",
    "bom-split": b"\x02\x01\x02" + b"\xef\xbb\xbfdata: {}\n\n",
    "bom-prefix-only": BYTE + b"\xef\xbb",
    "comments": FIVES + b": keep-alive\n\n:\n\n: comment\ndata: " + call + b"\n\n",
    "multi-line-data": BYTE + b"data: {\"jsonrpc\":\"2.0\",\ndata: \"id\":1,\ndata: \"result\":{\"tools\":[{\"name\":\"ssh_execute\"},\ndata: {\"name\":\"read\"}]}}\n\n",
    "fields": MIXED + b"retry: 1000\nretry: x\nretry:\nid: a\x00b\nid:\nfoo: bar\nevent:msg\ndata:" + call + b"\n\n",
    "empty-data": BYTE + b"data:\n\ndata\n\ndata:\ndata:\n\n",
    "no-colon-fields": BYTE + b"event\nid\nretry\n\n",
    "bad-json-cuts": FIVES + b"data: " + call + b"\n\ndata: not json\n\ndata: " + kept + b"\n\n",
    "not-an-object": BYTE + b"id: 1\nevent: x\ndata: [1,2]\n\n",
    "duplicate-key": BYTE + b"data: {\"id\":1,\"id\":2}\n\n",
    "unterminated-last-event": FIVES + b"data: " + call + b"\n\ndata: " + kept + b"\n",
    "invalid-utf8": BYTE + b"data: {\"a\":\"\xff\"}\n\n",
    "utf8-split": b"\x01\x01" + "data: {\"a\":\"é€😀\"}\n\n".encode(),
    "list-changed": WHOLE + b"data: " + changed + b"\n\n",
    "whole-stream": WHOLE + b"event: message\ndata: " + tools + b"\n\nevent: message\ndata: " + kept + b"\n\n",
    "empty-chunks": b"\x04\x00\x03\x00\x01" + b"data: " + call + b"\n\n",
    "blank-lines-only": BYTE + b"\n\n\r\n\r\r",
    "data-with-space-and-tab": BYTE + b"data:  {\"a\":1}\ndata:\t\n\n",
}

shutil.rmtree(FOLDER, ignore_errors=True)
os.makedirs(FOLDER)
for name, data in SEEDS.items():
    with open(os.path.join(FOLDER, name), "wb") as f:
        f.write(data)
print(f"{len(SEEDS)} seeds for sse_rewrite")
