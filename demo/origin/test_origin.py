"""End-to-end check of the demo origin with the MCP Python SDK's own client.

Starts server.py on a free port in its own process group, exercises it over
Streamable HTTP (SDK client, legacy handshake and 2026-07-28 modes) and raw HTTP,
then stops it. Prints "N passed, M failed"; exits non-zero on any failure.

    python3 demo/origin/test_origin.py
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request
from pathlib import Path

import anyio
from mcp import Client
from mcp.shared.exceptions import MCPError

HERE = Path(__file__).resolve().parent
RESULTS: list[tuple[str, bool]] = []


def check(name: str, ok: bool, detail: str = "") -> None:
    RESULTS.append((name, bool(ok)))
    print(f"{'PASS' if ok else 'FAIL'}  {name}{'' if ok or not detail else '  -- ' + detail}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method: str, url: str, body: dict | None = None, headers: dict | None = None):
    """Plain HTTP request; returns (status, headers, body text), also for 4xx/5xx."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.headers, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read().decode()


MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "0"}},
}


def raw_checks(base: str) -> None:
    status, headers, body = http("GET", base + "/_demo/health")
    check("health answers 200 ok", status == 200 and body == "ok", f"{status} {body!r}")

    status, headers, body = http("POST", base + "/mcp", INIT, MCP_HEADERS)
    sid = headers.get("mcp-session-id")
    check(
        "raw initialize answers SSE with Mcp-Session-Id",
        status == 200 and headers.get("content-type", "").startswith("text/event-stream") and bool(sid),
        f"{status} {headers.get('content-type')} sid={sid}",
    )
    check("initialize SSE frame carries the result", "event: message" in body and '"protocolVersion"' in body, body)

    http("POST", base + "/_demo/reset")
    call = {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        "params": {"name": "odoo_search_read", "arguments": {"model": "res.partner", "_demo_status": 503}},
    }
    status, _, body = http("POST", base + "/mcp", call, {**MCP_HEADERS, "Mcp-Session-Id": sid or ""})
    check("_demo_status 503 gives HTTP 503", status == 503, f"{status} {body!r}")
    _, _, log_text = http("GET", base + "/_demo/log")
    log = json.loads(log_text)
    check(
        "forced failure is still logged",
        len(log) == 1 and log[0]["tool"] == "odoo_search_read" and log[0]["mcp_method"] == "tools/call",
        log_text[:300],
    )


async def client_checks(url: str, base: str) -> None:
    events: list[tuple[float, str]] = []

    async def on_log(params) -> None:
        events.append((time.monotonic(), "log"))

    async with Client(url, mode="legacy", logging_callback=on_log) as client:
        tools = (await client.list_tools()).tools
        check("tools/list returns 198 tools", len(tools) == 198, str(len(tools)))
        check(
            "every tool has an object inputSchema",
            all(t.input_schema.get("type") == "object" for t in tools),
        )

        http("POST", base + "/_demo/reset")
        args = {"model": "res.partner", "domain": [["is_company", "=", True]], "fields": ["name"], "limit": 5}
        result = await client.call_tool("odoo_search_read", args)
        echo = {"tool": "odoo_search_read", "arguments": args}
        text = result.content[0].text if result.content and result.content[0].type == "text" else None
        check("call echoes tool and arguments as text JSON", text is not None and json.loads(text) == echo, str(text))
        check("call echoes structuredContent", result.structured_content == echo, str(result.structured_content))
        check("call is not an error", result.is_error is False)

        log = json.loads(http("GET", base + "/_demo/log")[2])
        calls = [e for e in log if e["mcp_method"] == "tools/call"]
        entry = calls[0] if calls else {}
        check(
            "/_demo/log records the call",
            len(calls) == 1
            and entry["method"] == "POST"
            and entry["path"] == "/mcp"
            and entry["tool"] == "odoo_search_read"
            and json.loads(entry["body"])["params"]["arguments"] == args
            and "mcp-session-id" in entry["headers"],
            json.dumps(log)[:400],
        )

        try:
            await client.call_tool("no_such_tool", {})
            check("unknown tool is a JSON-RPC error", False, "no error raised")
        except MCPError as err:
            check("unknown tool is a JSON-RPC error", err.code == -32602 and "no_such_tool" in err.message, str(err))

        events.clear()
        started = time.monotonic()
        result = await client.call_tool("odoo_create", {"model": "res.partner", "_demo_progress": 400})
        finished = time.monotonic()
        check(
            "_demo_progress: notification arrives before the result",
            len(events) == 1 and finished - events[0][0] >= 0.3 and events[0][0] - started < 0.3,
            f"events={[round(t - started, 3) for t, _ in events]} result at {finished - started:.3f}",
        )
        check("_demo_progress: result still echoes", result.structured_content["tool"] == "odoo_create")

    async with Client(url) as client:  # mode="auto" probes server/discover -> 2026-07-28
        result = await client.call_tool("odoo_search_read", {"model": "x"})
        check(
            "2026-07-28 (stateless envelope) call works too",
            client.protocol_version == "2026-07-28" and result.structured_content["arguments"] == {"model": "x"},
            f"{client.protocol_version} {result.structured_content}",
        )

    http("POST", base + "/_demo/reset")
    check("/_demo/reset clears the log", json.loads(http("GET", base + "/_demo/log")[2]) == [])


def main() -> int:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    out = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "server.py"), "--port", str(port), "--log-level", "warning"],
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # own process group, so we can stop it and its children
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if http("GET", base + "/_demo/health")[0] == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("demo origin did not start")
            time.sleep(0.1)
        raw_checks(base)
        anyio.run(client_checks, base + "/mcp", base)
    except Exception:
        traceback.print_exc()
        check("no unexpected exception", False)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    failed = sum(1 for _, ok in RESULTS if not ok)
    if failed:
        out.seek(0)
        print("--- server output ---\n" + out.read().decode(errors="replace"))
    print(f"{len(RESULTS) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
