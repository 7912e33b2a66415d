"""The official MCP Python SDK client against the gateway, both protocol generations.

Usage: python3 python_sdk_client.py URL TOKEN
Prints one JSON object a mode: what the client saw, for python_sdk.test.mjs to check.
"""

import json
import sys

import anyio
from mcp import Client
from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client
from mcp.shared.exceptions import MCPError


async def run(url: str, token: str, mode: str) -> dict:
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    async with Client(streamable_http_client(url, http_client=http), mode=mode) as client:
        tools = [t.name for t in (await client.list_tools()).tools]
        allowed = await client.call_tool("odoo_search_read", {"model": "res.partner"})
        denied = await client.call_tool("odoo_unlink", {"model": "res.partner", "ids": [1]})
        try:
            await client.call_tool("ssh_execute", {"command": "id"})
            hidden = None
        except MCPError as error:
            hidden = {"code": error.error.code, "message": error.error.message}
        return {
            "mode": mode,
            "protocol_version": client.protocol_version,
            "tools": tools,
            "allowed": {"is_error": allowed.is_error, "structured": allowed.structured_content},
            "denied": {
                "is_error": denied.is_error,
                "text": denied.content[0].text,
                "decision": (denied.meta or {}).get("toolgate/decision"),
            },
            "hidden": hidden,
        }


def main() -> None:
    url, token = sys.argv[1], sys.argv[2]
    for mode in ("legacy", "auto"):
        print(json.dumps(anyio.run(run, url, token, mode)), flush=True)


if __name__ == "__main__":
    main()
