"""Loading a policy from YAML: `extends`, deep-merged overrides, and errors that point at lines.

Errors carry the key path and the YAML line, so "sources.demo_request.sla.first_contact.max:
line 14: max (3m) is shorter than target (5m)" tells the admin exactly what to fix. Every
problem is reported, not only the first.
"""

from __future__ import annotations

import functools
import io
import re
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
        raise PolicyError(
            [Problem("extends", f"unknown preset {name!r}; known: {', '.join(preset_names())}")]
        )
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
    if _too_big(data):
        raise PolicyError([Problem("", f"the policy expands to more than {MAX_NODES:,} values (YAML aliases repeating each other?)", name, 1)])
    return _Document(name, data)


MAX_NODES = 50_000  # the largest preset has about 1,000; aliases can multiply a small file


def _too_big(tree: Any) -> bool:
    """Count values as merging would visit them (aliases included), stopping at the limit."""
    budget = MAX_NODES
    stack = [tree]
    while stack:
        node = stack.pop()
        budget -= 1
        if budget < 0:
            return True
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


@functools.lru_cache(maxsize=16)
def _parse_preset(name: str) -> _Document:
    """Presets are read-only package data: parse each once (the merge copies, never mutates)."""
    return _parse(preset_text(name), f"preset:{name}")


def _chain(doc: _Document, seen: tuple[str, ...] = ()) -> list[_Document]:
    """The document and the presets it extends, the base first."""
    parent = doc.data.get("extends")
    if parent is None:
        return [doc]
    if not isinstance(parent, str):
        raise PolicyError(
            [
                Problem(
                    "extends",
                    "must be the name of a preset",
                    doc.name,
                    _line(doc.data, ["extends"]),
                )
            ]
        )
    if parent in seen:
        raise PolicyError(
            [
                Problem(
                    "extends",
                    f"presets extend each other in a loop: {' -> '.join((*seen, parent))}",
                    doc.name,
                )
            ]
        )
    try:
        base = _parse_preset(parent)
    except PolicyError as exc:
        raise PolicyError(
            [
                Problem(p.path, p.reason, doc.name, _line(doc.data, ["extends"]))
                for p in exc.problems
            ]
        ) from None
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
            if (
                (isinstance(node, dict)
                and key in node)
                or (isinstance(node, list)
                and isinstance(key, int)
                and key < len(node))
            ):
                node = node[key]
                depth += 1
            else:
                break
        if depth and (best is None or depth > best[2]):
            best = (doc.name, _line(doc.data, path), depth)
    if best is None:
        return chain[-1].name, None
    return best[0], best[1]


# Members of `X | "none"` unions that pydantic names in error locations; not keys of the file.
_UNION_TAGS = {"ClockSla", "CadenceSla", "function-plain[validate()]"}
# Sections that are mappings of named entries: a bad entry is set aside on its own, so the
# rest of the policy can still be checked and every problem reported in one run.
_ENTRY_SECTIONS = {
    "calendars",
    "roles",
    "tiers",
    "sources",
    "escalations",
    "reports",
    "channels",
    "icp",
}
_REFERENCE = re.compile(r"unknown (tier|role|calendar|source|notification channel) '([^']*)'")
_REFERENCE_SECTION = {
    "tier": "tiers",
    "role": "roles",
    "calendar": "calendars",
    "source": "sources",
    "notification channel": "channels",
}


def _clean_loc(loc: tuple[str | int, ...]) -> list[str | int] | None:
    """Error location without union-member tags; None for the `'none'` branch of a union."""
    parts: list[str | int] = []
    for part in loc:
        if isinstance(part, str) and part.startswith("literal["):
            return None
        if isinstance(part, str) and (part in _UNION_TAGS or part.startswith("function-")):
            continue
        parts.append(part)
    return parts


