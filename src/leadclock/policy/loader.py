"""Loading a policy from YAML: `extends`, deep-merged overrides, and errors that point at lines.

Errors carry the key path and the YAML line, so "sources.demo_request.sla.first_contact.max:
line 14: max (3m) is shorter than target (5m)" tells the admin exactly what to fix. Every
problem is reported, not only the first.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from leadclock.policy.models import Policy

PRESET_PACKAGE = "leadclock.policy.presets"


@dataclass(frozen=True)
class Problem:
    path: str  # dotted key path, e.g. "sources.demo_request.sla.first_contact.max"
    reason: str
    file: str | None = None
    line: int | None = None  # 1-based

    def __str__(self) -> str:
        where = self.file or "<policy>"
        if self.line is not None:
            where += f":{self.line}"
        return f"{where}: {self.path or '(top level)'}: {self.reason}"


class PolicyError(ValueError):
    """A policy that cannot be used; `problems` lists every reason."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class _Document:
    name: str  # file name or "preset:<name>"
    data: Any  # ruamel round-trip tree (keeps line numbers)


def preset_names() -> list[str]:
    files = resources.files(PRESET_PACKAGE).iterdir()
    return sorted(f.name[:-5] for f in files if f.name.endswith(".yaml"))


def preset_text(name: str) -> str:
    if name not in preset_names():
        raise PolicyError([Problem("extends", f"unknown preset {name!r}; known: {', '.join(preset_names())}")])
    return resources.files(PRESET_PACKAGE).joinpath(f"{name}.yaml").read_text(encoding="utf-8")


def _parse(text: str, name: str) -> _Document:
    yaml = YAML(typ="rt")
    try:
        data = yaml.load(io.StringIO(text))
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise PolicyError([Problem("", f"not valid YAML: {reason}", name, line)]) from None
    if data is None:
        data = CommentedMap()
    if not isinstance(data, dict):
        raise PolicyError([Problem("", "a policy must be a mapping of keys to values", name, 1)])
    return _Document(name, data)


def _chain(doc: _Document, seen: tuple[str, ...] = ()) -> list[_Document]:
    """The document and the presets it extends, the base first."""
    parent = doc.data.get("extends")
    if parent is None:
        return [doc]
    if not isinstance(parent, str):
        raise PolicyError([Problem("extends", "must be the name of a preset", doc.name, _line(doc.data, ["extends"]))])
    if parent in seen:
        raise PolicyError([Problem("extends", f"presets extend each other in a loop: {' -> '.join((*seen, parent))}", doc.name)])
    try:
        base = _parse(preset_text(parent), f"preset:{parent}")
    except PolicyError as exc:
        raise PolicyError([Problem(p.path, p.reason, doc.name, _line(doc.data, ["extends"])) for p in exc.problems]) from None
    return [*_chain(base, (*seen, parent)), doc]


def _merge(base: Any, override: Any) -> Any:
    """Deep merge: mappings merge key by key, everything else (lists included) is replaced.

    A key set to null in the override removes it, so a preset's source can be dropped.
    """
    if isinstance(base, dict) and isinstance(override, dict):
        merged = {k: _plain(v) for k, v in base.items()}
        for key, value in override.items():
            if value is None and key in merged:
                del merged[key]
            elif key in merged:
                merged[key] = _merge(merged[key], value)
            else:
                merged[key] = _plain(value)
        return merged
    return _plain(override)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _line(tree: Any, path: list[str | int]) -> int | None:
    """1-based line of the deepest node on `path` that exists in a round-trip tree."""
    line = None
    node = tree
    for key in path:
        if isinstance(node, CommentedMap) and key in node:
            position = node.lc.key(key)
            line = position[0] + 1 if position else line
            node = node[key]
        elif isinstance(node, CommentedSeq) and isinstance(key, int) and key < len(node):
            position = node.lc.item(key)
            line = position[0] + 1 if position else line
            node = node[key]
        else:
            break
    return line


def _locate(chain: list[_Document], path: list[str | int]) -> tuple[str, int | None]:
    """The file and line that set `path`: the most derived document that mentions it."""
    best: tuple[str, int | None, int] | None = None
    for doc in reversed(chain):
        depth, node = 0, doc.data
        for key in path:
            if isinstance(node, dict) and key in node or isinstance(node, list) and isinstance(key, int) and key < len(node):
                node = node[key]
                depth += 1
            else:
                break
        if depth and (best is None or depth > best[2]):
            best = (doc.name, _line(doc.data, path), depth)
    if best is None:
        return chain[-1].name, None
    return best[0], best[1]


def _pydantic_problems(exc: ValidationError, chain: list[_Document]) -> list[Problem]:
    problems = []
    for error in exc.errors():
        # Pydantic adds the name of a union / tagged member to loc; keep only real keys.
        loc = [part for part in error["loc"] if isinstance(part, int) or not str(part).startswith("function-")]
        path = ".".join(str(p) for p in loc)
        reason = error["msg"]
        if error["type"] == "extra_forbidden":
            reason = "unknown key (check the spelling; unknown keys are not ignored)"
        elif error["type"] == "missing":
            reason = "required key is missing"
        reason = reason.removeprefix("Value error, ")
        file, line = _locate(chain, loc)
        problems.append(Problem(path, reason, file, line))
    return problems


def load_policy_text(text: str, name: str = "<policy>") -> Policy:
    """Parse, extend, validate and check a policy; raise PolicyError listing every problem."""
    from leadclock.policy.checks import check_policy  # checks import the models; avoid a cycle

    chain = _chain(_parse(text, name))
    merged: dict[str, Any] = {}
    for doc in chain:
        merged = _merge(merged, doc.data)
    extends = merged.pop("extends", None)
    merged.setdefault("preset", extends or merged.get("preset"))
    try:
        policy = Policy.model_validate(merged)
    except ValidationError as exc:
        raise PolicyError(_pydantic_problems(exc, chain)) from None
    problems = []
    for path, reason in check_policy(policy):
        file, line = _locate(chain, path)
        problems.append(Problem(".".join(str(p) for p in path), reason, file, line))
    if problems:
        raise PolicyError(problems)
    return policy


def load_policy(path: str | Path) -> Policy:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError([Problem("", f"cannot read the file: {exc.strerror}", str(path))]) from None
    except UnicodeDecodeError:
        raise PolicyError([Problem("", "the file is not UTF-8 text", str(path))]) from None
    return load_policy_text(text, str(path))


def load_preset(name: str) -> Policy:
    return load_policy_text(f"extends: {name}\n", f"preset:{name}")
