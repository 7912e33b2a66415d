#!/usr/bin/env python3
"""Writes the seeds of the json_parse and json_differential targets.

One file per case, named for what it shows: every refusal src/json.rs documents, and
the accepted shapes worth starting from. Run from anywhere; rewrites the two folders.
"""
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "corpus")

def nest(depth, leaf=b"1"):
    return b"[" * depth + leaf + b"]" * depth

def nest_obj(depth, leaf=b"1"):
    return b'{"a":' * depth + leaf + b"}" * depth

many_keys = b"{" + b",".join(b'"k%d":%d' % (i, i) for i in range(20)) + b"}"
many_keys_ambiguous = many_keys[:-1] + b',"K3":0}'
many_keys_duplicate = many_keys[:-1] + b',"k7":0}'

SEEDS = {
    # accepted
    "ok-empty-object": b"{}",
    "ok-empty-array": b"[]",
    "ok-literals": b"[true,false,null]",
    "ok-whitespace": b" \t\r\n{ \"a\" : [ 1 , 2 ] }\r\n ",
    "ok-mcp-call": b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"odoo_write","arguments":{"model":"res.partner","ids":[1,2],"values":{"state":"draft"}}}}',
    "ok-big-integer": b"12345678901234567891",
    "ok-big-negative": b"-12345678901234567891.000",
    "ok-300-digits": b"9" * 300,
    "ok-301-digits": b"1" + b"0" * 300,
    "ok-numbers": b"[0,-0,1.0,100E-2,1e21,1E+21,1e20,1e-7,0.000001,123.456,-1.5,0.1000000000000000000001]",
    "ok-double-extremes": b"[5e-324,1.7976931348623157e308,-1.7976931348623157e308,2.2250738585072014e-308]",
    "ok-underflow": b"[1e-400,-1e-999999]",
    "ok-zero-huge-exponent": b"[0e999999,0.0E-999999]",
    "ok-exponent-6-digits": b"1e-999999",
    "ok-escapes": b'"\\"\\\\\\/\\b\\f\\n\\r\\t"',
    "ok-unicode-escapes": b'["\\u0000","\\u001f","\\u00e9","\\u20AC","\\u2028","\\uFFFF"]',
    "ok-surrogate-pair": b'["\\ud83d\\ude00","\\uD834\\uDD1E","\\udbff\\udfff"]',
    "ok-raw-utf8": '["é","€","😀","ключ","\u2028"]'.encode(),
    "ok-keys": '{"":1,"a/b~c":2,"\\u0041":3,"ключ":4}'.encode(),
    "ok-many-keys": many_keys,
    "ok-nesting-64-arrays": nest(64),
    "ok-nesting-64-objects": nest_obj(64),
    "ok-nesting-64-mixed": b'{"a":' * 32 + b"[" * 32 + b"null" + b"]" * 32 + b"}" * 32,
    "ok-escaped-keys-differ": b'{"a\\n":1,"a":2,"\\u00e9":3}',
    # refused: duplicate and ambiguous keys
    "no-duplicate-key": b'{"a":1,"a":2}',
    "no-duplicate-key-escaped": b'{"a":1,"\\u0061":2}',
    "no-duplicate-key-nested": b'[{"x":{"k":1,"k":1}}]',
    "no-duplicate-key-many": many_keys_duplicate,
    "no-ambiguous-case": b'{"method":"tools/list","Method":"tools/call"}',
    "no-ambiguous-long-s": '{"s":1,"ſ":2}'.encode(),
    "no-ambiguous-kelvin": '{"k":1,"K":2}'.encode(),
    "no-ambiguous-nul": b'{"name":1,"na\\u0000me":2}',
    "no-ambiguous-many": many_keys_ambiguous,
    # refused: strings
    "no-lone-high-surrogate": b'"\\ud800"',
    "no-lone-low-surrogate": b'"\\udc00"',
    "no-high-then-letter": b'"\\ud800\\u0041"',
    "no-high-then-text": b'"\\ud800x"',
    "no-control-character": b'"a\x01b"',
    "no-raw-tab": b'"a\tb"',
    "no-invalid-escape": b'"\\x41"',
    "no-short-unicode-escape": b'"\\u12"',
    "no-bad-hex": b'"\\u12G4"',
    "no-unterminated-string": b'"abc',
    # refused: bytes
    "no-invalid-utf8": b'"\xff"',
    "no-overlong-utf8": b'"\xc0\xaf"',
    "no-truncated-utf8": b'"\xe2\x82"',
    "no-utf8-surrogate": b'"\xed\xa0\x80"',
    "no-bom": b"\xef\xbb\xbf{}",
    # refused: numbers
    "no-nan": b"NaN",
    "no-infinity": b"[Infinity]",
    "no-negative-infinity": b"-Infinity",
    "no-overflow": b"1e309",
    "no-overflow-negative": b"-1e400",
    "no-overflow-digits": b"1" + b"0" * 309,
    "no-exponent-7-digits": b"1e1000000",
    "no-exponent-leading-zeros": b"1e0000001",
    "no-leading-zero": b"01",
    "no-plus": b"+1",
    "no-bare-dot": b".5",
    "no-trailing-dot": b"1.",
    "no-empty-exponent": b"1e",
    "no-minus": b"-",
    "no-hex": b"0x10",
    # refused: structure
    "no-nesting-65-arrays": nest(65),
    "no-nesting-65-objects": nest_obj(65),
    "no-trailing-data": b"{} {}",
    "no-trailing-number": b"1 2",
    "no-trailing-comma": b"[1,]",
    "no-trailing-comma-object": b'{"a":1,}',
    "no-single-quotes": b"{'a':1}",
    "no-unquoted-key": b"{a:1}",
    "no-comment-line": b"// comment\n{}",
    "no-comment-block": b"/* c */ 1",
    "no-eof-array": b"[",
    "no-eof-member": b'{"a":',
    "no-missing-colon": b'{"a" 1}',
    "no-bad-literal": b"tru",
    "no-empty": b"",
    "no-only-space": b"  ",
}

for target in ("json_parse", "json_differential"):
    folder = os.path.join(CORPUS, target)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    for name, data in SEEDS.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
print(f"{len(SEEDS)} seeds for json_parse and json_differential")
