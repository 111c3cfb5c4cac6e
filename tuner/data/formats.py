"""Map a source's rows to tuner's two training shapes: chat messages, or raw text.

- `chat`: a column of messages `[{"role": ..., "content": ...}, ...]`, trained on assistant turns.
- `instruction`: `instruction`, optional `input`, `output` columns, turned into a user/assistant chat.
- `text`: a column of documents for continued pretraining, trained on every token.
"""

from __future__ import annotations

from typing import Any, Literal

from tuner.errors import UserError

DEFAULT_COLUMNS: dict[str, dict[str, str]] = {
    "chat": {"messages": "messages"},
    "instruction": {"instruction": "instruction", "input": "input", "output": "output"},
    "text": {"text": "text"},
}
_ROLES = {"system", "user", "assistant"}


def column_map(fmt: Literal["chat", "instruction", "text"], columns: dict[str, str], key: str) -> dict[str, str]:
    unknown = set(columns) - set(DEFAULT_COLUMNS[fmt])
    if unknown:
        raise UserError(f"{key}.columns: {sorted(unknown)} not used by format '{fmt}'; it maps {sorted(DEFAULT_COLUMNS[fmt])}")
    return {**DEFAULT_COLUMNS[fmt], **columns}


def check_columns(available: list[str], mapping: dict[str, str], fmt: str, key: str) -> None:
    optional = {"input"}
    missing = [f"{name} -> '{col}'" for name, col in mapping.items() if col not in available and name not in optional]
    if missing:
        raise UserError(
            f"{key}: format '{fmt}' needs column(s) {', '.join(missing)}; the source has {available}. "
            f"Map them with {key}.columns"
        )


def to_messages(row: dict[str, Any], fmt: str, mapping: dict[str, str], where: str) -> list[dict[str, str]]:
    """A chat or instruction row as a validated list of messages ending with the assistant."""
    if fmt == "instruction":
        prompt = str(row[mapping["instruction"]] or "").strip()
        extra = str(row.get(mapping["input"]) or "").strip()
        output = str(row[mapping["output"]] or "").strip()
        if not prompt or not output:
            raise UserError(f"{where}: empty instruction or output")
        return [
            {"role": "user", "content": f"{prompt}\n\n{extra}" if extra else prompt},
            {"role": "assistant", "content": output},
        ]
    messages = row[mapping["messages"]]
    if not isinstance(messages, list) or not messages:
        raise UserError(f"{where}: '{mapping['messages']}' must be a non-empty list of messages")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in _ROLES or not isinstance(m.get("content"), str):
            raise UserError(f"{where}: message {i} needs role (system/user/assistant) and string content, got {m!r}")
    if messages[-1]["role"] != "assistant":
        raise UserError(f"{where}: the last message must be the assistant's (nothing to learn otherwise)")
    return [{"role": m["role"], "content": m["content"]} for m in messages]
