"""Strict YAML configs: duplicate keys refused, dotted overrides, every schema error at once with a fix.

Recipes, benchmark specs and study specs all load through `load_config`, so they share one set of
rules and one error format: `FILE: key.path: what is wrong; did you mean 'x'?`.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from tuner.errors import UserError

M = TypeVar("M", bound=BaseModel)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (plain YAML keeps the last one silently)."""


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode) -> dict:
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise UserError(f"line {key_node.start_mark.line + 1}: duplicate key '{key}'; keep one of them")
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)
# YAML 1.1 reads `1e-4` (no dot) as a string; learning rates are written that way, so read it as a float.
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+$"),
    list("-+0123456789."),
)


def parse_value(raw: str) -> Any:
    """An override's value, read as YAML with the same rules as files."""
    return yaml.load(raw, Loader=_StrictLoader) if raw.strip() else None


def load_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping; errors name the file and line."""
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)
    except UserError as e:
        raise UserError(f"{path}: {e}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise UserError(f"{path}: {where}not valid YAML ({getattr(e, 'problem', e)})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping of keys at the top level, got {type(data).__name__}")
    return data


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `a.b.c=value` overrides in order; values are parsed as YAML (`1e-4`, `true`, `[a, b]`).

    A list element is addressed by its index: `data.sources.0.max_samples=100`.
    """
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise UserError(f"override '{item}': expected key.path=value, e.g. training.max_steps=10")
        value = parse_value(raw)
        parts = key.split(".")
        node: Any = data
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    where = ".".join(parts[:depth]) or "<root>"
                    raise UserError(f"override '{item}': {where} is a list of {len(node)}; use an index 0..{len(node) - 1}")
                idx = int(part)
                if last:
                    node[idx] = value
                else:
                    node = node[idx]
            else:
                if last:
                    node[part] = value
                else:
                    if not isinstance(node.get(part), (dict, list)):
                        node[part] = {}
                    node = node[part]
    return data


def _unwrap(annotation: Any) -> list[Any]:
    """The concrete types an annotation may hold (Optional, Annotated and unions opened up)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for arg in typing.get_args(annotation) for t in _unwrap(arg)]
    return [annotation]


def _model_at(root: type[BaseModel], loc: tuple) -> list[type[BaseModel]]:
    """The pydantic models that may sit at `loc` (several when a union is not yet resolved)."""
    current: list[Any] = [root]
    for part in loc:
        nxt: list[Any] = []
        for cand in current:
            if isinstance(cand, type) and issubclass(cand, BaseModel):
                if part in cand.model_fields:
                    nxt.extend(_unwrap(cand.model_fields[part].annotation))
                continue
            origin = typing.get_origin(cand)
            if origin in (list, tuple) and isinstance(part, int):
                nxt.extend(t for a in typing.get_args(cand) for t in _unwrap(a))
            elif origin is dict:
                nxt.extend(_unwrap(typing.get_args(cand)[1]))
        # A tagged union puts the tag in `loc` (method.lora.r): keep the member whose tag matches.
        tagged = [c for c in current if isinstance(c, type) and issubclass(c, BaseModel) and _tag_of(c) == part]
        current = nxt or tagged
    return [c for c in current if isinstance(c, type) and issubclass(c, BaseModel)]


def _tag_of(model: type[BaseModel]) -> str | None:
    for field in model.model_fields.values():
        args = typing.get_args(field.annotation)
        if typing.get_origin(field.annotation) is typing.Literal and len(args) == 1:
            return args[0]
    return None


# Names users bring from other tools, mapped to the upstream names tuner uses.
SYNONYMS = {
    "lr": "learning_rate",
    "epochs": "num_train_epochs",
    "batch_size": "per_device_train_batch_size",
    "grad_accum": "gradient_accumulation_steps",
    "gradient_checkpointing": "activation_checkpointing",
    "rank": "r",
    "alpha": "lora_alpha",
    "dropout": "lora_dropout",
    "scheduler": "lr_scheduler_type",
    "warmup": "warmup_steps",
}


def _suggest(word: str, options: list[str]) -> str:
    if SYNONYMS.get(word) in options:
        return f"; did you mean '{SYNONYMS[word]}'?"
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.5)
    return f"; did you mean '{close[0]}'?" if close else f"; known keys: {', '.join(options)}"


def format_validation_error(error: ValidationError, root: type[BaseModel]) -> list[str]:
    """One line per problem, each naming the key path, the value and what to do."""
    lines = []
    for err in error.errors():
        loc = tuple(err["loc"])
        path = ".".join(str(p) for p in loc) or "<root>"
        kind = err["type"]
        if kind == "extra_forbidden":
            parents = _model_at(root, loc[:-1])
            known = sorted({k for m in parents for k in m.model_fields})
            lines.append(f"{path}: unknown key{_suggest(str(loc[-1]), known)}")
        elif kind == "missing":
            lines.append(f"{path}: required key is missing")
        elif kind == "union_tag_invalid":
            ctx = err.get("ctx", {})
            tags = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",")]
            lines.append(f"{path}: unknown kind '{ctx.get('tag')}'{_suggest(str(ctx.get('tag')), tags)}")
        else:
            got = err.get("input")
            shown = f" (got {got!r})" if not isinstance(got, (dict, list)) else ""
            lines.append(f"{path}: {err['msg']}{shown}")
    return lines


def load_config(model: type[M], path: Path, overrides: list[str] | None = None) -> M:
    """Load, override and validate a YAML config; every problem is reported at once (UserError)."""
    data = apply_overrides(load_yaml(path), overrides or [])
    return validate(model, data, str(path))


def validate(model: type[M], data: dict[str, Any], source: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise UserError("\n".join(f"{source}: {line}" for line in format_validation_error(e, model))) from None


def dump_yaml(config: BaseModel) -> str:
    """The resolved config as YAML, in field order, ready to be loaded again."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
