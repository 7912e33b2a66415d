"""Demo origin for toolgate: a stand-in for the "Odoo Claude MCP" server.

A real MCP server on the official MCP Python SDK, built the way the Odoo server
is: the low-level ``Server`` API (not FastMCP/MCPServer), Streamable HTTP via the
SDK's ``StreamableHTTPSessionManager``, stateful sessions (``Mcp-Session-Id``)
and SSE answers (not JSON response mode), served by uvicorn on 127.0.0.1.

It lists the 198 tools of ``www/odoo-tools.json`` and every ``tools/call`` of a
listed tool echoes what it received: a text item holding the JSON
``{"tool": NAME, "arguments": ARGS}`` plus the same object as
``structuredContent``. An unknown tool is a JSON-RPC error -32602
``Unknown tool: NAME``. The initialize answer advertises ``tools.listChanged``.

Test hooks never use custom request headers (the gateway forwards none): they
are plain-HTTP control endpoints outside /mcp, values in a ``tools/call``'s
arguments, or command-line flags.

Control endpoints (plain HTTP, outside /mcp):

* ``GET /_demo/log``     every HTTP request received on /mcp, in order, as a JSON
  array of ``{method, path, headers, body, mcp_method, tool}`` (header names
  lowercased; ``mcp_method``/``tool`` are null when not applicable).
* ``GET /_demo/executions``  every ``tools/call`` the tool handler actually ran,
  in order, as ``{tool, arguments, request_id}`` (unknown tools included; calls
  answered by a hook or a mode without reaching the SDK are not).
* ``POST /_demo/reset``  clears the log, the executions, the answer modes and the
  tool changes (the original catalogue is back).
* ``GET /_demo/health``  200 ``ok``.
* ``POST /_demo/mode``   JSON object ``{JSON-RPC method or "*": MODE or null}``,
  merged into the server-wide answer modes (null removes one); ``GET
  /_demo/mode`` reads them. A POST on /mcp whose JSON-RPC request matches (its
  own method first, else ``"*"``; notifications and responses never match) is
  answered by the origin itself, bypassing the SDK, with a canned answer that
  carries the FULL current tool list (never paginated) as the result for the
  request's id, and the request's ``Mcp-Session-Id`` if it carried one:

  - ``json-array``  200 application/json, a JSON array (a batch) holding that
    tools/list response;
  - ``bom-sse``     text/event-stream starting with a UTF-8 byte-order mark,
    then ``event: message`` / ``data: {response}``;
  - ``bad-event``   text/event-stream: first an event whose data is not JSON,
    then the event with the response;
  - ``text-plain``  text/plain holding the response JSON;
  - ``sse-list``    a normal SSE answer whose single event is the response (on
    ``tools/call``: the answer to the call is a tools/list result, same id);
  - ``json-list``   the same as one application/json object;
  - ``huge-list``   an application/json tools/list answer of more than 8 MiB
    (descriptions padded);
  - ``sse-after-list``  not canned: the SDK answers as usual, but its SSE answer
    first carries two extra events, a notification-shaped message
    (``notifications/tools/list_changed``, no id) and a response with another id
    (``"demo-extra-ID"``), each with the full list under ``result.tools``; then
    the SDK's own events (the real echo result). Only on SSE answers.
* ``POST /_demo/tools``  ``{"set": [tool objects], "remove": [names]}``: adds or
  replaces tool definitions (name, title, description, inputSchema,
  annotations; inputSchema defaults to ``{"type": "object"}``) and removes
  tools; tools/list and tools/call see the change at once, and each session that
  has listed or called tools is sent ``notifications/tools/list_changed`` on its
  standalone (GET) stream, best effort (dropped if that stream is not open,
  unless ``--event-store`` keeps it for a replay).

Per-call hooks, in a ``tools/call``'s arguments (echoed back like any argument):

* ``"_demo_reset": "before"``: the origin resets the TCP connection (RST, via
  SO_LINGER 0 and an abort of uvicorn's asyncio transport) right after reading
  the request; the SDK never sees it, the tool never runs (it is still logged).
  ``"after"``: the SDK serves the call (the tool runs: it is in the executions)
  but not one byte of its answer (not even the SSE headers) is written; when the
  SDK is done answering, the connection is reset.
* ``"_demo_status": N`` (integer 400..599): the HTTP answer to that POST is
  status N with a plain-text body; the SDK never sees the request (it is still
  logged).
* ``"_demo_delay_ms": N``: the call runs at once (executions), but the answer's
  HTTP headers are sent only N ms after the request arrived (gateway timeouts:
  the origin ran the call, the gateway gave up waiting).
* ``"_demo_progress": N`` (milliseconds): the tool first sends a
  ``notifications/message`` (level info) on the request's own SSE stream, plus a
  ``notifications/progress`` when the request carried a ``_meta.progressToken``;
  then sleeps N ms; then returns the echo.

Order: ``_demo_reset: before``, then ``_demo_status``, then the answer modes;
``_demo_delay_ms`` holds back whatever answer results.

* Every answer on /mcp sets a cookie (``Set-Cookie: demo_origin_session=...``), as
  origins with their own web sessions do, so a gateway can show it never passes one on.

Flags: ``--event-store`` (the SDK's resumability with an in-memory, per-session
EventStore: SSE events carry ``id:``, ``GET /mcp`` with ``Last-Event-ID`` replays
the events after it on that session's stream; the SDK only primes and resumes
for protocol 2025-11-25 and later), ``--json-response`` (the SDK's JSON response
mode), ``--odoo-unknown-tools`` (an unknown tool gets the real Odoo server's
answer, a normal result ``Error: Connection 'default' not found``),
``--page-size N`` (tools/list in pages of N with opaque ``nextCursor``s),
``--timeout-keep-alive SECONDS`` (uvicorn's, default 5).

Run:  python3 demo/origin/server.py [--port N] [--no-host-check] [flags above]
      (port: default 8084, or env PORT)
Endpoint: http://127.0.0.1:PORT/mcp
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextvars
import json
import os
import socket
import struct
import warnings
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import uvicorn
from mcp.server import NotificationOptions, Server, ServerRequestContext
from mcp.server.session import ServerSession
from mcp.server.streamable_http import EventCallback, EventId, EventMessage, EventStore, StreamId
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HOST = "127.0.0.1"
DEFAULT_PORT = 8084
MCP_PATH = "/mcp"
TOOLS_FILE = Path(__file__).resolve().parent.parent.parent / "www" / "odoo-tools.json"
ODOO_UNKNOWN_TOOL_TEXT = "Error: Connection 'default' not found"
COOKIE = (b"set-cookie", b"demo_origin_session=origin-cookie-3d1e; Path=/; HttpOnly")

# The logging capability is deprecated as of protocol 2026-07-28; the demo still
# uses it on purpose (it is the simplest notification a client can observe).
warnings.filterwarnings("ignore", category=MCPDeprecationWarning)


@dataclass
class Options:
    """Server-wide switches from the command line (see main)."""

    odoo_unknown_tools: bool = False
    page_size: int | None = None


OPTIONS = Options()


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


ORIGINAL_TOOLS = load_tools()
# The live catalogue: POST /_demo/tools changes it, POST /_demo/reset restores it.
TOOLS: dict[str, types.Tool] = dict(ORIGINAL_TOOLS)


def tool_json(tool: types.Tool) -> dict[str, Any]:
    """A tool as it appears on the wire (camelCase, no nulls)."""
    return tool.model_dump(by_alias=True, mode="json", exclude_none=True)


def _int_arg(args: dict[str, Any], key: str) -> int | None:
    value = args.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _reset_arg(args: dict[str, Any] | None) -> str | None:
    value = (args or {}).get("_demo_reset")
    return value if value in ("before", "after") else None


def encode_cursor(offset: int) -> str:
    """An opaque tools/list cursor (base64url JSON) for the page starting at `offset`."""
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int | None:
    """The offset a cursor of ours stands for, or None when it is not one."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset = data["offset"]
    except (ValueError, TypeError, KeyError):
        return None
    return offset if isinstance(offset, int) and not isinstance(offset, bool) and offset >= 0 else None


