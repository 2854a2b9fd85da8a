#!/usr/bin/env python3
"""
Generates random resource programs for the differential test: gen.py SEED
COUNT DIR writes COUNT files into DIR. Names, attributes and constants are
drawn from the resource map of driver.c/ref.py, with calls, lists,
tuples, chained comparisons, not/and/or, parentheses, strings holding
" or ", double blanks around operators and comments, so that both the
compat split and per-record evaluation are exercised.
"""
import random, os, sys
random.seed(int(sys.argv[1]))
names = ['p', 'q', 'cpuinfo', 'empty']
attrs = ['name', 'version', 'count', 'a', 'b', 'platform', 'f', 'zz']
strs = ["'fwts'", "'1.2'", "'10'", "'x'", "''", "'s390x'", "'this or that'", "'x86_64'", "' 8 '", "'4'", "'1e3'", "\"s390\"", "'a and b'", "'1.2' '0'", "r'\\d'", "'\\x34'"]
nums = ['0', '1', '4', '8', '10', '1.2', '1e3', '994', '0x10', 'True', 'False', 'None', '1_0', '.5']
def atom(d):
    r = random.random()
    if r < 0.45: return random.choice(names) + '.' + random.choice(attrs)
    if r < 0.6: return random.choice(strs)
    if r < 0.72: return random.choice(nums)
    if r < 0.8 and d > 0: return random.choice(['int', 'float', 'len', 'bool']) + '(' + atom(d - 1) + ')'
    if r < 0.88 and d > 0:
        n = random.randint(0, 3)
        items = ', '.join(atom(d - 1) for _ in range(n))
        if n == 0: return random.choice(['[]', '()'])
        return random.choice(['[%s]', '(%s)', '(%s,)']) % items
    if r < 0.92: return random.choice(names)
    return '(' + expr(d - 1) + ')' if d > 0 else random.choice(strs)
def cmp_(d):
    a = atom(d)
    for _ in range(random.choice([1, 1, 1, 2])):
        a += ' ' + random.choice(['==', '!=', '<', '<=', '>', '>=', 'in', 'not in', 'is', 'is not']) + ' ' + atom(d)
    return a
def expr(d):
    r = random.random()
    if r < 0.4 or d <= 0: return cmp_(d)
    if r < 0.5: return 'not ' + expr(d - 1)
    sep = random.choice([' and ', ' or ', '  or ', ' and  '][:2 if random.random() < 0.95 else 4])
    e = sep.join(expr(d - 1) for _ in range(random.randint(2, 3)))
    return '(' + e + ')' if random.random() < 0.3 else e
out = sys.argv[3]
os.makedirs(out, exist_ok=True)
for i in range(int(sys.argv[2])):
    lines = [expr(2) for _ in range(random.choice([1, 1, 1, 2]))]
    if random.random() < 0.05: lines[0] += ' # or comment'
    open(os.path.join(out, '%05d' % i), 'w').write('\n'.join(lines))
