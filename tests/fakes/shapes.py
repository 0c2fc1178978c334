"""Answers in the shapes real code models write them (issue: "Answers as code
models really write them"), for the fake LM Studio's --shapes option and the
tests.  Each shape is a behaviour-preserving edit of the function the
rewrite prompt shows (its last fenced block), written the way Qwen2.5-Coder,
DeepSeek-Coder, Llama 3 or Mistral answer:

  helper   a new no-op helper before the function, called first in its body
           (a method: a sibling method in Python half the time, else a free
           function, as the language has it)
  import   a new import the helper uses (and an import the file has, echoed)
  wrapper  a method inside its class header (Python `class X:`, `impl X {`,
           `class X {`), with a helper method beside it
  doc      a new doc comment above the function
  echo     the file's imports echoed above the function
  blocks   prose, a usage example block, the function block, a shell block
  think    a <think> with a wrong draft in a code block, then the answer
  indent   Python: 2-space indentation; C-like: tabs <-> spaces
  prose    no fence: a line of prose before and after the code
  unchanged  the function as it was

Every shape also puts a '<comment> refactored' line first in the body (the
stand-in server's default edit), so none is "unchanged" by accident.
Python 3 standard library only.
"""
import ast
import hashlib
import re

import fakecore

SHAPES = ("helper", "import", "wrapper", "doc", "echo", "blocks", "think", "indent", "prose")

# language -> (comment prefix, doc comment, helper, call, import, helper using the import)
LANG = {
    "python": "#",
    "c": "//", "cpp": "//", "go": "//", "rust": "//", "java": "//",
    "javascript": "//", "typescript": "//", "tsx": "//",
}


def parse_prompt(user):
    """(lang, path, function text, scope header or None, import lines)."""
    m = re.search(r"^File: (.*) \((\w+)\)$", user, re.M)
    path, lang = (m.group(1), m.group(2)) if m else ("", "")
    found = fakecore.find_fence(user)
    code = found[1] if found else ""
    sm = re.search(r"^The function is inside: `(.*)`$", user, re.M)
    imports = []
    im = re.search(r"^Imports of the file:\n(`{3,})\w*\n(.*?)\n\1$", user, re.M | re.S)
    if im:
        imports = [l for l in im.group(2).split("\n") if l.strip()]
    return lang, path, code, sm.group(1) if sm else None, imports


def _indent(line):
    return line[:len(line) - len(line.lstrip())]


def _name(lang, code):
    """The function's own name, from its header."""
    if lang == "python":
        m = re.search(r"^\s*(?:async\s+)?def\s+(\w+)", code, re.M)
        return m.group(1) if m else None
    if lang == "go":
        m = re.search(r"func\s*(?:\([^)]*\)\s*)?(\w+)\s*[\[(]", code)
        return m.group(1) if m else None
    if lang == "rust":
        m = re.search(r"\bfn\s+(\w+)", code)
        return m.group(1) if m else None
    # C-like: the identifier before the first '(' of the header
    head = code.split("{", 1)[0]
    m = None
    for m in re.finditer(r"(\w+)\s*(?:<[^<>()]*>)?\s*\(", head):
        if m.group(1) not in ("if", "for", "while", "switch", "return", "sizeof", "function",
                              "__attribute__", "decltype", "alignas", "noexcept"):
            break
    return m.group(1) if m else None


def _camel(prefix, name):
    return prefix + name[:1].upper() + name[1:]


def helper_name(lang, name, scope=None):
    if scope:
        m = re.search(r"(?:class|struct|impl(?:<[^>]*>)?|interface|enum|record|trait)\s+(\w+)", scope)
        if m:
            name = m.group(1) + "_" + name
    if lang == "python":
        return "_gm_note_" + name
    if lang in ("c", "cpp", "rust"):
        return "gm_note_" + name
    return _camel("gmNote", name)