# Sessions that listed or called tools, by Mcp-Session-Id: where a tool change
# sends notifications/tools/list_changed. The ServerSession of any request of a
# session reaches that session's standalone channel (the GET stream).
SESSIONS: dict[str, ServerSession] = {}
MAX_SESSIONS_KEPT = 1000


def remember_session(ctx: ServerRequestContext) -> None:
    headers = getattr(ctx.request, "headers", None)
    session_id = headers.get("mcp-session-id") if headers is not None else None
    if not session_id:
        return
    SESSIONS.pop(session_id, None)
    SESSIONS[session_id] = ctx.session
    while len(SESSIONS) > MAX_SESSIONS_KEPT:
        SESSIONS.pop(next(iter(SESSIONS)))


async def notify_tools_changed() -> int:
    """Send notifications/tools/list_changed to every remembered session; returns how many took it."""
    sent = 0
    for session_id, session in list(SESSIONS.items()):
        try:
            with anyio.fail_after(2):
                await session.send_tool_list_changed()
            sent += 1
        except Exception:  # the session is gone (closed streams) or stuck: forget it
            SESSIONS.pop(session_id, None)
    return sent


async def list_tools(
    ctx: ServerRequestContext, params: types.PaginatedRequestParams | None
) -> types.ListToolsResult:
    remember_session(ctx)
    tools = list(TOOLS.values())
    if not OPTIONS.page_size:
        return types.ListToolsResult(tools=tools)
    cursor = params.cursor if params is not None else None
    start = 0 if cursor is None else decode_cursor(cursor)
    if start is None:
        raise MCPError(code=types.INVALID_PARAMS, message="Invalid cursor")
    end = start + OPTIONS.page_size
    return types.ListToolsResult(tools=tools[start:end], next_cursor=encode_cursor(end) if end < len(tools) else None)


