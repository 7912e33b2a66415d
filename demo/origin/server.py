"""Demo origin for toolgate: a stand-in for the "Odoo Claude MCP" server.

A real MCP server on the official MCP Python SDK, built the way the Odoo server
is: the low-level ``Server`` API (not FastMCP/MCPServer), Streamable HTTP via the
SDK's ``StreamableHTTPSessionManager``, stateful sessions (``Mcp-Session-Id``)
and SSE answers (not JSON response mode), served by uvicorn on 127.0.0.1.

It lists the 198 tools of ``www/odoo-tools.json`` and every ``tools/call`` of a
listed tool echoes what it received: a text item holding the JSON
``{"tool": NAME, "arguments": ARGS}`` plus the same object as
``structuredContent``. An unknown tool is a JSON-RPC error -32602
``Unknown tool: NAME``.

Test hooks (plain HTTP, outside /mcp):

* ``GET /_demo/log``     every HTTP request received on /mcp, in order, as a JSON
  array of ``{method, path, headers, body, mcp_method, tool}`` (header names
  lowercased; ``mcp_method``/``tool`` are null when not applicable).
* ``POST /_demo/reset``  clears that log.
* ``GET /_demo/health``  200 ``ok``.
* ``"_demo_status": N`` (integer 400..599) in a ``tools/call``'s arguments: the
  HTTP answer to that POST is status N with a plain-text body; the SDK never sees
  the request (it is still logged).
* Every answer on /mcp sets a cookie (``Set-Cookie: demo_origin_session=...``), as
  origins with their own web sessions do, so a gateway can show it never passes one on.
* ``"_demo_progress": N`` (milliseconds) in a ``tools/call``'s arguments: the tool
  first sends a ``notifications/message`` (level info) on the request's own SSE
  stream, plus a ``notifications/progress`` when the request carried a
  ``_meta.progressToken``; then sleeps N ms; then returns the echo.

Run:  python3 demo/origin/server.py [--port N] [--no-host-check]   (port: default 8084, or env PORT)
Endpoint: http://127.0.0.1:PORT/mcp
"""

from __future__ import annotations

import argparse
import json
import os
import warnings
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import uvicorn
from mcp.server import Server, ServerRequestContext
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HOST = "127.0.0.1"
DEFAULT_PORT = 8084
MCP_PATH = "/mcp"
TOOLS_FILE = Path(__file__).resolve().parent.parent.parent / "www" / "odoo-tools.json"

# The logging capability is deprecated as of protocol 2026-07-28; the demo still
# uses it on purpose (it is the simplest notification a client can observe).
warnings.filterwarnings("ignore", category=MCPDeprecationWarning)


# --------------------------------------------------------------------------- tools


def load_tools(path: Path = TOOLS_FILE) -> dict[str, types.Tool]:
    """Read the Odoo tool catalogue; tools without a usable schema get {"type": "object"}."""
    tools: dict[str, types.Tool] = {}
    for raw in json.loads(path.read_text(encoding="utf-8")):
        schema = raw.get("inputSchema")
        if not isinstance(schema, dict) or schema.get("type") != "object":
            schema = {"type": "object"}
        tools[raw["name"]] = types.Tool(
            name=raw["name"], description=raw.get("description"), input_schema=schema
        )
    return tools


TOOLS = load_tools()


def _int_arg(args: dict[str, Any], key: str) -> int | None:
    value = args.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


async def list_tools(
    ctx: ServerRequestContext, params: types.PaginatedRequestParams | None
) -> types.ListToolsResult:
    return types.ListToolsResult(tools=list(TOOLS.values()))


async def call_tool(ctx: ServerRequestContext, params: types.CallToolRequestParams) -> types.CallToolResult:
    if params.name not in TOOLS:
        raise MCPError(code=types.INVALID_PARAMS, message=f"Unknown tool: {params.name}")
    args = params.arguments or {}
    delay_ms = _int_arg(args, "_demo_progress")
    if delay_ms is not None:
        # Both go on this request's own SSE stream (request-scoped channel), ahead
        # of the result. report_progress is a no-op without a progressToken.
        await ctx.session.report_progress(0, 1, f"demo: working for {delay_ms} ms")
        note = types.LoggingMessageNotification(
            params=types.LoggingMessageNotificationParams(
                level="info", logger="demo-origin", data={"tool": params.name, "progress_ms": delay_ms}
            )
        )
        # send_notification (unlike send_log_message) skips the 2026-07-28 opt-in
        # gate, so the hook behaves the same on every protocol version.
        await ctx.session.send_notification(note, related_request_id=ctx.request_id)
        await anyio.sleep(max(delay_ms, 0) / 1000)
    echo = {"tool": params.name, "arguments": args}
    return types.CallToolResult(
        content=[types.TextContent(text=json.dumps(echo, ensure_ascii=False))],
        structured_content=echo,
    )


