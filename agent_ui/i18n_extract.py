"""Which page texts a catalog lacks, and which of its entries nothing uses any more.

`python -m agent_ui.i18n_extract [LANGUAGE]` (default `fr`) reads every `t("...")` with a string
literal in agent_ui/templates/*.html, agent_ui/static/*.js and agent_ui/*.py and prints, as JSON
ready to paste into `agent_ui/messages/<LANGUAGE>.json`, the texts the catalog lacks (with an empty
translation), then the catalog's entries no page uses and those whose `{placeholders}` differ from
the English text's. It exits 1 when there is anything to do.

In scripts the text must be one string literal (`t("Saved at {time}", { time })`, not a sum of
strings or a template literal), or this cannot see it.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2
from jinja2 import nodes

from agent_ui.i18n import MESSAGES, load_catalogs

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_JS_CALL = re.compile(
    r"""(?<![\w$.])t\(\s*(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)')""", re.DOTALL
)
_JS_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_JS_LINE_COMMENT = re.compile(r"^[ \t]*//.*$", re.MULTILINE)
_BARE_DOUBLE_QUOTE = re.compile(r'(?<!\\)"')


@dataclass(frozen=True, slots=True)
class Use:
    """One `t("text", ...)` in a file: `where` is `path:line`; `names` the keyword arguments
    given (templates and Python), None where they cannot be read (scripts)."""

    text: str
    where: str
    names: frozenset[str] | None = None


def placeholders(text: str) -> frozenset[str]:
    """The `{name}` placeholders of a text."""
    return frozenset(_PLACEHOLDER.findall(text))


def template_uses(path: Path) -> list[Use]:
    """The `{{ t("text", name=value) }}` calls of a jinja template."""
    tree = jinja2.Environment().parse(path.read_text(encoding="utf-8"))
    found = []
    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name == "t" and call.args:
            first = call.args[0]
            if isinstance(first, nodes.Const) and isinstance(first.value, str):
                names = frozenset(k.key for k in call.kwargs)
                found.append(Use(first.value, f"{path.name}:{call.lineno}", names))
    return found


def _blank(match: re.Match[str]) -> str:
    return "\n" * match.group(0).count("\n")  # comments out, line numbers kept


def script_uses(path: Path) -> list[Use]:
    """The `t("text", {...})` calls of a script (comments are skipped)."""
    source = _JS_LINE_COMMENT.sub("", _JS_BLOCK_COMMENT.sub(_blank, path.read_text("utf-8")))
    found = []
    for match in _JS_CALL.finditer(source):
        double, single = match.group(1), match.group(2)
        text = _js_string(double) if double is not None else _js_string(single, quote="'")
        line = source.count("\n", 0, match.start()) + 1
        found.append(Use(text, f"{path.name}:{line}"))
    return found


def _js_string(body: str, quote: str = '"') -> str:
    if quote == "'":
        body = _BARE_DOUBLE_QUOTE.sub('\\"', body)
    try:
        return str(json.loads('"' + body.replace("\\'", "'") + '"'))
    except ValueError:
        return body


def python_uses(path: Path) -> list[Use]:
    """The `t("text", name=value)` calls of a Python module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for call in ast.walk(tree):
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)):
            continue
        if call.func.id != "t" or not call.args:
            continue
        first = call.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            names = frozenset(k.arg for k in call.keywords if k.arg is not None)
            found.append(Use(first.value, f"{path.name}:{call.lineno}", names))
    return found


def all_uses(skip_scripts: Iterable[str] = ()) -> list[Use]:
    """Every use in the templates, the scripts (but `skip_scripts`) and the Python modules."""
    skipped = set(skip_scripts)
    uses: list[Use] = []
    for html in sorted(TEMPLATES.glob("*.html")):
        uses += template_uses(html)
    for script in sorted(STATIC.glob("*.js")):
        if script.name not in skipped:
            uses += script_uses(script)
    for module in sorted(HERE.glob("*.py")):
        uses += python_uses(module)
    return uses


def missing(catalog: Mapping[str, str], uses: Sequence[Use]) -> dict[str, list[str]]:
    """Texts used but not in the catalog, with where each is used."""
    out: dict[str, list[str]] = {}
    for use in uses:
        if use.text not in catalog:
            out.setdefault(use.text, []).append(use.where)
    return out


def unused(catalog: Mapping[str, str], uses: Sequence[Use]) -> list[str]:
    """Catalog entries no page uses."""
    used = {use.text for use in uses}
    return sorted(text for text in catalog if text not in used)


def mismatched(catalog: Mapping[str, str]) -> list[str]:
    """Catalog entries whose translation has other placeholders than the English text."""
    return sorted(k for k, v in catalog.items() if placeholders(k) != placeholders(v))


def unfilled(uses: Sequence[Use]) -> list[str]:
    """Uses that do not give a value for each placeholder of their text (or give others)."""
    return [
        f"{use.where}: {use.text!r} given {sorted(use.names)}"
        for use in uses
        if use.names is not None and use.names != placeholders(use.text)
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Print what the catalog of the language (argv[0], default fr) lacks; 1 if anything."""
    args = list(sys.argv[1:] if argv is None else argv)
    language = args[0] if args else "fr"
    catalog = load_catalogs(MESSAGES).catalog(language)
    uses = all_uses()
    lacking = missing(catalog, uses)
    problems = [*unused(catalog, uses), *mismatched(catalog), *unfilled(uses)]
    print(json.dumps({text: "" for text in lacking}, ensure_ascii=False, indent=2))
    for text, where in lacking.items():
        print(f"missing: {text!r} ({', '.join(where)})", file=sys.stderr)
    for text in unused(catalog, uses):
        print(f"unused: {text!r}", file=sys.stderr)
    for text in mismatched(catalog):
        print(f"placeholders differ: {text!r}", file=sys.stderr)
    for line in unfilled(uses):
        print(f"placeholders not given: {line}", file=sys.stderr)
    return 1 if lacking or problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