EXECUTIONS: list[dict[str, Any]] = []


async def call_tool(ctx: ServerRequestContext, params: types.CallToolRequestParams) -> types.CallToolResult:
    remember_session(ctx)
    args = params.arguments or {}
    EXECUTIONS.append({"tool": params.name, "arguments": args, "request_id": ctx.request_id})
    return await run_tool(ctx, params.name, args)


async def run_tool(ctx: ServerRequestContext, name: str, args: dict[str, Any]) -> types.CallToolResult:
    if name not in TOOLS:
        if OPTIONS.odoo_unknown_tools:
            # What the real Odoo server answers for a tool it does not have.
            return types.CallToolResult(content=[types.TextContent(text=ODOO_UNKNOWN_TOOL_TEXT)], is_error=False)
        raise MCPError(code=types.INVALID_PARAMS, message=f"Unknown tool: {name}")
    delay_ms = _int_arg(args, "_demo_progress")
    if delay_ms is not None:
        # Both go on this request's own SSE stream (request-scoped channel), ahead
        # of the result. report_progress is a no-op without a progressToken.
        await ctx.session.report_progress(0, 1, f"demo: working for {delay_ms} ms")
        note = types.LoggingMessageNotification(
            params=types.LoggingMessageNotificationParams(
                level="info", logger="demo-origin", data={"tool": name, "progress_ms": delay_ms}
            )
        )
        # send_notification (unlike send_log_message) skips the 2026-07-28 opt-in
        # gate, so the hook behaves the same on every protocol version.
        await ctx.session.send_notification(note, related_request_id=ctx.request_id)
        await anyio.sleep(max(delay_ms, 0) / 1000)
    echo = {"tool": name, "arguments": args}
    return types.CallToolResult(
        content=[types.TextContent(text=json.dumps(echo, ensure_ascii=False))],
        structured_content=echo,
    )


def tool_input_schema(name: str) -> dict[str, Any] | None:
    """Schema lookup for the SDK's 2026-07-28 Mcp-Param-* header validation."""
    tool = TOOLS.get(name)
    return tool.input_schema if tool else None


class DemoServer(Server):
    """`Server` whose initialize answer advertises ``tools.listChanged``.

    The session manager builds the initialize result from
    ``create_initialization_options()`` with no arguments, so this is the one
    place to turn the flag on.
    """

    def create_initialization_options(
        self,
        notification_options: NotificationOptions | None = None,
        experimental_capabilities: dict[str, dict[str, Any]] | None = None,
        extensions: dict[str, dict[str, Any]] | None = None,
    ):
        options = notification_options or NotificationOptions(tools_changed=True)
        return super().create_initialization_options(options, experimental_capabilities, extensions)


server = DemoServer(
    "odoo-claude-mcp-demo",
    version="0.1.0",
    instructions="toolgate demo origin: echoes every tool call.",
    get_tool_input_schema=tool_input_schema,
    on_list_tools=list_tools,
    on_call_tool=call_tool,
)


# --------------------------------------------------------------------------- event store