def _skip_strings(code, i):
    """Index after the string, char literal or comment at code[i], else i."""
    c = code[i]
    if code.startswith("//", i):
        j = code.find("\n", i)
        return len(code) if j < 0 else j
    if code.startswith("/*", i):
        j = code.find("*/", i + 2)
        return len(code) if j < 0 else j + 2
    if c in "\"`":
        j = i + 1
        while j < len(code) and code[j] != c:
            j += 2 if code[j] == "\\" else 1
        return j + 1
    if c == "'":
        # a char literal ('a', '\n') or a Rust lifetime ('a)
        m = re.match(r"'(\\.|[^\\'])'", code[i:])
        return i + len(m.group(0)) if m else i + 1
    return i


def _body_brace(code):
    """Index of the '{' that opens the body: the one matching the last '}'."""
    stack = []
    pairs = {}
    i = 0
    while i < len(code):
        j = _skip_strings(code, i)
        if j != i:
            i = j
            continue
        if code[i] == "{":
            stack.append(i)
        elif code[i] == "}" and stack:
            pairs[i] = stack.pop()
        i += 1
    last = code.rstrip().rfind("}")
    return pairs.get(last)


def _insert_first(lang, code, stmt, unit="    "):
    """`code` with `stmt` as the first statement of the body, or None."""
    if lang == "python":
        lines = code.split("\n")
        first = next((l for l in lines if l.strip() and not l.strip().startswith("#")), "")
        src = ("if True:\n" + code) if first[:1] in (" ", "\t") else code
        off = 1 if src is not code else 0
        try:
            tree = ast.parse(src)
        except SyntaxError:
            return None
        fn = next((n for n in ast.walk(tree)
                   if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))), None)
        if fn is None or fn.body[0].lineno == fn.lineno:
            return None
        body = fn.body
        k = 0
        if isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
                and isinstance(body[0].value.value, str):
            if len(body) == 1:
                at = body[0].end_lineno - off
                ind = " " * body[0].col_offset
                lines.insert(at, ind + stmt)
                return "\n".join(lines)
            k = 1
        at = body[k].lineno - 1 - off
        # decorators / comments between: insert before the statement's own line
        ind = " " * body[k].col_offset
        lines.insert(at, ind + stmt)
        return "\n".join(lines)
    b = _body_brace(code)
    if b is None:
        return None
    after = b + 1
    rest = code[after:]
    nl = rest.find("\n")
    if nl < 0 or rest[:nl].strip():
        return None  # a one-line body: leave it
    nxt = next((l for l in rest[nl + 1:].split("\n") if l.strip()), "")
    brace_line = code[code.rfind("\n", 0, b) + 1:b]
    ind = _indent(nxt) if len(_indent(nxt)) > len(_indent(brace_line)) else _indent(brace_line) + unit
    head = nxt.strip()
    if lang == "java" and (head.startswith("super(") or head.startswith("this(")):
        # a constructor's super()/this() call must stay first
        end = code.find(";", after)
        eol = code.find("\n", end)
        return code[:eol + 1] + ind + stmt + "\n" + code[eol + 1:]
    if lang in ("javascript", "typescript", "tsx") and re.match(r"""['"]use \w+['"]""", head):
        return None
    return code[:after + nl + 1] + ind + stmt + "\n" + code[after + nl + 1:]


def _unit(code):
    return "\t" if re.search(r"^\t", code, re.M) else "    "


def _comment_first(lang, code):
    c = LANG.get(lang, "//") + " refactored"
    out = _insert_first(lang, code, c, _unit(code))
    return out if out is not None else code


