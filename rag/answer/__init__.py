"""The answer path: retrieve → evidence → decide → generate → verify → compose (`rag.answer.path`).

Every step is a module of its own; `path.py` runs them in order and holds the policy that joins them.
"""