class SessionRef:
    """The Mcp-Session-Id of the HTTP request being served.

    For the request that opens a session (no header yet) DemoHooks fills it in
    from the answer's header. The session's own task (the SDK starts it while
    serving that request, so it inherits the request's context) keeps seeing this
    object, so every event it stores is tagged with the session, read lazily.
    """

    def __init__(self, session_id: str | None) -> None:
        self.id = session_id


CURRENT_SESSION: contextvars.ContextVar[SessionRef | None] = contextvars.ContextVar("demo_origin_session", default=None)


def _session_of(ref: SessionRef | None) -> str | None:
    return ref.id if ref is not None else None


@dataclass
class StoredEvent:
    event_id: EventId
    session: SessionRef | None
    stream_id: StreamId
    message: types.JSONRPCMessage | None  # None: a priming event


class InMemoryEventStore(EventStore):
    """The SDK's EventStore interface, in memory, scoped to sessions.

    The SDK gives the store no session: one store serves every session, and a
    stream id is the JSON-RPC request id (or "_GET_stream"), so the same stream
    id recurs across sessions. Events are therefore tagged with the session
    (see SessionRef), and a replay only ever sends events of the session the
    GET belongs to, on the stream of the given event id. Event ids are "e1",
    "e2", ... in storage order; the oldest go beyond `max_events`.
    """

    def __init__(self, max_events: int = 10_000) -> None:
        self._events: deque[StoredEvent] = deque(maxlen=max_events)
        self._count = 0

    async def store_event(self, stream_id: StreamId, message: types.JSONRPCMessage | None) -> EventId:
        self._count += 1
        event_id = f"e{self._count}"
        self._events.append(StoredEvent(event_id, CURRENT_SESSION.get(), stream_id, message))
        return event_id

    async def replay_events_after(self, last_event_id: EventId, send_callback: EventCallback) -> StreamId | None:
        events = list(self._events)
        start = next((i for i, event in enumerate(events) if event.event_id == last_event_id), None)
        session_id = _session_of(CURRENT_SESSION.get())
        if start is None or _session_of(events[start].session) != session_id:
            return None  # unknown (or expired) id, or another session's event
        stream_id = events[start].stream_id
        for event in events[start + 1 :]:
            if event.stream_id == stream_id and event.message is not None and _session_of(event.session) == session_id:
                await send_callback(EventMessage(event.message, event.event_id))
        return stream_id


# --------------------------------------------------------------------------- control endpoints

REQUEST_LOG: list[dict[str, Any]] = []
MODES: dict[str, str] = {}
MODE_NAMES = (
    "json-array",
    "bom-sse",
    "bad-event",
    "text-plain",
    "sse-list",
    "json-list",
    "huge-list",
    "sse-after-list",
)


def _bad_request(problem: str) -> Response:
    return JSONResponse({"error": problem}, status_code=400)


async def _json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError:
        return None


async def demo_log(request: Request) -> Response:
    return JSONResponse(REQUEST_LOG)


async def demo_executions(request: Request) -> Response:
    return JSONResponse(EXECUTIONS)


async def demo_reset(request: Request) -> Response:
    REQUEST_LOG.clear()
    EXECUTIONS.clear()
    MODES.clear()
    if list(TOOLS.items()) != list(ORIGINAL_TOOLS.items()):
        TOOLS.clear()
        TOOLS.update(ORIGINAL_TOOLS)
        await notify_tools_changed()
    return PlainTextResponse("reset\n")


async def demo_health(request: Request) -> Response:
    return PlainTextResponse("ok")


async def demo_mode(request: Request) -> Response:
    """GET: the answer modes. POST {method or "*": mode or null}: merge them in."""
    if request.method == "POST":
        body = await _json_body(request)
        if not isinstance(body, dict):
            return _bad_request('body must be a JSON object {"JSON-RPC method or *": mode or null}')
        for method, mode in body.items():
            if mode is not None and mode not in MODE_NAMES:
                return _bad_request(f"unknown mode {mode!r} for {method!r}; modes: {', '.join(MODE_NAMES)}")
        for method, mode in body.items():
            if mode is None:
                MODES.pop(method, None)
            else:
                MODES[method] = mode
    return JSONResponse(MODES)