def tool_input_schema(name: str) -> dict[str, Any] | None:
    """Schema lookup for the SDK's 2026-07-28 Mcp-Param-* header validation."""
    tool = TOOLS.get(name)
    return tool.input_schema if tool else None


server = Server(
    "odoo-claude-mcp-demo",
    version="0.1.0",
    instructions="toolgate demo origin: echoes every tool call.",
    get_tool_input_schema=tool_input_schema,
    on_list_tools=list_tools,
    on_call_tool=call_tool,
)


# --------------------------------------------------------------------------- hooks

REQUEST_LOG: list[dict[str, Any]] = []


async def demo_log(request: Request) -> Response:
    return JSONResponse(REQUEST_LOG)


async def demo_reset(request: Request) -> Response:
    REQUEST_LOG.clear()
    return PlainTextResponse("reset\n")


async def demo_health(request: Request) -> Response:
    return PlainTextResponse("ok")


class DemoHooks:
    """ASGI middleware: logs every request on /mcp and fakes `_demo_status` failures.

    It reads the whole body before the SDK does, records it, then either answers
    itself (``_demo_status``) or replays the body to the SDK app.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == MCP_PATH or path.startswith(MCP_PATH + "/")):
            await self.app(scope, receive, send)
            return

        chunks: list[bytes] = []
        pending: list[Message] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                pending.append(message)  # e.g. http.disconnect; hand it on
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)

        mcp_method, tool, arguments = None, None, None
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and isinstance(parsed.get("method"), str):
            mcp_method = parsed["method"]
            params = parsed.get("params")
            if mcp_method == "tools/call" and isinstance(params, dict):
                tool = params.get("name") if isinstance(params.get("name"), str) else None
                arguments = params.get("arguments") if isinstance(params.get("arguments"), dict) else None

        headers: dict[str, str] = {}
        for key, value in scope["headers"]:
            name, text = key.decode("latin-1").lower(), value.decode("latin-1")
            headers[name] = f"{headers[name]}, {text}" if name in headers else text
        REQUEST_LOG.append(
            {
                "method": scope["method"],
                "path": path,
                "headers": headers,
                "body": body.decode("utf-8", errors="replace"),
                "mcp_method": mcp_method,
                "tool": tool,
            }
        )

        status = _int_arg(arguments, "_demo_status") if arguments is not None else None
        if status is not None and 400 <= status <= 599:
            failure = PlainTextResponse(f"demo origin: forced HTTP {status}\n", status_code=status)
            await failure(scope, receive, send)
            return

        replay: list[Message] = [{"type": "http.request", "body": body, "more_body": False}, *pending]

        async def replay_receive() -> Message:
            return replay.pop(0) if replay else await receive()

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"set-cookie", b"demo_origin_session=origin-cookie-3d1e; Path=/; HttpOnly"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, replay_receive, send_with_cookie)


def build_app(host_check: bool = True) -> ASGIApp:
    # streamable_http_app() builds the Starlette app whose lifespan runs the session
    # manager (session_manager.run() must be entered before any request is served).
    # host=127.0.0.1 makes the SDK turn on its DNS-rebinding check: Host must be
    # 127.0.0.1:*/localhost:*/[::1]:*, and an Origin header, if any, a localhost one
    # (else 421/403). host_check=False turns that off (Content-Type is still checked).
    security = None if host_check else TransportSecuritySettings(enable_dns_rebinding_protection=False)
    starlette_app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        json_response=False,
        stateless_http=False,
        host=HOST,
        transport_security=security,
        custom_starlette_routes=[
            Route("/_demo/log", demo_log, methods=["GET"]),
            Route("/_demo/reset", demo_reset, methods=["POST"]),
            Route("/_demo/health", demo_health, methods=["GET"]),
        ],
    )
    return DemoHooks(starlette_app)


def main() -> None:
    parser = argparse.ArgumentParser(description="toolgate demo MCP origin (Odoo stand-in)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", DEFAULT_PORT)))
    parser.add_argument(
        "--no-host-check", action="store_true", help="accept any Host/Origin header (SDK DNS-rebinding check off)"
    )
    parser.add_argument("--log-level", default="info", help="uvicorn log level (default info)")
    args = parser.parse_args()
    print(f"demo origin: {len(TOOLS)} tools, http://{HOST}:{args.port}{MCP_PATH}", flush=True)
    uvicorn.run(build_app(host_check=not args.no_host_check), host=HOST, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
