"""What people and programs talk to: the command line, the MCP server and the OpenAI-compatible API.
They use only what `rag` exports (the browser app, `ui/`, likewise)."""