def parse_tool_changes(body: Any) -> tuple[list[types.Tool], list[str]] | str:
    """The tools to set and the names to remove from a POST /_demo/tools body, or what is wrong with it."""
    if not isinstance(body, dict) or not set(body) <= {"set", "remove"}:
        return 'body must be a JSON object {"set": [tool objects], "remove": [names]}'
    raw_tools, names = body.get("set", []), body.get("remove", [])
    if not isinstance(raw_tools, list) or not all(isinstance(raw, dict) for raw in raw_tools):
        return '"set" must be a list of tool objects'
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        return '"remove" must be a list of tool names'
    tools = []
    for raw in raw_tools:
        try:
            tools.append(types.Tool.model_validate({"inputSchema": {"type": "object"}, **raw}))
        except ValidationError as err:
            return f"invalid tool {raw.get('name')!r}: {err.errors()[0]['msg']}"
    return tools, names


async def demo_tools(request: Request) -> Response:
    """POST {"set": [...], "remove": [...]}: change the live catalogue, then tell the sessions."""
    changes = parse_tool_changes(await _json_body(request))
    if isinstance(changes, str):
        return _bad_request(changes)
    tools, names = changes
    for tool in tools:
        TOOLS[tool.name] = tool  # a replaced tool keeps its place, a new one comes last
    for name in names:
        TOOLS.pop(name, None)
    notified = await notify_tools_changed()
    return JSONResponse({"tools": len(TOOLS), "notified_sessions": notified})


# --------------------------------------------------------------------------- canned answers


def tools_list_message(request_id: Any, pad: int = 0) -> dict[str, Any]:
    """A tools/list response carrying the full live catalogue, descriptions padded by `pad` characters."""
    tools = [tool_json(tool) for tool in TOOLS.values()]
    if pad:
        for tool in tools:
            tool["description"] = (tool.get("description") or "") + " " + "x" * pad
    return {"jsonrpc": "2.0", "id": request_id, "result": {"tools": tools}}


HUGE_BYTES = 8 * 1024 * 1024


def huge_tools_list_body(request_id: Any) -> bytes:
    """A tools/list response of more than 8 MiB."""
    pad = HUGE_BYTES // max(len(TOOLS), 1) + 1024
    while True:
        body = json.dumps(tools_list_message(request_id, pad)).encode()
        if len(body) > HUGE_BYTES:
            return body
        pad *= 2


def sse_event(data: str | bytes, newline: bytes = b"\n") -> bytes:
    payload = data.encode() if isinstance(data, str) else data
    return b"event: message" + newline + b"data: " + payload + newline + newline


def canned_answer(mode: str, request_id: Any, session_id: str | None) -> Response:
    """The origin's own answer for a canned mode (all but sse-after-list)."""
    listing = json.dumps(tools_list_message(request_id), ensure_ascii=False).encode()
    sse = "text/event-stream"
    body, media_type = {
        "json-array": lambda: (b"[" + listing + b"]", "application/json"),
        "bom-sse": lambda: ("\ufeff".encode() + sse_event(listing), sse),
        "bad-event": lambda: (sse_event("this is not JSON {") + sse_event(listing), sse),
        "text-plain": lambda: (listing, "text/plain"),
        "sse-list": lambda: (sse_event(listing), sse),
        "json-list": lambda: (listing, "application/json"),
        "huge-list": lambda: (huge_tools_list_body(request_id), "application/json"),
    }[mode]()
    headers = {"cache-control": "no-cache"}
    if session_id:
        headers["mcp-session-id"] = session_id
    return Response(body, status_code=200, headers=headers, media_type=media_type)


def extra_list_events(request_id: Any) -> bytes:
    """The sse-after-list prelude: a notification-shaped message and a response with another id, each with the tools."""
    tools = tools_list_message(request_id)["result"]
    notification = {"jsonrpc": "2.0", "method": "notifications/tools/list_changed", "params": {}, "result": tools}
    other = {"jsonrpc": "2.0", "id": f"demo-extra-{request_id}", "result": tools}
    return b"".join(sse_event(json.dumps(message, ensure_ascii=False), b"\r\n") for message in (notification, other))


# --------------------------------------------------------------------------- connection reset