def _pydantic_problems(exc: ValidationError, chain: list[_Document]) -> list[Problem]:
    problems = []
    for error in exc.errors():
        loc = _clean_loc(error["loc"])
        if loc is None:  # the "none" alternative failing is implied by the real one failing
            continue
        reason = error["msg"]
        if error["type"] == "extra_forbidden":
            reason = "unknown key (check the spelling; unknown keys are not ignored)"
        elif error["type"] == "missing":
            reason = "required key is missing"
        elif error["type"] in ("dict_type", "model_type"):
            reason = "expected a mapping of keys to values here" + (
                " (or 'none' for a stage that is not measured)" if "sla" in loc else ""
            )
        reason = reason.removeprefix("Value error, ")
        file, line = _locate(chain, loc)
        problems.append(Problem(".".join(str(p) for p in loc), reason, file, line))
    return problems


def _prune(merged: dict[str, Any], exc: ValidationError, depth: int) -> set[tuple[str, str]]:
    """Remove what failed validation from `merged` (in place); return the entries removed.

    Removal starts deep (a single stage of one source) and climbs a level on each later pass, so
    the smallest part that fails is set aside and everything else is still checked.
    """
    removed: set[tuple[str, str]] = set()
    for error in exc.errors():
        loc = [
            p
            for p in error["loc"]
            if not (
                isinstance(p, str) and (p in _UNION_TAGS or p.startswith(("function-", "literal[")))
            )
        ]
        if not loc:
            continue
        prefix = loc[: max(1, min(len(loc), depth))]
        node: Any = merged
        for key in prefix[:-1]:
            node = node.get(str(key)) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(str(prefix[-1]), None)
        elif isinstance(node, list) and isinstance(prefix[-1], int) and prefix[-1] < len(node):
            node.pop(prefix[-1])
        section = str(loc[0])
        if len(prefix) == 1:
            removed.add((section, "*"))
        elif len(prefix) == 2 and section in _ENTRY_SECTIONS:
            removed.add((section, str(prefix[1])))
    return removed


def _depends_on_removed(reason: str, removed: set[tuple[str, str]]) -> bool:
    match = _REFERENCE.search(reason)
    if not match:
        return False
    section = _REFERENCE_SECTION[match.group(1)]
    return (section, match.group(2)) in removed or (section, "*") in removed


def load_policy_text(text: str, name: str = "<policy>") -> Policy:
    """Parse, extend, validate and check a policy; raise PolicyError listing every problem."""
    from leadclock.policy.checks import check_policy  # checks import the models; avoid a cycle

    chain = _chain(_parse(text, name))
    merged: dict[str, Any] = {}
    for doc in chain:
        merged = _merge(merged, doc.data)
    extends = merged.pop("extends", None)
    merged.setdefault("preset", extends or merged.get("preset"))
    problems: list[Problem] = []
    removed: set[tuple[str, str]] = set()
    policy = None
    for depth in (4, 3, 2, 1, 0):  # each pass sets aside what failed; the rest is still checked
        try:
            policy = Policy.model_validate(merged)
            break
        except ValidationError as exc:
            if not problems:
                problems.extend(_pydantic_problems(exc, chain))
            if depth == 0:
                break
            removed |= _prune(merged, exc, depth)
    if policy is not None:
        for path, reason in check_policy(policy):
            if _depends_on_removed(reason, removed):
                continue
            file, line = _locate(chain, path)
            problems.append(Problem(".".join(str(p) for p in path), reason, file, line))
    if problems:
        unique = list(dict.fromkeys(problems))
        unique.sort(key=lambda p: (p.file != chain[-1].name, p.line or 0))
        raise PolicyError(unique)
    assert policy is not None
    return policy


def load_policy(path: str | Path) -> Policy:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(
            [Problem("", f"cannot read the file: {exc.strerror}", str(path))]
        ) from None
    except UnicodeDecodeError:
        raise PolicyError([Problem("", "the file is not UTF-8 text", str(path))]) from None
    return load_policy_text(text, str(path))


def load_preset(name: str) -> Policy:
    return load_policy_text(f"extends: {name}\n", f"preset:{name}")
