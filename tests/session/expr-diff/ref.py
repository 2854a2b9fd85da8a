#!/usr/bin/env python3
"""
Reference evaluator for the differential test of src/session/expr.c.

PlainBox's resource-expression semantics (docs/plainbox.md §5) rebuilt on
CPython's own ast.parse and eval: every line is parsed with ast, checked
against the whitelist, its Names collected in first-seen order, compiled
as "lambda ALIASES: TEXT" and called per tuple of itertools.product, an
exception counting as false; compat mode cuts the text on the last " or "
(else " and ") when it has no "(" and evaluates both halves (both built
first) as independent expressions.

It follows proctor's documented deviations (docs/expr.md) so that any
difference is a bug: `not` is allowed, call arguments are whitelisted too
(and their names counted only in strict mode), a bare top-level tuple is
skipped, ints beyond 64 bits are rejected, dunder/_data attributes and
attributes of strings raise.

Usage: ref.py FILE...   prints "FILE<TAB>COMPAT<TAB>STRICT" per file
(ASCII inputs only; the text ends at the first NUL byte). The resource map
must be the same as driver.c's.
"""
import ast, itertools, sys

class S(str):
    def __getattribute__(self, a):
        if not a.startswith('__'):
            raise AttributeError(a)
        return str.__getattribute__(self, a)

class Resource:
    __slots__ = ('_data',)
    def __init__(s, d): object.__setattr__(s, '_data', d)
    def __getattribute__(s, a):
        if a.startswith('__') or a == '_data':
            raise AttributeError(a)
        v = object.__getattribute__(s, '_data').get(a, '')
        if len(v) == 0:
            return ''
        if len(v) == 1 and ord(v) < 256:
            # CPython's one-character singleton. Whether a literal 'x' is
            # that object depends on the version (3.10, 3.13: yes; 3.11,
            # 3.12 intern a literal made of ASCII letters, digits or _ as
            # another object); proctor follows 3.10/3.13 (docs/expr.md),
            # and the interned string is the literal's on every version.
            if v.isascii() and (v.isalnum() or v == '_'):
                return sys.intern(chr(ord(v)))
            return chr(ord(v))
        return S(v)
    def __iter__(s): return iter(object.__getattribute__(s, '_data'))
    def __eq__(s, o):
        return isinstance(o, Resource) and object.__getattribute__(s, '_data') == object.__getattribute__(o, '_data')
    __hash__ = None

MAP = {
    'p': [Resource({'name': 'fwts', 'version': '1.2', 'count': '4'}),
          Resource({'name': 'this or that', 'version': '10', 'count': 'x'}),
          Resource({})],
    'q': [Resource({'a': '', 'b': 's390x'})],
    'cpuinfo': [Resource({'platform': 'x86_64', 'count': ' 8 ', 'f': '1e3'})] * 2,
    'empty': [],
}

class Bad(Exception): pass
class Skip(Exception): pass

CMPOPS = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot)

def visit(node, strict, names, in_call):
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in ('len', 'bool', 'int', 'float') or node.keywords:
            raise Bad('call')
        for a in node.args:
            if isinstance(a, ast.Starred): raise Bad('starred')
            visit(a, strict, names, True)
        return
    if isinstance(node, ast.Name):
        if not in_call or strict:
            if node.id not in names: names.append(node.id)
        return
    if isinstance(node, ast.Constant):
        v = node.value
        if type(v) not in (str, int, float, bool, type(None)): raise Bad('const')
        if type(v) is int and not (-2**63 <= v < 2**63): raise Bad('bigint')
        return
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.Not): raise Bad('unary')
        visit(node.operand, strict, names, in_call); return
    if isinstance(node, ast.Attribute):
        visit(node.value, strict, names, in_call); return
    if isinstance(node, ast.BoolOp):
        for v in node.values: visit(v, strict, names, in_call)
        return
    if isinstance(node, ast.Compare):
        visit(node.left, strict, names, in_call)
        for c in node.comparators: visit(c, strict, names, in_call)
        return
    if isinstance(node, (ast.List, ast.Tuple)):
        for e in node.elts:
            if isinstance(e, ast.Starred): raise Bad('starred')
            visit(e, strict, names, in_call)
        return
    raise Bad(type(node).__name__)

class Expr:
    def __init__(self, text, strict):
        self.text = text
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            raise Bad('syntax')
        if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Expr):
            raise Bad('stmt')
        if isinstance(tree.body[0].value, ast.Tuple):
            raise Skip()
        self.names = []
        visit(tree.body[0].value, strict, self.names, False)
        if not self.names: raise Bad('noresources')
        try:
            self.fn = eval('lambda %s: %s' % (', '.join(self.names), text))
        except Exception:
            raise Bad('eval')
        self.strict = strict

    def evaluate(self):
        t = self.text
        if not self.strict and '(' not in t and (' or ' in t or ' and ' in t):
            sep = ' or ' if ' or ' in t else ' and '
            l, r = t.rsplit(sep, 1)
            le = Expr(l, False); re_ = Expr(r, False)  # may raise Bad -> error
            if sep == ' or ':
                return le.evaluate() or re_.evaluate()
            return le.evaluate() and re_.evaluate()
        lists = [MAP.get(n) for n in self.names]
        if any(x is None for x in lists): return False
        for tup in itertools.product(*lists):
            try:
                if self.fn(*tup): return True
            except Exception:
                pass
        return False

def run(text, strict):
    exprs = []
    for line in text.splitlines():
        line = line.strip()
        if not line: continue
        try:
            exprs.append(Expr(line, strict))
        except Bad:
            return 'parse-error'
        except RecursionError:
            return 'parse-error'
    for e in exprs:
        for n in e.names:
            if n not in MAP: return 'cannot ' + n
    for i, e in enumerate(exprs):
        try:
            ok = e.evaluate()
        except Bad:
            return 'error %d' % i
        if not ok: return 'fail %d' % i
    return 'pass'

for path in sys.argv[1:]:
    try:
        data = open(path, 'rb').read().split(b'\0')[0]
    except OSError:
        continue
    try:
        text = data.decode('ascii')
    except UnicodeDecodeError:
        continue
    try:
        print('%s\t%s\t%s' % (path, run(text, False), run(text, True)))
    except Skip:
        pass