def connection_transport(send: Send) -> asyncio.Transport | None:
    """The asyncio transport of the request's TCP connection, under uvicorn.

    ASGI gives no access to the connection, but uvicorn's ``send`` is a bound
    method of its per-request cycle object (h11 and httptools alike), which
    holds the connection's transport; uvicorn's ProxyHeadersMiddleware passes
    ``send`` on unchanged. None elsewhere.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    return transport if isinstance(transport, asyncio.Transport) else None


def reset_transport(transport: asyncio.Transport) -> None:
    """Drop the connection abruptly: the peer gets a TCP RST, not a FIN.

    SO_LINGER on with a zero timeout makes close() discard unsent data and send
    RST; abort() closes at once without flushing (nothing more is written).
    """
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def reset_connection(transport: asyncio.Transport | None, receive: Receive) -> None:
    """Reset the connection and wait until uvicorn has seen it go (so it sends no 500)."""
    if transport is None:
        raise RuntimeError("demo origin: _demo_reset needs the HTTP connection (uvicorn)")
    reset_transport(transport)
    with anyio.move_on_after(5):
        while (await receive())["type"] != "http.disconnect":
            pass


# --------------------------------------------------------------------------- /mcp middleware


@dataclass
class RpcRequest:
    """What DemoHooks makes of a POST body on /mcp."""

    mcp_method: str | None = None
    request_id: Any = None
    is_request: bool = False  # a JSON-RPC request (method and id), not a notification
    tool: str | None = None
    arguments: dict[str, Any] | None = None


def parse_rpc(body: bytes) -> RpcRequest:
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = None
    rpc = RpcRequest()
    if isinstance(parsed, dict) and isinstance(parsed.get("method"), str):
        rpc.mcp_method = parsed["method"]
        rpc.is_request = "id" in parsed
        rpc.request_id = parsed.get("id")
        params = parsed.get("params")
        if rpc.mcp_method == "tools/call" and isinstance(params, dict):
            rpc.tool = params.get("name") if isinstance(params.get("name"), str) else None
            rpc.arguments = params.get("arguments") if isinstance(params.get("arguments"), dict) else None
    return rpc


def mode_for(rpc: RpcRequest) -> str | None:
    if not rpc.is_request:
        return None
    return MODES.get(rpc.mcp_method or "") or MODES.get("*")


def answer_sender(send: Send, session: SessionRef, delay_ms: int | None) -> Send:
    """Wrap `send` for every answer on /mcp: the cookie, `_demo_delay_ms`, and the new session's id."""
    not_before = anyio.current_time() + max(delay_ms or 0, 0) / 1000

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            if session.id is None:
                session.id = next((v.decode("latin-1") for k, v in headers if k.lower() == b"mcp-session-id"), None)
            headers.append(COOKIE)
            message = {**message, "headers": headers}
            await anyio.sleep_until(not_before)
        await send(message)

    return wrapped


def with_extra_list_events(send: Send, request_id: Any) -> Send:
    """sse-after-list: right after the headers of an SSE answer, send the extra events."""

    async def wrapped(message: Message) -> None:
        await send(message)
        if message["type"] == "http.response.start" and message.get("status") == 200:
            content_type = dict(message.get("headers", [])).get(b"content-type", b"")
            if content_type.startswith(b"text/event-stream"):
                await send({"type": "http.response.body", "body": extra_list_events(request_id), "more_body": True})

    return wrapped


async def discard(message: Message) -> None:
    """A `send` that writes nothing (the `_demo_reset: after` answer)."""


async def read_body(receive: Receive) -> tuple[bytes, list[Message]]:
    """The whole request body, plus any non-body message read past it (e.g. http.disconnect)."""
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
    return b"".join(chunks), pending


def log_request(scope: Scope, body: bytes, rpc: RpcRequest) -> dict[str, str]:
    """Record the request in REQUEST_LOG; returns its headers (lowercased names, repeats joined)."""
    headers: dict[str, str] = {}
    for key, value in scope["headers"]:
        name, text = key.decode("latin-1").lower(), value.decode("latin-1")
        headers[name] = f"{headers[name]}, {text}" if name in headers else text
    REQUEST_LOG.append(
        {
            "method": scope["method"],
            "path": scope.get("path", ""),
            "headers": headers,
            "body": body.decode("utf-8", errors="replace"),
            "mcp_method": rpc.mcp_method,
            "tool": rpc.tool,
        }
    )
    return headers


