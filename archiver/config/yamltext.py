"""feeds.yaml read as YAML nodes, not plain data: every error names the file, the line and
the key, duplicate keys (which PyYAML would let the last one win) are reported, and the
parser's words become advice a person can follow."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml

from archiver.errors import ConfigError

# What the parser's words most often mean in a hand-written feeds.yaml.
_YAML_HINTS = (
    ("found character '\\t'", "a tab indents this line; YAML is indented with spaces"),
    (
        "expected <block end>",
        "the indentation is off: the keys of one feed line up, and each feed starts "
        "with '- ' under feeds:",
    ),
)


class YamlFile:
    """One YAML file being validated: turns nodes into values, or into ConfigErrors."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self._loader = yaml.SafeLoader(text)

    def root(self) -> yaml.Node | None:
        try:
            return self._loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else None
            problem = " ".join(filter(None, [exc.context, exc.problem]))
            hint = next((h for found, h in _YAML_HINTS if found in problem), None)
            message = f"{hint} ({problem})" if hint else problem
            raise ConfigError(self.path, line, None, f"not valid YAML: {message}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(self.path, None, None, f"not valid YAML: {exc}") from None

    def error(self, node: yaml.Node, key: str | None, message: str) -> ConfigError:
        return ConfigError(self.path, node.start_mark.line + 1, key, message)

    def value(self, node: yaml.Node) -> Any:
        return self._loader.construct_object(node, deep=True)

    def mapping(self, node: yaml.Node, key: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """The mapping's entries by key, each with its key node and value node."""
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, key, f"expected a mapping of keys to values, got {kind(node)}")
        entries: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            name = self.value(key_node)
            if not isinstance(name, str):
                raise self.error(key_node, key, f"keys must be text, got {name!r}")
            if name in entries:
                first = entries[name][0].start_mark.line + 1
                raise self.error(
                    key_node, join_key(key, name), f"given twice (first on line {first})"
                )
            entries[name] = (key_node, value_node)
        return entries


_SCALAR_KINDS = {
    "tag:yaml.org,2002:int": "the whole number ",
    "tag:yaml.org,2002:float": "the number ",
    "tag:yaml.org,2002:bool": "",  # true or false says what it is
    "tag:yaml.org,2002:timestamp": "the date ",
}


def kind(node: yaml.Node) -> str:
    """What a node holds, as an error message names it: its type, then its value."""
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list" if node.value else "an empty list"
    if is_nothing(node):
        return "nothing"
    if node.tag in _SCALAR_KINDS:
        return f"{_SCALAR_KINDS[node.tag]}{node.value}"
    return f"the text {node.value!r}"


def is_nothing(node: yaml.Node) -> bool:
    """A key given no value (`feeds:` alone), which reads as empty."""
    if not isinstance(node, yaml.ScalarNode):
        return False
    return node.tag == "tag:yaml.org,2002:null" or node.value == ""


def join_key(parent: str | None, key: str) -> str:
    return f"{parent}.{key}" if parent else key


def unknown_key(doc: YamlFile, node: yaml.Node, key: str, known: list[str]) -> ConfigError:
    close = difflib.get_close_matches(key.rsplit(".", maxsplit=1)[-1], known, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}?" if close else "known keys: " + ", ".join(sorted(known))
    return doc.error(node, key, f"unknown key; {hint}")
