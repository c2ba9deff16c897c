"""The LLM: the OpenAI-compatible client, the local vLLM server's process and the preparation of the
packaged model it serves."""
