#!/usr/bin/env python3
"""Writes the hand-written seeds of the mcp_parse_message target.

A seed is a message, then optionally, each after a 0xFF byte: the Mcp-Method, Mcp-Name
and MCP-Protocol-Version header values, then `name:value` Mcp-Param-* headers. The
calls name the tools of toolgate_fuzz::EVAL_POLICY (fuzz/src/lib.rs) with arguments
that reach each of its rules. (The seeds named `test-*` were collected from the
messages toolgate's own tests parse; see fuzz/README.md.)
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
FOLDER = os.path.join(HERE, "..", "corpus", "mcp_parse_message")
SEP = b"\xff"

def dump(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()

def call(name, arguments=None, id=1, **params):
    p = {"name": name}
    if arguments is not None:
        p["arguments"] = arguments
    p.update(params)
    return dump({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": p})

def headers(body, method=None, name=None, version=None, *extra):
    parts = [body]
    for h in (method, name, version):
        parts.append((h or "").encode())
    parts.extend(e.encode() for e in extra)
    return SEP.join(parts)

SEEDS = {
    "call-eq-deny": call("eq_tool", {"model": "res.users"}),
    "call-eq-allow": call("eq_tool", {"model": "res.partner"}),
    "call-neq-exact": call("eq_tool", {"model": 12.5}),
    "call-in": call("set_tool", {"model": 100, "state": "draft"}),
    "call-in-object": call("set_tool", {"model": {"k": [True]}}),
    "call-not-in-big": b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"set_tool","arguments":{"model":"b","state":12345678901234567891.0}}}',
    "call-numbers": call("num_tool", {"amount": 5}),
    "call-numbers-edge": b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"num_tool","arguments":{"amount":100000000000000000000.0000010}}}',
    "call-numbers-negative": b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"num_tool","arguments":{"amount":-1.5e0}}}',
    "call-regex": call("text_tool", {"method": "action_confirm", "note": "x", "tags": ["a", {"a": 1}]}),
    "call-regex-fail": call("text_tool", {"method": "unlink", "note": "DROP TABLE"}),
    "call-exists": call("exists_tool", {"ids": [1], "id": 3}),
    "call-exists-force": call("exists_tool", {"ids": None, "force": False}),
    "call-star": call("star_tool", {"lines": [{"amount": 10, "account": "4000"}, {"amount": 2000, "account": "12"}], "map": {"a": "y"}, "a": [{"b": {"x": {"c": [1]}}}]}),
    "call-star-empty": call("star_tool", {"lines": [], "map": {}, "a": [{"b": {}}]}),
    "call-star-wrong-kind": call("star_tool", {"lines": "x", "map": [1], "a": {"0": 1}}),
    "call-approval": call("approve_tool", {"amount": 150}),
    "call-approval-not-needed": call("approve_tool", {"amount": 5}),
    "call-always-approve": call("always_approve"),
    "call-limited": call("limited", {}, id="req-1"),
    "call-monitored": call("monitored", {}),
    "call-monitored-approval": call("monitored_approval", {}),
    "call-denied": call("denied", {}),
    "call-glob": call("glob_anything", {}),
    "call-dot-write": call("odoo.write", {"0": 1}),
    "call-hidden": call("ssh_execute", {}),
    "call-hidden-glob": call("secret_keys", {}),
    "call-hidden-suffix": call("db_internal", {}),
    "call-proto": call("x", {"__proto__": {}}),
    "call-meta-task": call("x", {}, _meta={"io.modelcontextprotocol/protocolVersion": "2026-07-28", "progressToken": 1}, task={"ttl": 1}),
    "call-headers": headers(call("eq_tool", {"model": "a", "region": "eu", "count": 3, "nested": {"flag": True}}), "tools/call", "eq_tool", "2026-07-28", "region:eu", "count:3.0", "flag:true"),
    "call-headers-base64": headers(call("x", {"region": "été"}), "tools/call", "=?base64?eA==?=", "2026-07-28", "region:=?base64?w6l0w6k=?="),
    "call-headers-mismatch": headers(call("x", {"count": 4}), " tools/list ", "y", "2025-06-18", "count:5", "count:4"),
    "call-headers-missing": headers(call("x"), None, None, "2026-07-28"),
    "call-id-string": call("x", {}, id="abc"),
    "call-id-big": b'{"jsonrpc":"2.0","id":18446744073709551615,"method":"tools/call","params":{"name":"x"}}',
    "call-id-negative": b'{"jsonrpc":"2.0","id":-9223372036854775808,"method":"tools/call","params":{"name":"x"}}',
    "call-name-128": call("a" * 128),
    "call-name-129": call("a" * 129),
    "call-name-invalid": call("odoo write"),
    "call-name-escaped": b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"\\u006fdoo_write","arguments":{}}}',
    "call-name-number": b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":1}}',
    "call-arguments-array": b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":[1]}}',
    "call-no-params": b'{"jsonrpc":"2.0","id":1,"method":"tools/call"}',
    "call-params-array": b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":[]}',
    "call-no-name": b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}',
    "call-notification": b'{"jsonrpc":"2.0","method":"tools/call","params":{"name":"x"}}',
    "call-case-member": b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","Name":"y"}}',
    "call-kelvin-member": '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","tasK":1}}'.encode(),
    "call-nul-member": b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","argu\\u0000ments":{}}}',
    "call-duplicate-name": b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","name":"y"}}',
    "message-case-method": b'{"jsonrpc":"2.0","id":1,"Method":"tools/call","method":"tools/list"}',
    "message-long-s": '{"jsonrpc":"2.0","id":1,"method":"ping","paramſ":{}}'.encode(),
    "id-float": b'{"jsonrpc":"2.0","id":1.0,"method":"ping"}',
    "id-exponent": b'{"jsonrpc":"2.0","id":1e2,"method":"ping"}',
    "id-null": b'{"jsonrpc":"2.0","id":null,"method":"ping"}',
    "id-too-big": b'{"jsonrpc":"2.0","id":184467440737095516150,"method":"ping"}',
    "jsonrpc-wrong": b'{"jsonrpc":"1.0","id":1,"method":"ping"}',
    "jsonrpc-escaped": b'{"jsonrpc":"2\\u002e0","id":1,"method":"ping"}',
    "method-number": b'{"jsonrpc":"2.0","id":1,"method":5}',
    "request-with-result": b'{"jsonrpc":"2.0","id":1,"method":"ping","result":{}}',
    "tools-list": headers(b'{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"cursor":"abc"}}', "tools/list", None, "2026-07-28"),
    "tools-list-no-params": b'{"jsonrpc":"2.0","id":2,"method":"tools/list"}',
    "prompts-get": headers(dump({"jsonrpc": "2.0", "id": 3, "method": "prompts/get", "params": {"name": "Hello world é"}}), "prompts/get", "=?base64?SGVsbG8gd29ybGQgw6k=?=", "2026-07-28"),
    "resources-read": headers(dump({"jsonrpc": "2.0", "id": 4, "method": "resources/read", "params": {"uri": "file:///etc/passwd"}}), "resources/read", "file:///etc/passwd"),
    "meta-version": headers(dump({"jsonrpc": "2.0", "id": 5, "method": "initialize", "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}}}), "initialize", None, "2025-06-18"),
    "notification": b'{"jsonrpc":"2.0","method":"notifications/initialized"}',
    "response-result": b'{"jsonrpc":"2.0","id":9,"result":{"ok":true}}',
    "response-error": b'{"jsonrpc":"2.0","id":"s-1","error":{"code":-32601,"message":"no"}}',
    "response-both": b'{"jsonrpc":"2.0","id":9,"result":{},"error":{}}',
    "response-no-id": b'{"jsonrpc":"2.0","result":{}}',
    "batch": b'[{"jsonrpc":"2.0","id":1,"method":"ping"}]',
    "not-object": b'"tools/call"',
    "not-json": b'{"jsonrpc":"2.0",',
    "bom": b'\xef\xbb\xbf{"jsonrpc":"2.0","id":1,"method":"ping"}',
    "large-arguments": call("always_approve", {"blob": "x" * 3000}),
}

os.makedirs(FOLDER, exist_ok=True)
for old in os.listdir(FOLDER):
    if not old.startswith("test-"):
        os.remove(os.path.join(FOLDER, old))
for name, data in SEEDS.items():
    with open(os.path.join(FOLDER, name), "wb") as f:
        f.write(data)
print(f"{len(SEEDS)} hand-written seeds for mcp_parse_message")