class DemoHooks:
    """ASGI middleware on /mcp: the request log, the per-call hooks and the answer modes.

    It reads the whole body before the SDK does, records it, then either answers
    itself (``_demo_reset: before``, ``_demo_status``, canned modes) or replays
    the body to the SDK app (for ``_demo_reset: after`` with its answer
    discarded, then the reset).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == MCP_PATH or path.startswith(MCP_PATH + "/")):
            await self.app(scope, receive, send)
            return

        transport = connection_transport(send)
        body, pending = await read_body(receive)
        rpc = parse_rpc(body)
        headers = log_request(scope, body, rpc)
        arguments = rpc.arguments or {}

        reset = _reset_arg(rpc.arguments)
        if reset == "before":
            if not any(message["type"] == "http.disconnect" for message in pending):
                await reset_connection(transport, receive)
            return

        session = SessionRef(headers.get("mcp-session-id"))
        CURRENT_SESSION.set(session)
        send = answer_sender(send, session, _int_arg(arguments, "_demo_delay_ms"))

        status = _int_arg(arguments, "_demo_status")
        if status is not None and 400 <= status <= 599:
            failure = PlainTextResponse(f"demo origin: forced HTTP {status}\n", status_code=status)
            await failure(scope, receive, send)
            return

        mode = mode_for(rpc)
        if mode is not None and mode != "sse-after-list":
            await canned_answer(mode, rpc.request_id, session.id)(scope, receive, send)
            return
        if mode == "sse-after-list":
            send = with_extra_list_events(send, rpc.request_id)

        if reset == "after":
            if transport is None:
                raise RuntimeError("demo origin: _demo_reset needs the HTTP connection (uvicorn)")
            send = discard  # the SDK runs the call and answers into the void; then the reset
        replay: list[Message] = [{"type": "http.request", "body": body, "more_body": False}, *pending]

        async def replay_receive() -> Message:
            return replay.pop(0) if replay else await receive()

        await self.app(scope, replay_receive, send)
        if reset == "after":
            await reset_connection(transport, receive)


def build_app(
    host_check: bool = True,
    event_store: EventStore | None = None,
    json_response: bool = False,
) -> ASGIApp:
    # streamable_http_app() builds the Starlette app whose lifespan runs the session
    # manager (session_manager.run() must be entered before any request is served).
    # host=127.0.0.1 makes the SDK turn on its DNS-rebinding check: Host must be
    # 127.0.0.1:*/localhost:*/[::1]:*, and an Origin header, if any, a localhost one
    # (else 421/403). host_check=False turns that off (Content-Type is still checked).
    security = None if host_check else TransportSecuritySettings(enable_dns_rebinding_protection=False)
    starlette_app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        json_response=json_response,
        stateless_http=False,
        event_store=event_store,
        host=HOST,
        transport_security=security,
        custom_starlette_routes=[
            Route("/_demo/log", demo_log, methods=["GET"]),
            Route("/_demo/executions", demo_executions, methods=["GET"]),
            Route("/_demo/reset", demo_reset, methods=["POST"]),
            Route("/_demo/health", demo_health, methods=["GET"]),
            Route("/_demo/mode", demo_mode, methods=["GET", "POST"]),
            Route("/_demo/tools", demo_tools, methods=["POST"]),
        ],
    )
    return DemoHooks(starlette_app)


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description="toolgate demo MCP origin (Odoo stand-in)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", DEFAULT_PORT)))
    parser.add_argument(
        "--no-host-check", action="store_true", help="accept any Host/Origin header (SDK DNS-rebinding check off)"
    )
    parser.add_argument("--log-level", default="info", help="uvicorn log level (default info)")
    parser.add_argument(
        "--event-store", action="store_true", help="SDK resumability: SSE event ids, GET with Last-Event-ID replays"
    )
    parser.add_argument("--json-response", action="store_true", help="SDK JSON response mode (no SSE answers)")
    parser.add_argument(
        "--odoo-unknown-tools",
        action="store_true",
        help=f"answer an unknown tool like the Odoo server: a normal result {ODOO_UNKNOWN_TOOL_TEXT!r}",
    )
    parser.add_argument("--page-size", type=positive_int, default=None, help="tools/list page size (default: one page)")
    parser.add_argument(
        "--timeout-keep-alive", type=float, default=5, help="seconds an idle keep-alive connection stays open (5)"
    )
    args = parser.parse_args()
    OPTIONS.odoo_unknown_tools = args.odoo_unknown_tools
    OPTIONS.page_size = args.page_size
    app = build_app(
        host_check=not args.no_host_check,
        event_store=InMemoryEventStore() if args.event_store else None,
        json_response=args.json_response,
    )
    print(f"demo origin: {len(TOOLS)} tools, http://{HOST}:{args.port}{MCP_PATH}", flush=True)
    uvicorn.run(
        app, host=HOST, port=args.port, log_level=args.log_level, timeout_keep_alive=args.timeout_keep_alive
    )


if __name__ == "__main__":
    main()
