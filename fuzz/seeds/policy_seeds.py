#!/usr/bin/env python3
"""Writes the hand-written and example seeds of the policy_load target: every policy of
examples/ and www/examples/, the fixed policies of fuzz/src/lib.rs, and policies that
reach each error of the loader. (The seeds named `test-*` were collected from the
policies toolgate's own tests load; see fuzz/README.md.)
"""
import glob
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
FOLDER = os.path.join(HERE, "..", "corpus", "policy_load")

def rule(r):
    return '{"version":"1","default":"deny","tools":{"x":%s}}' % r

SEEDS = {
    "min-deny": '{"version":"1","default":"deny"}',
    "min-allow": '{"version":"1","default":"allow","mode":"monitor","pin":{"on_change":"hide"}}',
    "pin-deny": '{"version":"1","default":"allow","pin":{"on_change":"deny"},"tools":{"a*":{}}}',
    "every-op": rule('{"deny_if":[{"path":"args.a","op":"eq","value":1},{"path":"args.a","op":"neq","value":"1"},'
                     '{"path":"args.a","op":"in","value":[1]},{"path":"args.a","op":"not_in","value":[]},'
                     '{"path":"args.a","op":"lt","value":1e-7},{"path":"args.a","op":"lte","value":-0},'
                     '{"path":"args.a","op":"gt","value":12345678901234567891},{"path":"args.a","op":"gte","value":1.5},'
                     '{"path":"args.a.*.b","op":"regex","value":"^a+$"},{"path":"args.0.*","op":"contains","value":{"k":[]}},'
                     '{"path":"args.a","op":"exists"},{"path":"args.a","op":"exists","value":false}]}'),
    "limits": '{"version":"1","default":"allow","all_tools":{"limits":[{"counter":"c","window":"day","max":1000000,"scope":"global"}]},'
              '"tools":{"x":{"limits":[{"counter":"c","window":"day","max":1000000,"scope":"global"},{"counter":"s","window":"second","max":1,"scope":"session"}],'
              '"rate_limit":{"max":5,"window":"hour"}},"y":{"rate_limit":{"max":1,"window":86400}}}}',
    "approval": rule('{"approval":{"if":[{"path":"args.amount","op":"gte","value":100}],"ttl":"15m"},"on_deny":"no"}'),
    "monitor-entry": rule('{"mode":"monitor","action":"deny","reason":"why"}'),
    # errors
    "err-not-object": '[]',
    "err-not-json": '{"version":"1",',
    "err-duplicate": '{"version":"1","version":"1","default":"deny"}',
    "err-missing": '{}',
    "err-unknown-fields": '{"version":"2","default":"maybe","mode":"loud","extra":1,"pin":{"on_change":"x","y":1},"hide":"x","tools":[]}',
    "err-hide-items": '{"version":1,"default":"deny","hide":["","a b","' + "a" * 129 + '",1,"ok*"]}',
    "err-keys": '{"version":"1","default":"deny","tools":{"":{},"a/b~c":{},"é":{},"\\u200b":{},"x":[],"y":{"z":1}}}',
    "err-action": rule('{"action":"block","mode":"m","on_deny":" ","reason":"r"}'),
    "err-on-deny-and-reason": rule('{"on_deny":"a","reason":"b"}'),
    "err-conditions": rule('{"deny_if":{},"require":[1,{},{"path":"a","op":"eq"},{"path":"args.","op":"x","value":1},'
                           '{"path":"args.a*","op":"in","value":1},{"path":"args.a","op":"lt","value":"1"},'
                           '{"path":"args.a","op":"regex","value":"("},{"path":"args.a","op":"regex","value":1},'
                           '{"path":"args.a","op":"exists","value":1},{"path":"args.a","op":"eq","value":1,"x":2}]}'),
    "err-limits": rule('{"limits":[{},{"counter":"","window":"week","max":0,"scope":"team"},{"counter":"c","window":"day","max":1.5},'
                       '{"counter":"c","window":"hour","max":-1},{"counter":"c","window":"hour","max":1000001},'
                       '{"counter":"' + "c" * 129 + '","window":"hour","max":1}],"rate_limit":{"max":"1","window":7}}'),
    "err-limit-conflict": '{"version":"1","default":"deny","all_tools":{"limits":[{"counter":"c","window":"day","max":1}]},'
                          '"tools":{"x":{"limits":[{"counter":"c","window":"hour","max":1}]}}}',
    "err-approval": rule('{"approval":{"if":1,"ttl":"0m","x":1}}'),
    "err-durations": '{"version":"1","default":"deny","tools":{"a":{"approval":{"ttl":"15"}},"b":{"approval":{"ttl":15}},'
                     '"c":{"approval":{"ttl":"99999999999999999999d"}},"d":{"approval":{"ttl":"1w"}},"e":{"approval":{"ttl":"m"}}}}',
    "err-all-tools": '{"version":"1","default":"deny","all_tools":{"limits":{},"x":1}}',
}

os.makedirs(FOLDER, exist_ok=True)
for old in os.listdir(FOLDER):
    if not old.startswith("test-"):
        os.remove(os.path.join(FOLDER, old))
count = 0
for path in sorted(glob.glob(os.path.join(ROOT, "examples", "*.policy.json")) +
                   glob.glob(os.path.join(ROOT, "www", "examples", "*.policy.json"))):
    kind = "www" if os.sep + "www" + os.sep in path else "examples"
    name = "example-%s-%s" % (kind, os.path.basename(path).replace(".policy.json", ""))
    with open(path, "rb") as src, open(os.path.join(FOLDER, name), "wb") as dst:
        dst.write(src.read())
    count += 1
lib = open(os.path.join(HERE, "..", "src", "lib.rs"), encoding="utf-8").read()
for const, text in re.findall(r'pub const (\w+): &str = r#"(.*?)"#;', lib, re.S):
    SEEDS["fuzz-" + const.lower()] = text
for name, text in SEEDS.items():
    with open(os.path.join(FOLDER, name), "wb") as f:
        f.write(text.encode())
print(f"{count} example and {len(SEEDS)} hand-written seeds for policy_load")