def _helper(lang, name, in_class, ind, variant, with_import, scope=None):
    """(helper text at indentation `ind`, call statement, import line or None)."""
    h = helper_name(lang, name, scope)
    imp = None
    if lang == "python":
        if in_class and variant == 0:
            body = "return operator.truth(self)" if with_import else "return None"
            text = "%sdef %s(self):\n%s    %s" % (ind, h, ind, body)
            call = "self.%s()" % h
        else:
            body = "return operator.truth(1)" if with_import else "return None"
            text = "%sdef %s():\n%s    %s" % ("" if in_class else ind, h, "" if in_class else ind, body)
            call = "%s()" % h
        imp = "import operator" if with_import else None
    elif lang == "c" or (lang == "cpp" and not in_class):
        if with_import:
            imp = "#include <stddef.h>"
            text = "%sstatic size_t %s(void)\n%s{\n%s\treturn sizeof(int);\n%s}" % (ind, h, ind, ind, ind)
            call = "(void)%s();" % h
        else:
            text = "%sstatic void %s(void)\n%s{\n%s}" % (ind, h, ind, ind)
            call = "%s();" % h
    elif lang == "cpp":
        text = "%sstatic void %s() {}" % (ind, h)
        call = "%s();" % h
        if with_import:
            imp = "#include <cstddef>"
            text = "%sstatic std::size_t %s() { return sizeof(int); }" % (ind, h)
            call = "(void)%s();" % h
    elif lang == "go":
        if with_import:
            imp = 'import "strings"'
            text = '%sfunc %s() string {\n%s\treturn strings.ToLower("")\n%s}' % (ind, h, ind, ind)
            call = "_ = %s()" % h
        else:
            text = "%sfunc %s() {\n%s}" % (ind, h, ind)
            call = "%s()" % h
    elif lang == "rust":
        if with_import:
            imp = "use std::mem;"
            text = "%sfn %s() -> usize {\n%s    mem::size_of::<u8>()\n%s}" % ("" if in_class else ind, h,
                                                                          "" if in_class else ind,
                                                                          "" if in_class else ind)
            call = "let _ = %s();" % h
        else:
            text = "%sfn %s() {}" % ("" if in_class else ind, h)
            call = "%s();" % h
    elif lang == "java":
        if with_import:
            imp = "import java.util.Objects;"
            text = "%sprivate static boolean %s() {\n%s    return Objects.isNull(null);\n%s}" % (ind, h, ind, ind)
            call = "%s();" % h
        else:
            text = "%sprivate static void %s() {\n%s}" % (ind, h, ind)
            call = "%s();" % h
    else:  # javascript, typescript, tsx: a free function (also for a method)
        i = "" if in_class else ind
        if with_import:
            if lang == "javascript":
                imp = "const gmPath_%s = require('path');" % name
            else:
                imp = 'import * as gmPath_%s from "path";' % name
            text = "%sfunction %s() {\n%s  return gmPath_%s.sep;\n%s}" % (i, h, i, name, i)
        else:
            text = "%sfunction %s() {\n%s}" % (i, h, i)
        call = "%s();" % h
    return text, call, imp


def _fence(lang, code):
    runs = [len(r) for r in re.findall(r"`+", code)]
    f = "`" * max([3] + [n + 1 for n in runs if n >= 3])
    return "%s%s\n%s\n%s" % (f, lang, code, f)


