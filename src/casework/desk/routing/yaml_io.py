"""Rule sets as YAML: export for review and version control, import as a new draft.

The file is a mapping with a ``rules`` list (a bare list is accepted too)::

    # casework dispatch rules
    format: 1
    rules:
      - name: oss-403
        when:
          products: [oss]
          keywords: ["403", AccessDenied]
        then:
          line: storage
          tags: [acl]

Errors name the line of the file: YAML syntax errors through PyYAML's marks, rule errors (a malformed regex,
an unknown line) by walking the composed node tree along the rule's field path (``rules[3].when.regex``).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

FORMAT = 1
MAX_YAML_BYTES = 1_000_000  # a few thousand rules; anything bigger is not a rule file


class YamlRulesError(ValueError):
    """Bad YAML or a bad rule in it; ``line`` is 1-based (0 when unknown), ``field`` the rule path if any."""

    def __init__(self, message: str, *, line: int = 0, field: str = "") -> None:
        self.line = line
        self.field = field
        self.message = message
        where = f"line {line}: " if line else ""
        super().__init__(f"{where}{field + ': ' if field else ''}{message}")


def dump_rules(rules: list[dict[str, Any]], *, header: str = "") -> str:
    body = yaml.safe_dump(
        {"format": FORMAT, "rules": rules}, sort_keys=False, allow_unicode=True, default_flow_style=None, width=100
    )
    comment = "".join(f"# {line}\n" for line in header.splitlines()) if header else ""
    return comment + body


def _parse_tree(text: str) -> tuple[Any, yaml.Node | None]:
    if len(text.encode("utf-8", "surrogatepass")) > MAX_YAML_BYTES:
        raise YamlRulesError(f"the file is larger than {MAX_YAML_BYTES // 1000} kB")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise YamlRulesError(f"invalid YAML: {problem}", line=mark.line + 1 if mark else 0) from None
    except yaml.YAMLError as exc:
        raise YamlRulesError(f"invalid YAML: {exc}") from None
    return data, node


def load_rules(text: str) -> tuple[list[Any], yaml.Node | None]:
    """The raw rule list from YAML text, plus the node tree to locate later errors. Raises YamlRulesError."""
    data, node = _parse_tree(text)
    if data is None:
        raise YamlRulesError("the file is empty", line=1)
    if isinstance(data, dict):
        unknown = set(data) - {"format", "rules", "note", "version"}
        if unknown:
            raise YamlRulesError(f"unknown top-level key(s): {', '.join(sorted(map(str, unknown)))}", line=1)
        if data.get("format", FORMAT) != FORMAT:
            raise YamlRulesError(f"unsupported format {data.get('format')!r} (expected {FORMAT})",
                                 line=line_of(node, "format"))
        rules = data.get("rules")
        if not isinstance(rules, list):
            raise YamlRulesError("'rules' must be a list of rules", line=line_of(node, "rules") or 1)
        return rules, node
    if isinstance(data, list):
        return data, node
    raise YamlRulesError("expected a mapping with a 'rules' list", line=1)


_STEP = re.compile(r"([A-Za-z_]+)|\[(\d+)\]")


def line_of(node: yaml.Node | None, path: str) -> int:
    """1-based line of the node at ``path`` (``rules[3].when.regex``), or of its nearest existing parent."""
    if node is None:
        return 0
    best = node.start_mark.line + 1
    # A bare list file has no "rules" key: its path starts at the list itself.
    steps = [m.group(1) or int(m.group(2)) for m in _STEP.finditer(path)]
    if isinstance(node, yaml.SequenceNode) and steps and steps[0] == "rules":
        steps = steps[1:]
    current: yaml.Node = node
    for step in steps:
        nxt = None
        if isinstance(step, int) and isinstance(current, yaml.SequenceNode) and step < len(current.value):
            nxt = current.value[step]
        elif isinstance(step, str) and isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                if getattr(key, "value", None) == step:
                    nxt = value
                    break
        if nxt is None:
            break
        current = nxt
        best = current.start_mark.line + 1
    return best