def _reindent(lang, code):
    """Python: 4 spaces -> 2 outside strings; C-like: tabs <-> 4 spaces."""
    lines = code.split("\n")
    if lang == "python":
        if '"""' in code or "'''" in code:
            return None
        base = min((len(_indent(l)) for l in lines if l.strip()), default=0)
        out = []
        for l in lines:
            w = len(_indent(l)) - base
            if l.strip() and w % 4:
                return None
            out.append(" " * (base + w // 2) + l.lstrip() if l.strip() else "")
        return "\n".join(out)
    if "`" in code or '"""' in code or "\\\n" in code:
        return None
    if re.search(r"^\t", code, re.M):
        if re.search(r"^\t* +", code, re.M):
            return None
        return "\n".join(re.sub(r"^\t+", lambda m: "    " * len(m.group(0)), l) for l in lines)
    widths = [len(_indent(l)) for l in lines if l.strip() and _indent(l)]
    if not widths:
        return None
    w = min(widths)
    if any(x % w for x in widths) or "\t" in "".join(_indent(l) for l in lines):
        return None
    new = 2 if w == 4 else 4
    return "\n".join(" " * (len(_indent(l)) // w * new) + l.lstrip() if l.strip() else ""
                     for l in lines)


def _doc(lang, name, ind):
    if lang == "python":
        return "%s# %s: refactored by the model." % (ind, name)
    if lang == "rust":
        return "%s/// %s: refactored by the model." % (ind, name)
    if lang == "go":
        return "%s// %s is refactored by the model." % (ind, name)
    return "%s/** %s: refactored by the model. */" % (ind, name)


def pick(name, shapes):
    """A shape for `name`, spread evenly and the same on every run."""
    h = int(hashlib.sha1(name.encode()).hexdigest(), 16)
    return shapes[h % len(shapes)], (h >> 8) % 2


def answer(user, shape="mix", shapes=SHAPES):
    """The answer text in `shape` ("mix": chosen by the function's name), or None."""
    lang, path, code, scope, imports = parse_prompt(user)
    if not code or lang not in LANG:
        return None
    name = _name(lang, code)
    if not name:
        return None
    variant = 0
    if shape == "mix":
        shape, variant = pick(path + ":" + name, list(shapes))
    first = next((l for l in code.split("\n") if l.strip()), "")
    ind = _indent(first)
    in_class = scope is not None and lang != "go" and not (lang == "cpp" and "::" in code.split("(")[0])
    edited = _comment_first(lang, code)
    if shape == "unchanged":
        return _fence(lang, code)
    if shape in ("helper", "import") or (shape == "wrapper" and not in_class):
        text, call, imp = _helper(lang, name, in_class, ind, variant, shape == "import", scope)
        body = _insert_first(lang, edited, call, _unit(code))
        if body is None:
            return _fence(lang, edited)
        free = in_class and lang in ("python", "rust", "javascript", "typescript", "tsx") and \
            not (lang == "python" and variant == 0)
        if lang == "python" and free:
            # a free helper and the method, both written at column 0
            body = "\n".join(l[len(ind):] if l.startswith(ind) else l for l in body.split("\n"))
            parts = [text, "", "", body]
        elif lang == "python":
            parts = [text, "", body] if ind else [text, "", "", body]
        else:
            parts = [text, "", body]
        if imp:
            head = [imp] + ([imports[0]] if imports else [])
            parts = head + [""] + parts
        return "Here is the refactored function with a small helper:\n\n" + \
            _fence(lang, "\n".join(parts)) + "\n\nThe helper keeps the function short."
    if shape == "wrapper":
        header = scope.rstrip()
        if lang == "python":
            hind = ind[:-4] if len(ind) >= 4 else ""
            text, call, _ = _helper(lang, name, True, ind, 0, False, scope)
            body = _insert_first(lang, edited, call, _unit(code)) or edited
            return _fence(lang, "%s%s\n%s\n\n%s" % (hind, header, text, body))
        if not header.endswith("{"):
            header += " {"
        hind = ind[:-len(_unit(code))] if len(ind) >= len(_unit(code)) else ""
        return _fence(lang, "%s%s\n%s\n%s}" % (hind, header, edited, hind))
    if shape == "doc":
        return _fence(lang, _doc(lang, name, ind) + "\n" + edited)
    if shape == "echo":
        return _fence(lang, "\n".join(imports + [""] + [edited]) if imports else edited)
    if shape == "blocks":
        call = "print(%s)" % name if lang == "python" else "%s();" % name
        return ("Sure. Usage:\n\n" + _fence(lang, call) + "\n\nThe rewritten function:\n\n" +
                _fence(lang, edited) + "\n\nRun the tests with:\n\n```bash\nmake test\n```\n")
    if shape == "think":
        return ("<think>\nA first draft:\n" + _fence(lang, code.replace(name, name + "_draft", 1)) +
                "\nNo, keep the name.\n</think>\n\n" + _fence(lang, edited))
    if shape == "indent":
        r = _reindent(lang, edited)
        return _fence(lang, r if r is not None else edited)
    if shape == "prose":
        return "Here is the refactored function:\n\n" + edited + "\n\nThis keeps the behaviour the same.\n"
    return _fence(lang, edited)
