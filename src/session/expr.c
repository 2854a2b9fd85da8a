/*
 * session/expr.c - resource programs (docs/plainbox.md §5): a tokenizer and
 * recursive-descent parser for the whitelisted Python subset, and an
 * evaluator over string-valued records with Python's comparison rules.
 *
 * This is not a Python interpreter: there is no arithmetic, no object
 * model and no allocation at evaluation time. Values are a small tagged
 * union; a list or tuple value is a reference to its syntax node whose
 * elements are (re)evaluated on demand, which is exact because evaluation
 * is pure. docs/expr.md has the grammar, the semantics and every
 * deviation from PlainBox.
 */
#include "base/common.h"

#include <math.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/str.h"
#include "base/utf8.h"
#include "session/expr.h"

/* ------------------------------------------------------------------ */
/* Tokens                                                              */
/* ------------------------------------------------------------------ */

enum tok_kind {
	T_END = 0,
	T_NAME,
	T_INT,
	T_FLOAT,
	T_STR,
	T_KW,
	T_OP,
};

/* Operators and punctuation (T_OP), in one enum for messages. */
enum op {
	OP_LPAR = 1,
	OP_RPAR,
	OP_LSQB,
	OP_RSQB,
	OP_LBRACE,
	OP_RBRACE,
	OP_COMMA,
	OP_DOT,
	OP_COLON,
	OP_SEMI,
	OP_ASSIGN, /* = */
	OP_WALRUS, /* := */
	OP_ARROW,  /* -> */
	OP_ELLIPSIS,
	OP_EQ,
	OP_NE,
	OP_LT,
	OP_GT,
	OP_LE,
	OP_GE,
	OP_PLUS,
	OP_MINUS,
	OP_STAR,
	OP_POW,
	OP_SLASH,
	OP_FLOORDIV,
	OP_PERCENT,
	OP_AT,
	OP_BITOR,
	OP_BITAND,
	OP_BITXOR,
	OP_TILDE,
	OP_LSHIFT,
	OP_RSHIFT,
	OP_AUGASSIGN, /* +=, -=, ... (always a syntax error here) */
	OP_COUNT_
};

static const char *const op_text[OP_COUNT_] = {
	[OP_LPAR] = "(",
	[OP_RPAR] = ")",
	[OP_LSQB] = "[",
	[OP_RSQB] = "]",
	[OP_LBRACE] = "{",
	[OP_RBRACE] = "}",
	[OP_COMMA] = ",",
	[OP_DOT] = ".",
	[OP_COLON] = ":",
	[OP_SEMI] = ";",
	[OP_ASSIGN] = "=",
	[OP_WALRUS] = ":=",
	[OP_ARROW] = "->",
	[OP_ELLIPSIS] = "...",
	[OP_EQ] = "==",
	[OP_NE] = "!=",
	[OP_LT] = "<",
	[OP_GT] = ">",
	[OP_LE] = "<=",
	[OP_GE] = ">=",
	[OP_PLUS] = "+",
	[OP_MINUS] = "-",
	[OP_STAR] = "*",
	[OP_POW] = "**",
	[OP_SLASH] = "/",
	[OP_FLOORDIV] = "//",
	[OP_PERCENT] = "%",
	[OP_AT] = "@",
	[OP_BITOR] = "|",
	[OP_BITAND] = "&",
	[OP_BITXOR] = "^",
	[OP_TILDE] = "~",
	[OP_LSHIFT] = "<<",
	[OP_RSHIFT] = ">>",
	[OP_AUGASSIGN] = "augmented assignment",
};

/* Python keywords; True/False/None are constants. */
enum kw {
	KW_FALSE = 1,
	KW_NONE,
	KW_TRUE,
	KW_AND,
	KW_AS,
	KW_ASSERT,
	KW_ASYNC,
	KW_AWAIT,
	KW_BREAK,
	KW_CLASS,
	KW_CONTINUE,
	KW_DEF,
	KW_DEL,
	KW_ELIF,
	KW_ELSE,
	KW_EXCEPT,
	KW_FINALLY,
	KW_FOR,
	KW_FROM,
	KW_GLOBAL,
	KW_IF,
	KW_IMPORT,
	KW_IN,
	KW_IS,
	KW_LAMBDA,
	KW_NONLOCAL,
	KW_NOT,
	KW_OR,
	KW_PASS,
	KW_RAISE,
	KW_RETURN,
	KW_TRY,
	KW_WHILE,
	KW_WITH,
	KW_YIELD,
	KW_COUNT_
};

static const char *const kw_text[KW_COUNT_] = {
	[KW_FALSE] = "False",
	[KW_NONE] = "None",
	[KW_TRUE] = "True",
	[KW_AND] = "and",
	[KW_AS] = "as",
	[KW_ASSERT] = "assert",
	[KW_ASYNC] = "async",
	[KW_AWAIT] = "await",
	[KW_BREAK] = "break",
	[KW_CLASS] = "class",
	[KW_CONTINUE] = "continue",
	[KW_DEF] = "def",
	[KW_DEL] = "del",
	[KW_ELIF] = "elif",
	[KW_ELSE] = "else",
	[KW_EXCEPT] = "except",
	[KW_FINALLY] = "finally",
	[KW_FOR] = "for",
	[KW_FROM] = "from",
	[KW_GLOBAL] = "global",
	[KW_IF] = "if",
	[KW_IMPORT] = "import",
	[KW_IN] = "in",
	[KW_IS] = "is",
	[KW_LAMBDA] = "lambda",
	[KW_NONLOCAL] = "nonlocal",
	[KW_NOT] = "not",
	[KW_OR] = "or",
	[KW_PASS] = "pass",
	[KW_RAISE] = "raise",
	[KW_RETURN] = "return",
	[KW_TRY] = "try",
	[KW_WHILE] = "while",
	[KW_WITH] = "with",
	[KW_YIELD] = "yield",
};

struct tok {
	uint8_t kind;  /* enum tok_kind */
	uint8_t code;  /* enum op or enum kw */
	uint16_t col;  /* 1-based byte column */
	uint32_t len;  /* bytes of source (NAME: the name) */
	const char *p; /* source (NAME) or decoded bytes (STR) */
	size_t slen;   /* STR: decoded length */
	int64_t i;     /* T_INT */
	double f;      /* T_FLOAT */
};

/* Parse state for one expression text. */
struct parser {
	const char *s; /* the expression text (one line) */
	size_t n;
	struct pt_arena *arena;
	struct tok *toks;
	size_t ntoks;
	size_t tcap;
	size_t pos;
	unsigned depth;
	unsigned nodes;
	bool comment; /* tokenizer met a '#' */
	/* The first error: */
	enum pt_expr_errkind ekind;
	unsigned ecol;
	char emsg[160];
};

static int perr(struct parser *ps, enum pt_expr_errkind kind, unsigned col,
		const char *fmt, ...) PT_PRINTF(4, 5);

static int perr(struct parser *ps, enum pt_expr_errkind kind, unsigned col,
		const char *fmt, ...)
{
	va_list ap;

	if (ps->ekind)
		return -1;
	ps->ekind = kind;
	ps->ecol = col;
	va_start(ap, fmt);
	vsnprintf(ps->emsg, sizeof(ps->emsg), fmt, ap);
	va_end(ap);
	return -1;
}

static bool is_name_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       c >= 0x80;
}

static bool is_name_char(unsigned char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

/* memmem without _GNU_SOURCE. */
static const char *find_bytes(const char *h, size_t hn, const char *nd,
			      size_t nn)
{
	if (nn == 0)
		return h;
	for (size_t i = 0; i + nn <= hn; i++)
		if (h[i] == nd[0] && memcmp(h + i, nd, nn) == 0)
			return h + i;
	return NULL;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Lexes a string literal at s[*i] (the opening quote); prefix flags
 * already consumed. Appends the decoded value to b. Returns 0 or -1.
 */
static int lex_string(struct parser *ps, size_t *i, bool raw, struct pt_buf *b)
{
	const char *s = ps->s;
	size_t start = *i, j = *i;
	char q = s[j];
	bool triple = j + 2 < ps->n && s[j + 1] == q && s[j + 2] == q;
	size_t ql = triple ? 3 : 1;

	j += ql;
	for (;;) {
		if (j >= ps->n)
			return perr(ps, PT_EXPR_ERR_SYNTAX, (unsigned)start + 1,
				    "unterminated string literal");
		if (s[j] == q && (!triple || (j + 2 < ps->n && s[j + 1] == q &&
					      s[j + 2] == q))) {
			j += ql;
			break;
		}
		if (s[j] != '\\') {
			if (pt__buf_addch(b, s[j]) < 0)
				goto nomem;
			j++;
			continue;
		}
		/* A backslash. */
		if (j + 1 >= ps->n)
			return perr(ps, PT_EXPR_ERR_SYNTAX, (unsigned)start + 1,
				    "unterminated string literal");
		if (raw) {
			/* The backslash stays; it only protects the quote. */
			if (pt__buf_add(b, s + j, 2) < 0)
				goto nomem;
			j += 2;
			continue;
		}
		char c = s[j + 1];
		int r = 0;
		j += 2;
		switch (c) {
		case '\\':
			r = pt__buf_addch(b, '\\');
			break;
		case '\'':
			r = pt__buf_addch(b, '\'');
			break;
		case '"':
			r = pt__buf_addch(b, '"');
			break;
		case 'a':
			r = pt__buf_addch(b, '\a');
			break;
		case 'b':
			r = pt__buf_addch(b, '\b');
			break;
		case 'f':
			r = pt__buf_addch(b, '\f');
			break;
		case 'n':
			r = pt__buf_addch(b, '\n');
			break;
		case 'r':
			r = pt__buf_addch(b, '\r');
			break;
		case 't':
			r = pt__buf_addch(b, '\t');
			break;
		case 'v':
			r = pt__buf_addch(b, '\v');
			break;
		case '0':
		case '1':
		case '2':
		case '3':
		case '4':
		case '5':
		case '6':
		case '7': {
			uint32_t v = (uint32_t)(c - '0');
			for (int k = 0;
			     k < 2 && j < ps->n && s[j] >= '0' && s[j] <= '7';
			     k++)
				v = v * 8 + (uint32_t)(s[j++] - '0');
			r = pt__utf8_put(b, v);
			break;
		}
		case 'x':
		case 'u':
		case 'U': {
			int nd = c == 'x' ? 2 : c == 'u' ? 4 : 8;
			uint32_t v = 0;
			for (int k = 0; k < nd; k++) {
				int h = j < ps->n ? hexval(s[j]) : -1;
				if (h < 0)
					return perr(
						ps, PT_EXPR_ERR_SYNTAX,
						(unsigned)(j - 2 - (size_t)k) +
							1,
						"truncated \\%c escape in string literal",
						c);
				v = v * 16 + (uint32_t)h;
				j++;
			}
			if (v > 0x10ffff)
				return perr(
					ps, PT_EXPR_ERR_SYNTAX,
					(unsigned)(j - (size_t)nd - 2) + 1,
					"illegal Unicode character in \\U escape");
			r = pt__utf8_put(b, v);
			break;
		}
		case 'N':
			return perr(ps, PT_EXPR_ERR_NOT_ALLOWED,
				    (unsigned)(j - 2) + 1,
				    "\\N{...} escapes are not supported");
		default:
			/* Unknown escape: Python keeps the backslash. */
			r = pt__buf_add(b, s + j - 2, 2);
			break;
		}
		if (r < 0)
			goto nomem;
	}
	*i = j;
	return 0;
nomem:
	return perr(ps, PT_EXPR_ERR_NOMEM, 0, "out of memory");
}

/* Copies digits of s[a..b) without '_' into d (size dn); false if long. */
static bool copy_digits(const char *s, size_t a, size_t b, char *d, size_t dn,
			size_t *dl)
{
	for (size_t k = a; k < b; k++) {
		if (s[k] == '_')
			continue;
		if (*dl + 1 >= dn)
			return false;
		d[(*dl)++] = s[k];
	}
	d[*dl] = '\0';
	return true;
}

/*
 * Scans a run of digits (per isdig) with single '_' between digits.
 * Returns the end, or (size_t)-1 on a misplaced underscore.
 */
static size_t scan_digits(const char *s, size_t n, size_t j,
			  bool (*isdig)(char))
{
	while (j < n) {
		if (isdig(s[j])) {
			j++;
		} else if (s[j] == '_' && j + 1 < n && isdig(s[j + 1]) &&
			   j > 0 && isdig(s[j - 1])) {
			j++;
		} else {
			break;
		}
	}
	if (j < n && s[j] == '_')
		return (size_t)-1;
	return j;
}

static bool dig10(char c)
{
	return c >= '0' && c <= '9';
}
static bool dig16(char c)
{
	return hexval(c) >= 0;
}
static bool dig8(char c)
{
	return c >= '0' && c <= '7';
}
static bool dig2(char c)
{
	return c == '0' || c == '1';
}

/*
 * Converts a decimal mantissa (digits, optional '.') and exponent to a
 * double without depending on the locale's decimal point: the point is
 * removed and the exponent adjusted, then strtod reads "DIGITSeEXP".
 */
static bool decimal_to_double(const char *mant, size_t ml, long exp,
			      double *ret)
{
	char buf[400];
	size_t bl = 0;
	long frac = 0;
	bool seen_point = false;

	for (size_t k = 0; k < ml; k++) {
		if (mant[k] == '.') {
			seen_point = true;
			continue;
		}
		if (bl + 1 >= sizeof(buf) - 32)
			return false;
		buf[bl++] = mant[k];
		if (seen_point)
			frac++;
	}
	if (bl == 0)
		buf[bl++] = '0';
	if (exp > 100000 || exp < -100000)
		exp = exp > 0 ? 100000 : -100000;
	snprintf(buf + bl, sizeof(buf) - bl, "e%ld", exp - frac);
	*ret = strtod(buf, NULL);
	return true;
}

/* Lexes a number at s[*i]. */
static int lex_number(struct parser *ps, size_t *i, struct tok *t)
{
	const char *s = ps->s;
	size_t n = ps->n, j = *i, start = *i;
	unsigned col = (unsigned)start + 1;

	if (s[j] == '0' && j + 1 < n && strchr("xXoObB", s[j + 1])) {
		char kind = (char)(s[j + 1] | 0x20);
		bool (*isdig)(char) = kind == 'x'   ? dig16
				      : kind == 'o' ? dig8
						    : dig2;
		int base = kind == 'x' ? 16 : kind == 'o' ? 8 : 2;
		size_t a = j + 2;
		if (a < n && s[a] == '_')
			a++;
		if (a >= n || !isdig(s[a]))
			return perr(ps, PT_EXPR_ERR_SYNTAX, col,
				    "invalid number literal");
		size_t e = scan_digits(s, n, a, isdig);
		if (e == (size_t)-1 ||
		    (e < n && is_name_char((unsigned char)s[e])))
			return perr(ps, PT_EXPR_ERR_SYNTAX, col,
				    "invalid number literal");
		uint64_t v = 0;
		for (size_t k = a; k < e; k++) {
			if (s[k] == '_')
				continue;
			uint64_t d = (uint64_t)hexval(s[k]);
			if (v >
			    (UINT64_C(0x7fffffffffffffff) - d) / (uint64_t)base)
				return perr(
					ps, PT_EXPR_ERR_LIMIT, col,
					"integer constant too large (more than 64 bits)");
			v = v * (uint64_t)base + d;
		}
		t->kind = T_INT;
		t->i = (int64_t)v;
		*i = e;
		return 0;
	}

	/* Decimal integer or float: int part, '.', fraction, exponent. */
	size_t ie = j, fs = 0, fe = 0;
	bool is_float = false;
	if (dig10(s[j])) {
		ie = scan_digits(s, n, j, dig10);
		if (ie == (size_t)-1)
			return perr(ps, PT_EXPR_ERR_SYNTAX, col,
				    "invalid decimal literal");
	}
	size_t e = ie;
	if (e < n && s[e] == '.') {
		is_float = true;
		fs = e + 1;
		fe = fs;
		if (fe < n && dig10(s[fe])) {
			fe = scan_digits(s, n, fe, dig10);
			if (fe == (size_t)-1)
				return perr(ps, PT_EXPR_ERR_SYNTAX, col,
					    "invalid decimal literal");
		}
		e = fe;
	}
	long exp = 0;
	if (e < n && (s[e] == 'e' || s[e] == 'E')) {
		size_t k = e + 1;
		bool neg = false;
		if (k < n && (s[k] == '+' || s[k] == '-'))
			neg = s[k++] == '-';
		if (k >= n || !dig10(s[k]))
			return perr(ps, PT_EXPR_ERR_SYNTAX, col,
				    "invalid decimal literal");
		size_t ke = scan_digits(s, n, k, dig10);
		if (ke == (size_t)-1)
			return perr(ps, PT_EXPR_ERR_SYNTAX, col,
				    "invalid decimal literal");
		for (; k < ke; k++) {
			if (s[k] == '_')
				continue;
			if (exp < 1000000)
				exp = exp * 10 + (s[k] - '0');
		}
		if (neg)
			exp = -exp;
		is_float = true;
		e = ke;
	}
	if (e < n && (s[e] == 'j' || s[e] == 'J'))
		return perr(ps, PT_EXPR_ERR_NOT_ALLOWED, col,
			    "complex number constants are not allowed");
	if (e < n && is_name_char((unsigned char)s[e]))
		return perr(ps, PT_EXPR_ERR_SYNTAX, col,
			    "invalid decimal literal");
	char mant[400];
	size_t ml = 0;
	if (!copy_digits(s, start, is_float && fs ? fe : ie, mant, sizeof(mant),
			 &ml))
		return perr(ps, PT_EXPR_ERR_LIMIT, col,
			    "number constant too long");
	if (!is_float) {
		/* "0123" is a syntax error in Python 3; "000" is fine. */
		if (ml > 1 && mant[0] == '0') {
			for (size_t k = 0; k < ml; k++)
				if (mant[k] != '0')
					return perr(
						ps, PT_EXPR_ERR_SYNTAX, col,
						"leading zeros in decimal integer literals are not permitted");
		}
		uint64_t v = 0;
		for (size_t k = 0; k < ml; k++) {
			uint64_t d = (uint64_t)(mant[k] - '0');
			if (v > (UINT64_C(0x7fffffffffffffff) - d) / 10)
				return perr(
					ps, PT_EXPR_ERR_LIMIT, col,
					"integer constant too large (more than 64 bits)");
			v = v * 10 + d;
		}
		t->kind = T_INT;
		t->i = (int64_t)v;
	} else {
		if (!decimal_to_double(mant, ml, exp, &t->f))
			return perr(ps, PT_EXPR_ERR_LIMIT, col,
				    "number constant too long");
		t->kind = T_FLOAT;
	}
	*i = e;
	return 0;
}

struct opdef {
	const char *text;
	uint8_t op;
};

/* Longest first. */
static const struct opdef ops3[] = {
	{ "...", OP_ELLIPSIS },	 { "**=", OP_AUGASSIGN },
	{ "//=", OP_AUGASSIGN }, { "<<=", OP_AUGASSIGN },
	{ ">>=", OP_AUGASSIGN },
};
static const struct opdef ops2[] = {
	{ "==", OP_EQ },	{ "!=", OP_NE },	{ "<=", OP_LE },
	{ ">=", OP_GE },	{ ":=", OP_WALRUS },	{ "->", OP_ARROW },
	{ "**", OP_POW },	{ "//", OP_FLOORDIV },	{ "<<", OP_LSHIFT },
	{ ">>", OP_RSHIFT },	{ "+=", OP_AUGASSIGN }, { "-=", OP_AUGASSIGN },
	{ "*=", OP_AUGASSIGN }, { "/=", OP_AUGASSIGN }, { "%=", OP_AUGASSIGN },
	{ "@=", OP_AUGASSIGN }, { "&=", OP_AUGASSIGN }, { "|=", OP_AUGASSIGN },
	{ "^=", OP_AUGASSIGN },
};
static const struct opdef ops1[] = {
	{ "(", OP_LPAR },   { ")", OP_RPAR },	{ "[", OP_LSQB },
	{ "]", OP_RSQB },   { "{", OP_LBRACE }, { "}", OP_RBRACE },
	{ ",", OP_COMMA },  { ".", OP_DOT },	{ ":", OP_COLON },
	{ ";", OP_SEMI },   { "=", OP_ASSIGN }, { "<", OP_LT },
	{ ">", OP_GT },	    { "+", OP_PLUS },	{ "-", OP_MINUS },
	{ "*", OP_STAR },   { "/", OP_SLASH },	{ "%", OP_PERCENT },
	{ "@", OP_AT },	    { "|", OP_BITOR },	{ "&", OP_BITAND },
	{ "^", OP_BITXOR }, { "~", OP_TILDE },
};

static int match_op(const char *s, size_t left)
{
	for (size_t k = 0; k < PT_ARRAY_SIZE(ops3); k++)
		if (left >= 3 && memcmp(s, ops3[k].text, 3) == 0)
			return (int)(k | 0x300);
	for (size_t k = 0; k < PT_ARRAY_SIZE(ops2); k++)
		if (left >= 2 && memcmp(s, ops2[k].text, 2) == 0)
			return (int)(k | 0x200);
	for (size_t k = 0; k < PT_ARRAY_SIZE(ops1); k++)
		if (s[0] == ops1[k].text[0])
			return (int)(k | 0x100);
	return -1;
}

static int kw_lookup(const char *p, size_t len)
{
	if (len < 2 || len > 8)
		return 0;
	for (int k = 1; k < KW_COUNT_; k++)
		if (kw_text[k][0] == p[0] && strncmp(kw_text[k], p, len) == 0 &&
		    kw_text[k][len] == '\0')
			return k;
	return 0;
}

/* String prefix letters before a quote: returns true for a valid prefix. */
static bool string_prefix(const char *p, size_t len, bool *raw, bool *bytes,
			  bool *fmt)
{
	*raw = *bytes = *fmt = false;
	if (len == 0 || len > 2)
		return false;
	bool u = false;
	for (size_t k = 0; k < len; k++) {
		char c = (char)(p[k] | 0x20);
		if (c == 'r' && !*raw)
			*raw = true;
		else if (c == 'b' && !*bytes && !*fmt && !u)
			*bytes = true;
		else if (c == 'f' && !*fmt && !*bytes && !u)
			*fmt = true;
		else if (c == 'u' && len == 1)
			u = true;
		else
			return false;
	}
	return true;
}

/*
 * One string token at s[*i] (prefix letters or a quote): the literal and
 * any adjacent literals, concatenated as Python does ('a' "b" == 'ab').
 */
static int lex_string_token(struct parser *ps, size_t *i, struct pt_buf *b,
			    struct tok *t)
{
	const char *s = ps->s;
	size_t n = ps->n, j = *i;

	pt__buf_reset(b);
	for (bool first = true;; first = false) {
		size_t k = j;
		bool raw = false, bytes = false, fmt = false;
		while (k < n && is_name_char((unsigned char)s[k]))
			k++;
		if (!(k < n && (s[k] == '\'' || s[k] == '"')) ||
		    (k > j &&
		     !string_prefix(s + j, k - j, &raw, &bytes, &fmt))) {
			if (first)
				return perr(ps, PT_EXPR_ERR_SYNTAX,
					    (unsigned)j + 1, "invalid string");
			break;
		}
		if (bytes)
			return perr(ps, PT_EXPR_ERR_NOT_ALLOWED,
				    (unsigned)j + 1,
				    "bytes constants are not allowed");
		if (fmt)
			return perr(ps, PT_EXPR_ERR_NOT_ALLOWED,
				    (unsigned)j + 1,
				    "f-strings are not allowed");
		if (lex_string(ps, &k, raw, b) < 0)
			return -1;
		*i = k;
		/* Skip blanks to look for an adjacent literal. */
		j = k;
		while (j < n && (s[j] == ' ' || s[j] == '\t' || s[j] == '\f'))
			j++;
	}
	t->kind = T_STR;
	t->slen = b->len;
	t->p = pt__arena_memdup(ps->arena, b->s, b->len + 1);
	if (!t->p)
		return perr(ps, PT_EXPR_ERR_NOMEM, 0, "out of memory");
	return 0;
}

static int push_tok(struct parser *ps, const struct tok *t)
{
	if (ps->ntoks == ps->tcap) {
		size_t nc = ps->tcap ? ps->tcap * 2 : 32;
		struct tok *nt = pt__realloc_array(ps->toks, nc, sizeof(*nt));
		if (!nt)
			return perr(ps, PT_EXPR_ERR_NOMEM, 0, "out of memory");
		ps->toks = nt;
		ps->tcap = nc;
	}
	ps->toks[ps->ntoks++] = *t;
	return 0;
}

/* Tokenizes ps->s into ps->toks. */
static int tokenize(struct parser *ps)
{
	const char *s = ps->s;
	size_t n = ps->n, i = 0;
	struct pt_buf b = PT_BUF_INIT;
	int r = -1;

	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		struct tok t = { 0 };
		t.col = (uint16_t)(i + 1);

		if (c == ' ' || c == '\t' || c == '\f') {
			i++;
			continue;
		}
		if (c == '#') {
			ps->comment = true;
			break; /* a comment runs to the end of the line */
		}
		if (c == '\\') {
			perr(ps, PT_EXPR_ERR_SYNTAX, (unsigned)i + 1,
			     "unexpected character after line continuation character");
			goto out;
		}
		if (is_name_start(c)) {
			size_t j = i;
			while (j < n && is_name_char((unsigned char)s[j]))
				j++;
			if (j < n && (s[j] == '\'' || s[j] == '"')) {
				bool raw, bytes, fmt;
				if (string_prefix(s + i, j - i, &raw, &bytes,
						  &fmt)) {
					if (lex_string_token(ps, &i, &b, &t) <
					    0)
						goto out;
					if (push_tok(ps, &t) < 0)
						goto out;
					continue;
				}
			}
			t.kind = T_NAME;
			t.p = s + i;
			t.len = (uint32_t)(j - i);
			int kw = kw_lookup(t.p, t.len);
			if (kw) {
				t.kind = T_KW;
				t.code = (uint8_t)kw;
			}
			i = j;
			if (push_tok(ps, &t) < 0)
				goto out;
			continue;
		}
		if (c == '\'' || c == '"') {
			if (lex_string_token(ps, &i, &b, &t) < 0)
				goto out;
			if (push_tok(ps, &t) < 0)
				goto out;
			continue;
		}
		if (dig10((char)c) ||
		    (c == '.' && i + 1 < n && dig10(s[i + 1]))) {
			if (lex_number(ps, &i, &t) < 0)
				goto out;
			if (push_tok(ps, &t) < 0)
				goto out;
			continue;
		}
		int m = match_op(s + i, n - i);
		if (m < 0) {
			if (c == '!')
				perr(ps, PT_EXPR_ERR_SYNTAX, (unsigned)i + 1,
				     "invalid syntax: '!' (use 'not' or '!=')");
			else if (c >= 0x20 && c < 0x7f)
				perr(ps, PT_EXPR_ERR_SYNTAX, (unsigned)i + 1,
				     "invalid character '%c'", c);
			else
				perr(ps, PT_EXPR_ERR_SYNTAX, (unsigned)i + 1,
				     "invalid character 0x%02x", c);
			goto out;
		}
		const struct opdef *od = (m >> 8) == 3	 ? &ops3[m & 0xff]
					 : (m >> 8) == 2 ? &ops2[m & 0xff]
							 : &ops1[m & 0xff];
		t.kind = T_OP;
		t.code = od->op;
		t.len = (uint32_t)strlen(od->text);
		i += t.len;
		if (push_tok(ps, &t) < 0)
			goto out;
	}
	{
		struct tok end = { 0 };
		end.kind = T_END;
		end.col = (uint16_t)(n + 1);
		if (push_tok(ps, &end) < 0)
			goto out;
	}
	r = 0;
out:
	pt__buf_release(&b);
	return r;
}

/* ------------------------------------------------------------------ */
/* Syntax tree and values                                              */
/* ------------------------------------------------------------------ */

enum nkind {
	N_CONST = 1,
	N_NAME,
	N_ATTR,
	N_CALL,
	N_CMP,
	N_AND,
	N_OR,
	N_NOT,
	N_LIST,
	N_TUPLE,
	/* Parsed so that errors can name them, rejected by check(): */
	N_BINOP,
	N_UNARY,
	N_DICT,
	N_SET,
};

/* Comparison operators (N_CMP). */
enum cmpop {
	C_EQ = 1,
	C_NE,
	C_LT,
	C_LE,
	C_GT,
	C_GE,
	C_IN,
	C_NOTIN,
	C_IS,
	C_ISNOT,
};

/*
 * Shapes of two-operand comparisons that most real expressions have,
 * evaluated without recursion (N_CMP.fast). "attr" is NAME.attr of a
 * bound resource; "str" a str constant without NUL bytes.
 */
enum fast {
	FAST_NONE = 0,
	FAST_ATTR_EQ_STR,  /* attr == str, attr != str (either side) */
	FAST_ATTR_IN_STRS, /* attr in / not in [constants] or (constants) */
	FAST_STR_IN_ATTR,  /* str in / not in attr (substring) */
};

/* Allowed functions (N_CALL.op). */
enum func {
	F_OTHER = 0,
	F_LEN,
	F_BOOL,
	F_INT,
	F_FLOAT,
};

enum vtype {
	V_NONE = 0,
	V_BOOL,
	V_INT,
	V_FLOAT,
	V_STR,
	V_LIST,
	V_TUPLE,
	V_REC,
};

struct node;

struct val {
	uint8_t t;     /* enum vtype */
	uint8_t konst; /* a constant of the code (for `is`, see val_is) */
	union {
		int64_t i; /* V_BOOL (0/1), V_INT */
		double f;
		struct {
			const char *p;
			size_t n;
		} s;
		const struct node *seq; /* V_LIST, V_TUPLE */
		const struct pt_expr_record *rec;
	};
};

struct node {
	uint8_t kind; /* enum nkind */
	uint8_t op;   /* N_CALL: enum func; N_BINOP/N_UNARY: enum op */
	bool pure;    /* N_LIST/N_TUPLE: elements cannot raise */
	bool konst;   /* N_TUPLE of constants: CPython folds it to one */
	uint8_t fast; /* N_CMP: enum fast, a shape evaluated directly */
	uint16_t col;
	int16_t alias; /* N_NAME: alias index, -1 when unbound */
	uint32_t n;    /* children */
	struct node **kids;
	uint8_t *cmps;	  /* N_CMP: n - 1 operators */
	const char *name; /* N_NAME, N_ATTR (attribute), N_CALL (function) */
	const struct node *callee; /* N_CALL: what is called (for messages) */
	uint32_t name_len;
	struct val c; /* N_CONST */
};

static struct node *new_node(struct parser *ps, enum nkind kind, unsigned col)
{
	struct node *nd;

	if (++ps->nodes > PT_EXPR_MAX_NODES) {
		perr(ps, PT_EXPR_ERR_LIMIT, col,
		     "expression has more than %d syntax nodes",
		     PT_EXPR_MAX_NODES);
		return NULL;
	}
	nd = pt__arena_zalloc(ps->arena, sizeof(*nd));
	if (!nd) {
		perr(ps, PT_EXPR_ERR_NOMEM, 0, "out of memory");
		return NULL;
	}
	nd->kind = (uint8_t)kind;
	nd->col = (uint16_t)col;
	nd->alias = -1;
	return nd;
}

/* Growable child list during parsing, copied to the arena when done. */
struct kids {
	struct node *v[8];
	struct node **heap;
	size_t n, cap;
};

static int kids_push(struct parser *ps, struct kids *k, struct node *nd)
{
	if (k->n < PT_ARRAY_SIZE(k->v) && !k->heap) {
		k->v[k->n++] = nd;
		return 0;
	}
	if (!k->heap) {
		k->cap = 32;
		k->heap = pt__malloc_array(k->cap, sizeof(*k->heap));
		if (!k->heap)
			return perr(ps, PT_EXPR_ERR_NOMEM, 0, "out of memory");
		memcpy(k->heap, k->v, k->n * sizeof(*k->heap));
	} else if (k->n == k->cap) {
		struct node **nh =
			pt__realloc_array(k->heap, k->cap * 2, sizeof(*nh));
		if (!nh)
			return perr(ps, PT_EXPR_ERR_NOMEM, 0, "out of memory");
		k->heap = nh;
		k->cap *= 2;
	}
	k->heap[k->n++] = nd;
	return 0;
}

static int kids_finish(struct parser *ps, struct kids *k, struct node *nd)
{
	struct node **src = k->heap ? k->heap : k->v;

	nd->n = (uint32_t)k->n;
	if (k->n) {
		nd->kids = pt__arena_memdup(ps->arena, src,
					    k->n * sizeof(*nd->kids));
		if (!nd->kids) {
			pt__free(k->heap);
			k->heap = NULL;
			return perr(ps, PT_EXPR_ERR_NOMEM, 0, "out of memory");
		}
	}
	pt__free(k->heap);
	k->heap = NULL;
	return 0;
}

static void kids_release(struct kids *k)
{
	pt__free(k->heap);
	k->heap = NULL;
}

/* ------------------------------------------------------------------ */
/* Parser (Python's expression grammar, precedence climbing)           */
/* ------------------------------------------------------------------ */

static const struct tok *peek(struct parser *ps)
{
	return &ps->toks[ps->pos];
}

static bool is_op(const struct tok *t, enum op op)
{
	return t->kind == T_OP && t->code == op;
}

static bool is_kw(const struct tok *t, enum kw kw)
{
	return t->kind == T_KW && t->code == kw;
}

static const char *tok_desc(const struct tok *t, char *buf, size_t n)
{
	switch (t->kind) {
	case T_END:
		return "end of expression";
	case T_NAME:
		snprintf(buf, n, "name '%.*s'", (int)PT_MIN(t->len, 40u), t->p);
		return buf;
	case T_INT:
	case T_FLOAT:
		return "number";
	case T_STR:
		return "string";
	case T_KW:
		snprintf(buf, n, "keyword '%s'", kw_text[t->code]);
		return buf;
	default:
		snprintf(buf, n, "'%s'", op_text[t->code]);
		return buf;
	}
}

static int unexpected(struct parser *ps, const struct tok *t)
{
	char b[64];

	if (t->kind == T_KW) {
		switch (t->code) {
		case KW_LAMBDA:
			return perr(ps, PT_EXPR_ERR_NOT_ALLOWED, t->col,
				    "lambda is not allowed");
		case KW_AWAIT:
		case KW_YIELD:
			return perr(ps, PT_EXPR_ERR_NOT_ALLOWED, t->col,
				    "'%s' is not allowed", kw_text[t->code]);
		case KW_IF:
			return perr(
				ps, PT_EXPR_ERR_NOT_ALLOWED, t->col,
				"conditional expression ('if ... else') is not allowed");
		case KW_FOR:
		case KW_ASYNC:
			return perr(ps, PT_EXPR_ERR_NOT_ALLOWED, t->col,
				    "comprehension is not allowed");
		default:
			break;
		}
	}
	if (t->kind == T_OP) {
		switch (t->code) {
		case OP_WALRUS:
			return perr(
				ps, PT_EXPR_ERR_NOT_ALLOWED, t->col,
				"assignment expression (':=') is not allowed");
		case OP_ASSIGN:
		case OP_AUGASSIGN:
			return perr(ps, PT_EXPR_ERR_NOT_ALLOWED, t->col,
				    "assignment is not allowed");
		case OP_SEMI:
			return perr(ps, PT_EXPR_ERR_SYNTAX, t->col,
				    "';': one expression per line");
		case OP_STAR:
			return perr(ps, PT_EXPR_ERR_NOT_ALLOWED, t->col,
				    "starred expression is not allowed");
		case OP_POW:
			return perr(ps, PT_EXPR_ERR_NOT_ALLOWED, t->col,
				    "'**' is not allowed");
		case OP_ELLIPSIS:
			return perr(ps, PT_EXPR_ERR_NOT_ALLOWED, t->col,
				    "Ellipsis ('...') is not allowed");
		default:
			break;
		}
	}
	return perr(ps, PT_EXPR_ERR_SYNTAX, t->col,
		    "invalid syntax: unexpected %s", tok_desc(t, b, sizeof(b)));
}

static int expect(struct parser *ps, enum op op)
{
	const struct tok *t = peek(ps);

	if (!is_op(t, op)) {
		char b[64];
		if (t->kind == T_KW ||
		    (t->kind == T_OP && t->code != OP_RPAR &&
		     t->code != OP_RSQB && t->code != OP_RBRACE &&
		     t->code != OP_COMMA)) {
			unexpected(ps, t);
			return -1;
		}
		return perr(ps, PT_EXPR_ERR_SYNTAX, t->col,
			    "invalid syntax: expected '%s', found %s",
			    op_text[op], tok_desc(t, b, sizeof(b)));
	}
	ps->pos++;
	return 0;
}

static struct node *parse_test(struct parser *ps);

static bool enter(struct parser *ps, unsigned col)
{
	if (++ps->depth > PT_EXPR_MAX_DEPTH) {
		perr(ps, PT_EXPR_ERR_LIMIT, col,
		     "expression nested deeper than %d", PT_EXPR_MAX_DEPTH);
		return false;
	}
	return true;
}

/*
 * A comma-separated sequence up to close (already past the opener).
 * Returns the number of items and whether a comma was seen.
 */
static int parse_seq(struct parser *ps, enum op close, struct kids *k,
		     bool *ret_comma)
{
	*ret_comma = false;
	while (!is_op(peek(ps), close)) {
		struct node *e = parse_test(ps);
		if (!e || kids_push(ps, k, e) < 0)
			return -1;
		if (is_kw(peek(ps), KW_FOR) || is_kw(peek(ps), KW_ASYNC))
			return unexpected(ps, peek(ps));
		if (is_op(peek(ps), OP_COMMA)) {
			*ret_comma = true;
			ps->pos++;
			continue;
		}
		break;
	}
	return expect(ps, close);
}

static struct node *parse_atom(struct parser *ps)
{
	const struct tok *t = peek(ps);
	struct node *nd = NULL;
	struct kids k = { 0 };
	bool comma;

	switch (t->kind) {
	case T_NAME:
		nd = new_node(ps, N_NAME, t->col);
		if (!nd)
			return NULL;
		nd->name = t->p;
		nd->name_len = t->len;
		ps->pos++;
		return nd;
	case T_INT:
	case T_FLOAT:
	case T_STR:
		nd = new_node(ps, N_CONST, t->col);
		if (!nd)
			return NULL;
		nd->c.konst = 1;
		if (t->kind == T_INT) {
			nd->c.t = V_INT;
			nd->c.i = t->i;
		} else if (t->kind == T_FLOAT) {
			nd->c.t = V_FLOAT;
			nd->c.f = t->f;
		} else {
			nd->c.t = V_STR;
			nd->c.s.p = t->p;
			nd->c.s.n = t->slen;
		}
		ps->pos++;
		return nd;
	case T_KW:
		if (t->code == KW_TRUE || t->code == KW_FALSE ||
		    t->code == KW_NONE) {
			nd = new_node(ps, N_CONST, t->col);
			if (!nd)
				return NULL;
			nd->c.konst = 1;
			nd->c.t = t->code == KW_NONE ? V_NONE : V_BOOL;
			nd->c.i = t->code == KW_TRUE;
			ps->pos++;
			return nd;
		}
		unexpected(ps, t);
		return NULL;
	case T_OP:
		break;
	default:
		unexpected(ps, t);
		return NULL;
	}

	unsigned col = t->col;
	switch (t->code) {
	case OP_LPAR:
		if (!enter(ps, col))
			return NULL;
		ps->pos++;
		if (is_kw(peek(ps), KW_YIELD)) {
			unexpected(ps, peek(ps));
			return NULL;
		}
		if (parse_seq(ps, OP_RPAR, &k, &comma) < 0)
			goto fail;
		ps->depth--;
		if (k.n == 1 && !comma) {
			/* "(x)" is x: ("s390x") is a str, not a tuple. */
			nd = k.heap ? k.heap[0] : k.v[0];
			kids_release(&k);
			return nd;
		}
		nd = new_node(ps, N_TUPLE, col);
		if (!nd || kids_finish(ps, &k, nd) < 0)
			goto fail;
		return nd;
	case OP_LSQB:
		if (!enter(ps, col))
			return NULL;
		ps->pos++;
		if (parse_seq(ps, OP_RSQB, &k, &comma) < 0)
			goto fail;
		ps->depth--;
		nd = new_node(ps, N_LIST, col);
		if (!nd || kids_finish(ps, &k, nd) < 0)
			goto fail;
		return nd;
	case OP_LBRACE: {
		/* Parsed far enough to name it in the error. */
		if (!enter(ps, col))
			return NULL;
		ps->pos++;
		bool dict = is_op(peek(ps), OP_RBRACE);
		while (!is_op(peek(ps), OP_RBRACE)) {
			if (is_op(peek(ps), OP_POW)) {
				dict = true;
				ps->pos++;
			}
			struct node *e = parse_test(ps);
			if (!e || kids_push(ps, &k, e) < 0)
				goto fail;
			if (is_op(peek(ps), OP_COLON)) {
				dict = true;
				ps->pos++;
				e = parse_test(ps);
				if (!e || kids_push(ps, &k, e) < 0)
					goto fail;
			}
			if (is_kw(peek(ps), KW_FOR)) {
				unexpected(ps, peek(ps));
				goto fail;
			}
			if (!is_op(peek(ps), OP_COMMA))
				break;
			ps->pos++;
		}
		if (expect(ps, OP_RBRACE) < 0)
			goto fail;
		ps->depth--;
		nd = new_node(ps, dict ? N_DICT : N_SET, col);
		if (!nd || kids_finish(ps, &k, nd) < 0)
			goto fail;
		return nd;
	}
	default:
		unexpected(ps, t);
		return NULL;
	}
fail:
	kids_release(&k);
	return NULL;
}

static struct node *parse_primary(struct parser *ps)
{
	struct node *nd = parse_atom(ps);

	while (nd) {
		const struct tok *t = peek(ps);
		if (is_op(t, OP_DOT)) {
			const struct tok *a = &ps->toks[ps->pos + 1];
			if (a->kind != T_NAME) {
				char b[64];
				perr(ps, PT_EXPR_ERR_SYNTAX, a->col,
				     "invalid syntax: expected an attribute name after '.', found %s",
				     tok_desc(a, b, sizeof(b)));
				return NULL;
			}
			struct node *at = new_node(ps, N_ATTR, a->col);
			if (!at)
				return NULL;
			at->name = a->p;
			at->name_len = a->len;
			at->n = 1;
			at->kids = pt__arena_memdup(ps->arena, &nd, sizeof(nd));
			if (!at->kids) {
				perr(ps, PT_EXPR_ERR_NOMEM, 0, "out of memory");
				return NULL;
			}
			ps->pos += 2;
			nd = at;
		} else if (is_op(t, OP_LPAR)) {
			struct kids k = { 0 };
			struct node *call = new_node(ps, N_CALL, t->col);
			if (!call || !enter(ps, t->col))
				return NULL;
			ps->pos++;
			while (!is_op(peek(ps), OP_RPAR)) {
				const struct tok *a = peek(ps);
				if (is_op(a, OP_STAR) || is_op(a, OP_POW)) {
					perr(ps, PT_EXPR_ERR_NOT_ALLOWED,
					     a->col,
					     "starred arguments are not allowed");
					goto call_fail;
				}
				if (a->kind == T_NAME &&
				    is_op(&ps->toks[ps->pos + 1], OP_ASSIGN)) {
					perr(ps, PT_EXPR_ERR_NOT_ALLOWED,
					     a->col,
					     "keyword arguments are not allowed");
					goto call_fail;
				}
				struct node *e = parse_test(ps);
				if (!e || kids_push(ps, &k, e) < 0)
					goto call_fail;
				if (is_kw(peek(ps), KW_FOR)) {
					unexpected(ps, peek(ps));
					goto call_fail;
				}
				if (!is_op(peek(ps), OP_COMMA))
					break;
				ps->pos++;
			}
			if (expect(ps, OP_RPAR) < 0)
				goto call_fail;
			ps->depth--;
			if (kids_finish(ps, &k, call) < 0)
				return NULL;
			/* The callee is kept as kid 0's sibling: call->name. */
			call->name = NULL;
			if (nd->kind == N_NAME) {
				call->name = nd->name;
				call->name_len = nd->name_len;
				static const char *const fn[] = {
					[F_LEN] = "len",
					[F_BOOL] = "bool",
					[F_INT] = "int",
					[F_FLOAT] = "float"
				};
				for (int f = F_LEN; f <= F_FLOAT; f++)
					if (strlen(fn[f]) == nd->name_len &&
					    memcmp(fn[f], nd->name,
						   nd->name_len) == 0)
						call->op = (uint8_t)f;
			}
			call->callee = nd;
			nd = call;
			continue;
call_fail:
			kids_release(&k);
			return NULL;
		} else if (is_op(t, OP_LSQB)) {
			/* A subscript: rejected where it starts. */
			perr(ps, PT_EXPR_ERR_NOT_ALLOWED, t->col,
			     "subscript ('[...]') is not allowed");
			return NULL;
		} else {
			break;
		}
	}
	return nd;
}

static struct node *make_binop(struct parser *ps, enum nkind kind, uint8_t op,
			       unsigned col, struct node *a, struct node *b)
{
	struct node *nd = new_node(ps, kind, col);

	if (!nd)
		return NULL;
	nd->op = op;
	nd->n = b ? 2 : 1;
	nd->kids = pt__arena_alloc(ps->arena, nd->n * sizeof(*nd->kids));
	if (!nd->kids) {
		perr(ps, PT_EXPR_ERR_NOMEM, 0, "out of memory");
		return NULL;
	}
	nd->kids[0] = a;
	if (b)
		nd->kids[1] = b;
	return nd;
}

static struct node *parse_factor(struct parser *ps);

static struct node *parse_power(struct parser *ps)
{
	struct node *a = parse_primary(ps);
	const struct tok *t;

	if (a && is_op(t = peek(ps), OP_POW)) {
		unsigned col = t->col;
		ps->pos++;
		struct node *b = parse_factor(ps);
		return b ? make_binop(ps, N_BINOP, OP_POW, col, a, b) : NULL;
	}
	return a;
}

static struct node *parse_factor(struct parser *ps)
{
	const struct tok *t = peek(ps);

	if (is_op(t, OP_MINUS) || is_op(t, OP_PLUS) || is_op(t, OP_TILDE)) {
		unsigned col = t->col;
		uint8_t op = t->code;
		if (!enter(ps, col))
			return NULL;
		ps->pos++;
		struct node *a = parse_factor(ps);
		ps->depth--;
		return a ? make_binop(ps, N_UNARY, op, col, a, NULL) : NULL;
	}
	return parse_power(ps);
}

/* Binary operator levels, tightest last. */
static const uint8_t level_ops[][6] = {
	{ OP_BITOR },
	{ OP_BITXOR },
	{ OP_BITAND },
	{ OP_LSHIFT, OP_RSHIFT },
	{ OP_PLUS, OP_MINUS },
	{ OP_STAR, OP_SLASH, OP_FLOORDIV, OP_PERCENT, OP_AT },
};

static struct node *parse_level(struct parser *ps, size_t level)
{
	if (level == PT_ARRAY_SIZE(level_ops))
		return parse_factor(ps);
	struct node *a = parse_level(ps, level + 1);
	while (a) {
		const struct tok *t = peek(ps);
		bool hit = false;
		for (size_t k = 0; k < 6 && level_ops[level][k]; k++)
			hit |= is_op(t, level_ops[level][k]);
		if (!hit)
			break;
		unsigned col = t->col;
		uint8_t op = t->code;
		ps->pos++;
		struct node *b = parse_level(ps, level + 1);
		a = b ? make_binop(ps, N_BINOP, op, col, a, b) : NULL;
	}
	return a;
}

/* Returns the comparison operator at the cursor (consuming it) or 0. */
static int take_cmpop(struct parser *ps)
{
	const struct tok *t = peek(ps);

	if (t->kind == T_OP) {
		int c = t->code == OP_EQ   ? C_EQ
			: t->code == OP_NE ? C_NE
			: t->code == OP_LT ? C_LT
			: t->code == OP_LE ? C_LE
			: t->code == OP_GT ? C_GT
			: t->code == OP_GE ? C_GE
					   : 0;
		if (c)
			ps->pos++;
		return c;
	}
	if (is_kw(t, KW_IN)) {
		ps->pos++;
		return C_IN;
	}
	if (is_kw(t, KW_NOT) && is_kw(&ps->toks[ps->pos + 1], KW_IN)) {
		ps->pos += 2;
		return C_NOTIN;
	}
	if (is_kw(t, KW_IS)) {
		ps->pos++;
		if (is_kw(peek(ps), KW_NOT)) {
			ps->pos++;
			return C_ISNOT;
		}
		return C_IS;
	}
	return 0;
}

static struct node *parse_comparison(struct parser *ps)
{
	struct node *a = parse_level(ps, 0);
	struct kids k = { 0 };
	uint8_t ops[32];
	size_t nops = 0;
	unsigned col;
	int c;

	if (!a)
		return NULL;
	col = peek(ps)->col;
	if (kids_push(ps, &k, a) < 0)
		return NULL;
	while ((c = take_cmpop(ps)) != 0) {
		struct node *b = parse_level(ps, 0);
		if (!b || kids_push(ps, &k, b) < 0)
			goto fail;
		if (nops >= PT_ARRAY_SIZE(ops)) {
			perr(ps, PT_EXPR_ERR_LIMIT, col,
			     "comparison chain longer than %zu operators",
			     sizeof(ops));
			goto fail;
		}
		ops[nops++] = (uint8_t)c;
	}
	if (nops == 0) {
		kids_release(&k);
		return a;
	}
	struct node *nd = new_node(ps, N_CMP, col);
	if (!nd || kids_finish(ps, &k, nd) < 0)
		goto fail;
	nd->cmps = pt__arena_memdup(ps->arena, ops, nops);
	if (!nd->cmps) {
		perr(ps, PT_EXPR_ERR_NOMEM, 0, "out of memory");
		return NULL;
	}
	return nd;
fail:
	kids_release(&k);
	return NULL;
}

static struct node *parse_not(struct parser *ps)
{
	const struct tok *t = peek(ps);

	if (is_kw(t, KW_NOT)) {
		unsigned col = t->col;
		if (!enter(ps, col))
			return NULL;
		ps->pos++;
		struct node *a = parse_not(ps);
		ps->depth--;
		return a ? make_binop(ps, N_NOT, 0, col, a, NULL) : NULL;
	}
	return parse_comparison(ps);
}

static struct node *parse_bool(struct parser *ps, bool is_or)
{
	struct kids k = { 0 };
	enum kw kw = is_or ? KW_OR : KW_AND;
	struct node *a = is_or ? parse_bool(ps, false) : parse_not(ps);
	unsigned col;

	if (!a || !is_kw(peek(ps), kw))
		return a;
	col = peek(ps)->col;
	if (kids_push(ps, &k, a) < 0)
		return NULL;
	while (is_kw(peek(ps), kw)) {
		ps->pos++;
		struct node *b = is_or ? parse_bool(ps, false) : parse_not(ps);
		if (!b || kids_push(ps, &k, b) < 0)
			goto fail;
	}
	struct node *nd = new_node(ps, is_or ? N_OR : N_AND, col);
	if (!nd || kids_finish(ps, &k, nd) < 0)
		goto fail;
	return nd;
fail:
	kids_release(&k);
	return NULL;
}

static struct node *parse_test(struct parser *ps)
{
	const struct tok *t = peek(ps);
	struct node *nd;

	if (is_kw(t, KW_LAMBDA) || is_kw(t, KW_YIELD) || is_kw(t, KW_AWAIT)) {
		unexpected(ps, t);
		return NULL;
	}
	nd = parse_bool(ps, true);
	if (nd && (is_kw(peek(ps), KW_IF) || is_op(peek(ps), OP_WALRUS))) {
		unexpected(ps, peek(ps));
		return NULL;
	}
	return nd;
}

/*
 * The whole line: one test. A bare tuple "a, b" is rejected: PlainBox
 * compiles "lambda ...: a, b", a tuple of a lambda and b, which fails
 * (NameError) or ignores b.
 */
static struct node *parse_line(struct parser *ps)
{
	struct node *nd;

	if (peek(ps)->kind == T_END) {
		perr(ps, PT_EXPR_ERR_NO_RESOURCES, 0,
		     "expression did not reference any resources (it is empty)");
		return NULL;
	}
	nd = parse_test(ps);
	if (!nd)
		return NULL;
	if (is_op(peek(ps), OP_COMMA)) {
		perr(ps, PT_EXPR_ERR_NOT_ALLOWED, peek(ps)->col,
		     "a bare tuple ('a, b') is not allowed; write '(a, b)'");
		return NULL;
	}
	if (peek(ps)->kind != T_END) {
		unexpected(ps, peek(ps));
		return NULL;
	}
	return nd;
}

/* ------------------------------------------------------------------ */
/* Whitelist check, aliases                                            */
/* ------------------------------------------------------------------ */

/* A parsed expression (a line, or a half of the compat split). */
struct leaf {
	struct node *root;
	size_t n_alias;
	const char **aliases; /* first-seen order */
	const char **ids;     /* resolved, qualified */
	bool comment;	      /* the text has a # comment */
	bool callnames;	      /* compat and strict see different names */
};

struct alias_acc {
	const char *v[PT_EXPR_MAX_RESOURCES];
	uint32_t len[PT_EXPR_MAX_RESOURCES];
	size_t n;
	bool skipped; /* compat: a name inside call arguments was skipped */
};

static const char *callee_text(const struct node *call, char *b, size_t n)
{
	const struct node *f = call->callee;

	if (f && f->kind == N_NAME)
		snprintf(b, n, "'%.*s'", (int)PT_MIN(f->name_len, 40u),
			 f->name);
	else if (f && f->kind == N_ATTR)
		snprintf(b, n, "method '%.*s'", (int)PT_MIN(f->name_len, 40u),
			 f->name);
	else
		snprintf(b, n, "this expression");
	return b;
}

/*
 * Pre-order walk (PlainBox's NodeVisitor order): rejects what is not
 * whitelisted and collects aliases. compat: call arguments are not
 * visited for aliases (PlainBox's visit_Call does not recurse), but they
 * are still checked against the whitelist (PlainBox does not check them:
 * we do not let arbitrary code through).
 */
static int check(struct parser *ps, struct node *nd, bool in_call, bool compat,
		 struct alias_acc *acc)
{
	char b[64];

	switch (nd->kind) {
	case N_BINOP:
		return perr(ps, PT_EXPR_ERR_NOT_ALLOWED, nd->col,
			    "binary operator '%s' is not allowed",
			    op_text[nd->op]);
	case N_UNARY:
		return perr(ps, PT_EXPR_ERR_NOT_ALLOWED, nd->col,
			    "unary operator '%s' is not allowed",
			    op_text[nd->op]);
	case N_DICT:
		return perr(ps, PT_EXPR_ERR_NOT_ALLOWED, nd->col,
			    "dict display ('{...}') is not allowed");
	case N_SET:
		return perr(ps, PT_EXPR_ERR_NOT_ALLOWED, nd->col,
			    "set display ('{...}') is not allowed");
	case N_CALL:
		if (nd->op == F_OTHER)
			return perr(
				ps, PT_EXPR_ERR_NOT_ALLOWED, nd->col,
				"call of %s is not allowed (only len, bool, int, float)",
				callee_text(nd, b, sizeof(b)));
		for (uint32_t k = 0; k < nd->n; k++)
			if (check(ps, nd->kids[k], true, compat, acc) < 0)
				return -1;
		return 0;
	case N_NAME: {
		if (in_call && compat) {
			acc->skipped = true;
			return 0;
		}
		for (size_t k = 0; k < acc->n; k++)
			if (acc->len[k] == nd->name_len &&
			    memcmp(acc->v[k], nd->name, nd->name_len) == 0)
				return 0;
		if (acc->n == PT_EXPR_MAX_RESOURCES)
			return perr(ps, PT_EXPR_ERR_LIMIT, nd->col,
				    "more than %d resources in one expression",
				    PT_EXPR_MAX_RESOURCES);
		acc->v[acc->n] = nd->name;
		acc->len[acc->n++] = nd->name_len;
		return 0;
	}
	default:
		for (uint32_t k = 0; k < nd->n; k++)
			if (check(ps, nd->kids[k], in_call, compat, acc) < 0)
				return -1;
		/* A list or tuple of constants cannot raise. */
		if (nd->kind == N_TUPLE) {
			nd->konst = true;
			for (uint32_t k = 0; k < nd->n; k++)
				if (nd->kids[k]->kind != N_CONST &&
				    !(nd->kids[k]->kind == N_TUPLE &&
				      nd->kids[k]->konst))
					nd->konst = false;
		}
		if (nd->kind == N_LIST || nd->kind == N_TUPLE) {
			nd->pure = true;
			for (uint32_t k = 0; k < nd->n; k++) {
				const struct node *e = nd->kids[k];
				if (!(e->kind == N_CONST ||
				      ((e->kind == N_LIST ||
					e->kind == N_TUPLE) &&
				       e->pure)))
					nd->pure = false;
			}
		}
		return 0;
	}
}

/* NAME.attr of a bound resource, not a Resource internal. */
static bool simple_attr(const struct node *nd)
{
	return nd->kind == N_ATTR && nd->kids[0]->kind == N_NAME &&
	       nd->kids[0]->alias >= 0 && nd->name[0] != '_';
}

static bool simple_str(const struct node *nd)
{
	return nd->kind == N_CONST && nd->c.t == V_STR &&
	       !memchr(nd->c.s.p, 0, nd->c.s.n);
}

static enum fast fast_shape(const struct node *nd)
{
	const struct node *a = nd->kids[0], *b = nd->kids[1];
	int op = nd->cmps[0];

	if (op == C_EQ || op == C_NE) {
		if ((simple_attr(a) && simple_str(b)) ||
		    (simple_str(a) && simple_attr(b)))
			return FAST_ATTR_EQ_STR;
	} else if (op == C_IN || op == C_NOTIN) {
		if (simple_str(a) && simple_attr(b))
			return FAST_STR_IN_ATTR;
		if (simple_attr(a) &&
		    (b->kind == N_LIST || b->kind == N_TUPLE)) {
			for (uint32_t k = 0; k < b->n; k++)
				if (b->kids[k]->kind != N_CONST ||
				    (b->kids[k]->c.t == V_STR &&
				     !simple_str(b->kids[k])))
					return FAST_NONE;
			return FAST_ATTR_IN_STRS;
		}
	}
	return FAST_NONE;
}

/* Binds every N_NAME to its alias index (-1: unbound, raises). */
static void bind(struct node *nd, const struct alias_acc *acc)
{
	if (nd->kind == N_NAME) {
		nd->alias = -1;
		for (size_t k = 0; k < acc->n; k++)
			if (acc->len[k] == nd->name_len &&
			    memcmp(acc->v[k], nd->name, nd->name_len) == 0)
				nd->alias = (int16_t)k;
		return;
	}
	for (uint32_t k = 0; k < nd->n; k++)
		bind(nd->kids[k], acc);
	if (nd->kind == N_CMP && nd->n == 2)
		nd->fast = (uint8_t)fast_shape(nd);
}

/* ------------------------------------------------------------------ */
/* Imports                                                             */
/* ------------------------------------------------------------------ */

struct imp {
	char *id;    /* "ns::partial" */
	char *alias; /* the identifier used in expressions */
};

struct pt_expr_imports {
	struct pt_arena arena;
	struct imp *v;
	size_t n;
};

static void set_err(struct pt_expr_error *err, enum pt_expr_errkind kind,
		    unsigned line, unsigned col, const char *fmt, ...)
	PT_PRINTF(5, 6);

static void set_err(struct pt_expr_error *err, enum pt_expr_errkind kind,
		    unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	err->kind = kind;
	err->code = kind == PT_EXPR_ERR_NOMEM	? -ENOMEM
		    : kind == PT_EXPR_ERR_LIMIT ? PT_ETOOBIG
						: PT_EEXPR;
	err->line = line;
	err->column = col;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

static int kind_code(enum pt_expr_errkind kind)
{
	return kind == PT_EXPR_ERR_NOMEM   ? -ENOMEM
	       : kind == PT_EXPR_ERR_LIMIT ? PT_ETOOBIG
					   : PT_EEXPR;
}

/*
 * Python's str.splitlines() boundaries: \n, \r, \r\n, \v, \f, \x1c-\x1e,
 * U+0085, U+2028, U+2029. Returns the length of the boundary at s[i] or 0.
 */
static size_t line_break(const char *s, size_t n, size_t i)
{
	unsigned char c = (unsigned char)s[i];

	if (c == '\r')
		return (i + 1 < n && s[i + 1] == '\n') ? 2 : 1;
	if (c == '\n' || c == '\v' || c == '\f' || (c >= 0x1c && c <= 0x1e))
		return 1;
	if (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] == 0x85)
		return 2;
	if (c == 0xe2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
	    ((unsigned char)s[i + 2] == 0xa8 ||
	     (unsigned char)s[i + 2] == 0xa9))
		return 3;
	return 0;
}

/* Python's str.strip() whitespace, ASCII part. */
static bool py_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

static struct pt_slice strip(const char *p, size_t n)
{
	while (n && py_space((unsigned char)*p)) {
		p++;
		n--;
	}
	while (n && py_space((unsigned char)p[n - 1]))
		n--;
	return pt__slice(p, n);
}

/* Iterates lines: returns false at the end. */
struct line_iter {
	const char *s;
	size_t n, i;
	unsigned line;
};

static bool next_line(struct line_iter *it, const char **ret_p, size_t *ret_n)
{
	size_t start = it->i, br = 0;

	if (it->i >= it->n)
		return false;
	while (it->i < it->n && !(br = line_break(it->s, it->n, it->i)))
		it->i++;
	*ret_p = it->s + start;
	*ret_n = it->i - start;
	it->i += br;
	it->line++;
	return true;
}

static bool split_ws(const char **p, const char *end, const char **ret_w,
		     size_t *ret_n)
{
	const char *q = *p;

	while (q < end && py_space((unsigned char)*q))
		q++;
	if (q == end)
		return false;
	*ret_w = q;
	while (q < end && !py_space((unsigned char)*q))
		q++;
	*ret_n = (size_t)(q - *ret_w);
	*p = q;
	return true;
}

int pt__expr_imports_parse(const char *text, struct pt_expr_imports **ret,
			   struct pt_expr_error *err)
{
	struct pt_expr_imports *imps;
	struct line_iter it = { text, text ? strlen(text) : 0, 0, 0 };
	const char *lp;
	size_t ln, cap = 0;

	imps = pt__calloc(1, sizeof(*imps));
	if (!imps)
		goto nomem;
	if (it.n > PT_EXPR_MAX_TEXT) {
		set_err(err, PT_EXPR_ERR_LIMIT, 1, 0,
			"imports text longer than %d bytes", PT_EXPR_MAX_TEXT);
		pt__expr_imports_free(imps);
		return PT_ETOOBIG;
	}
	while (next_line(&it, &lp, &ln)) {
		const char *w[7], *end = lp + ln, *q = lp;
		size_t wl[7], nw = 0;
		while (nw < 7 && split_ws(&q, end, &w[nw], &wl[nw]))
			nw++;
		if (nw == 0)
			continue; /* blank line (PlainBox would reject it) */
		const char *why = NULL;
		if (nw != 4 && nw != 6)
			why = "expected exactly four or six words: from NAMESPACE import PARTIAL_ID [as ALIAS]";
		else if (wl[0] != 4 || memcmp(w[0], "from", 4) != 0)
			why = "expected the 'from' keyword";
		else if (pt__slice_eqs(pt__slice(w[1], wl[1]), "") ||
			 find_bytes(w[1], wl[1], "::", 2))
			why = "expected a namespace, not a fully qualified job identifier";
		else if (wl[2] != 6 || memcmp(w[2], "import", 6) != 0)
			why = "expected the 'import' keyword";
		else if (find_bytes(w[3], wl[3], "::", 2))
			why = "expected a partial job identifier, not a fully qualified job identifier";
		else if (nw == 6 && (wl[4] != 2 || memcmp(w[4], "as", 2) != 0))
			why = "expected the 'as' keyword";
		if (why) {
			set_err(err, PT_EXPR_ERR_IMPORTS, it.line, 0,
				"unable to parse imports statement '%.*s': %s",
				(int)PT_MIN(ln, 60u), lp, why);
			pt__expr_imports_free(imps);
			return PT_EEXPR;
		}
		if (imps->n == cap) {
			size_t nc = cap ? cap * 2 : 4;
			struct imp *nv =
				pt__realloc_array(imps->v, nc, sizeof(*nv));
			if (!nv)
				goto nomem;
			imps->v = nv;
			cap = nc;
		}
		struct imp *im = &imps->v[imps->n];
		struct pt_buf b = PT_BUF_INIT;
		if (pt__buf_addf(&b, "%.*s::%.*s", (int)wl[1], w[1], (int)wl[3],
				 w[3]) < 0)
			goto nomem;
		im->id = pt__arena_strndup(&imps->arena, b.s, b.len);
		pt__buf_release(&b);
		im->alias =
			nw == 6 ? pt__arena_strndup(&imps->arena, w[5], wl[5])
				: pt__arena_strndup(&imps->arena, w[3], wl[3]);
		if (!im->id || !im->alias)
			goto nomem;
		imps->n++;
	}
	*ret = imps;
	return 0;
nomem:
	pt__expr_imports_free(imps);
	set_err(err, PT_EXPR_ERR_NOMEM, 0, 0, "out of memory");
	return -ENOMEM;
}

struct pt_expr_imports *pt__expr_imports_free(struct pt_expr_imports *imps)
{
	if (!imps)
		return NULL;
	pt__arena_release(&imps->arena);
	pt__free(imps->v);
	pt__free(imps);
	return NULL;
}

static const char *resolve(struct pt_arena *a,
			   const struct pt_expr_imports *imps, const char *ns,
			   const char *alias, size_t alias_len)
{
	const char *id = NULL;
	size_t id_len = alias_len;

	if (imps) {
		for (size_t k = 0; k < imps->n; k++) {
			if (strlen(imps->v[k].alias) == alias_len &&
			    memcmp(imps->v[k].alias, alias, alias_len) == 0) {
				id = imps->v[k].id;
				id_len = strlen(id);
				break;
			}
		}
	}
	if (!id)
		id = alias;
	if (ns && *ns && !find_bytes(id, id_len, "::", 2)) {
		size_t nl = strlen(ns);
		char *q = pt__arena_alloc(a, nl + 2 + id_len + 1);
		if (!q)
			return NULL;
		memcpy(q, ns, nl);
		memcpy(q + nl, "::", 2);
		memcpy(q + nl + 2, id, id_len);
		q[nl + 2 + id_len] = '\0';
		return q;
	}
	return pt__arena_strndup(a, id, id_len);
}

char *pt__expr_resolve_id(const struct pt_expr_imports *imps, const char *ns,
			  const char *alias)
{
	struct pt_arena a = PT_ARENA_INIT;
	const char *r = resolve(&a, imps, ns, alias, strlen(alias));
	char *out = r ? pt__strdup(r) : NULL;

	pt__arena_release(&a);
	return out;
}

/* ------------------------------------------------------------------ */
/* Program                                                             */
/* ------------------------------------------------------------------ */

/* A node of the compat split tree (or the single leaf in strict mode). */
enum sk {
	S_LEAF = 1,
	S_OR,
	S_AND,
	S_BAD, /* this text does not parse: evaluation raises */
};

struct split {
	uint8_t kind;
	struct split *l, *r;
	struct leaf leaf;  /* S_LEAF */
	const char *error; /* S_BAD: message for pt_expr_result.error */
};

struct item {
	const char *text;
	unsigned line;
	bool splits;
	bool may_differ; /* compat and strict may disagree */
	struct split *root;
	size_t n_ids;
	const char **ids;
	size_t n_manifest; /* `manifest.X` entries, qualified */
	const char **manifest;
	const char *manifest_text; /* "a, b", or NULL */
};

/*
 * PlainBox's _analyze_manifest: the X of every `manifest.X` attribute,
 * pre-order, call arguments not visited (its visit_Call does not
 * recurse), each once, qualified with the implicit namespace.
 */
static int manifest_walk(struct pt_arena *a, const struct node *nd,
			 const char *ns, struct item *it)
{
	if (nd->kind == N_CALL)
		return 0;
	if (nd->kind == N_ATTR && nd->n && nd->kids[0]->kind == N_NAME &&
	    nd->kids[0]->name_len == 8 &&
	    memcmp(nd->kids[0]->name, "manifest", 8) == 0) {
		char *id;
		const char **v;

		for (size_t k = 0; k < it->n_manifest; k++) {
			const char *m = it->manifest[k];
			const char *x = ns && *ns ? m + strlen(ns) + 2 : m;
			if (strlen(x) == nd->name_len &&
			    memcmp(x, nd->name, nd->name_len) == 0)
				return 0;
		}
		if (ns && *ns) {
			size_t nl = strlen(ns);
			id = pt__arena_alloc(a, nl + 2 + nd->name_len + 1);
			if (!id)
				return -ENOMEM;
			memcpy(id, ns, nl);
			memcpy(id + nl, "::", 2);
			memcpy(id + nl + 2, nd->name, nd->name_len);
			id[nl + 2 + nd->name_len] = 0;
		} else {
			id = pt__arena_strndup(a, nd->name, nd->name_len);
			if (!id)
				return -ENOMEM;
		}
		v = pt__arena_alloc(a, (it->n_manifest + 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		if (it->n_manifest)
			memcpy(v, it->manifest, it->n_manifest * sizeof(*v));
		v[it->n_manifest++] = id;
		it->manifest = v;
		return 0;
	}
	for (uint32_t k = 0; k < nd->n; k++) {
		int r = manifest_walk(a, nd->kids[k], ns, it);
		if (r < 0)
			return r;
	}
	return 0;
}

struct pt_expr_prog {
	struct pt_arena arena;
	enum pt_expr_mode mode;
	size_t n;
	struct item *items;
	size_t n_all;
	const char **all_ids;
	size_t n_splits;
	size_t n_differ;
};

/*
 * Parses one expression text into *leaf. On failure fills ps's error and
 * returns -1. ps->arena must be set.
 */
static int parse_leaf(struct parser *ps, const char *text, size_t n,
		      bool compat, const struct pt_expr_opts *o,
		      struct leaf *leaf)
{
	struct alias_acc acc = { .n = 0 };
	struct node *root;
	int r = -1;

	ps->s = text;
	ps->n = n;
	ps->pos = 0;
	ps->ntoks = 0;
	ps->depth = 0;
	ps->nodes = 0;
	ps->comment = false;
	ps->toks = NULL;
	ps->tcap = 0;
	if (tokenize(ps) < 0)
		goto out;
	root = parse_line(ps);
	if (!root)
		goto out;
	if (check(ps, root, false, compat, &acc) < 0)
		goto out;
	{
		/* The other mode's names: compat skips call arguments. */
		struct parser other = { .arena = ps->arena };
		struct alias_acc acc2 = { .n = 0 };
		leaf->callnames =
			check(&other, root, false, !compat, &acc2) < 0 ||
			acc2.n != acc.n;
	}
	leaf->comment = ps->comment;
	if (acc.n == 0) {
		perr(ps, PT_EXPR_ERR_NO_RESOURCES, 0,
		     "expression did not reference any resources%s",
		     acc.skipped
			     ? " (names used only inside call arguments do not count)"
			     : "");
		goto out;
	}
	bind(root, &acc);
	leaf->root = root;
	leaf->n_alias = acc.n;
	leaf->aliases = pt__arena_alloc(ps->arena, acc.n * sizeof(char *));
	leaf->ids = pt__arena_alloc(ps->arena, acc.n * sizeof(char *));
	if (!leaf->aliases || !leaf->ids) {
		perr(ps, PT_EXPR_ERR_NOMEM, 0, "out of memory");
		goto out;
	}
	for (size_t k = 0; k < acc.n; k++) {
		leaf->aliases[k] =
			pt__arena_strndup(ps->arena, acc.v[k], acc.len[k]);
		leaf->ids[k] = resolve(ps->arena, o->imports, o->ns, acc.v[k],
				       acc.len[k]);
		if (!leaf->aliases[k] || !leaf->ids[k]) {
			perr(ps, PT_EXPR_ERR_NOMEM, 0, "out of memory");
			goto out;
		}
	}
	r = 0;
out:
	pt__freep(&ps->toks);
	return r;
}

/* The last occurrence of needle in s[0..n), or NULL (Python's rfind). */
static const char *rfind(const char *s, size_t n, const char *needle)
{
	size_t nl = strlen(needle);

	if (n < nl)
		return NULL;
	for (size_t i = n - nl + 1; i-- > 0;)
		if (memcmp(s + i, needle, nl) == 0)
			return s + i;
	return NULL;
}

/* Whether PlainBox cuts this text: no "(" and " or " / " and " in it. */
static bool takes_split(const char *s, size_t n)
{
	return !memchr(s, '(', n) &&
	       (rfind(s, n, " or ") || rfind(s, n, " and "));
}

/* Compat split depth (and/or operators in a text without "("). */
#define PT_EXPR_MAX_SPLITS 64

/*
 * Parses a half of the compat split on its own, exactly as PlainBox does;
 * a half that does not parse becomes S_BAD. A separate function so that
 * its parser state is off the stack while build_split recurses.
 * Returns 0, or -1 when out of memory.
 */
static int parse_half(struct parser *ps, struct pt_arena *arena, const char *s,
		      size_t n, const struct pt_expr_opts *o, struct split *sp)
{
	struct parser sub = { .arena = arena };
	char *m;

	if (n && (s[0] == ' ' || s[0] == '\t')) {
		/* ast.parse(" x"): IndentationError, "unexpected indent". */
		perr(&sub, PT_EXPR_ERR_SYNTAX, 1, "unexpected indent");
	} else if (parse_leaf(&sub, s, n, true, o, &sp->leaf) == 0) {
		return 0;
	}
	if (sub.ekind == PT_EXPR_ERR_NOMEM)
		return -1;
	m = pt__arena_alloc(ps->arena, 320);
	if (!m)
		return -1;
	snprintf(
		m, 320,
		"compat and/or split: '%.*s' is not a valid expression (column %u: %s)",
		(int)PT_MIN(n, 80u), s, sub.ecol, sub.emsg);
	sp->kind = S_BAD;
	sp->error = m;
	return 0;
}

/*
 * Builds PlainBox's split tree for text s[0..n) that parsed as a whole.
 * Each half is an independent expression; a half that does not parse
 * becomes S_BAD (PlainBox raises ResourceSyntaxError when it evaluates).
 */
static struct split *build_split(struct parser *ps, const char *s, size_t n,
				 const struct pt_expr_opts *o, unsigned level)
{
	struct split *sp = pt__arena_zalloc(ps->arena, sizeof(*sp));
	const char *cut;
	size_t sl;

	if (!sp)
		goto nomem;
	if (level > 0) {
		/*
		 * A half that splits again only needs to parse (PlainBox
		 * builds it): its tree goes to a scratch arena, so memory
		 * stays linear in the text although the halves overlap.
		 */
		struct pt_arena scratch = PT_ARENA_INIT;
		bool inner = takes_split(s, n);
		int r = parse_half(ps, inner ? &scratch : ps->arena, s, n, o,
				   sp);
		pt__arena_release(&scratch);
		if (inner)
			memset(&sp->leaf, 0, sizeof(sp->leaf));
		if (r < 0)
			goto nomem;
		if (sp->kind == S_BAD)
			return sp;
	}
	if (!takes_split(s, n)) {
		if (level == 0)
			return NULL; /* caller parses the whole text */
		sp->kind = S_LEAF;
		return sp;
	}
	if (level >= PT_EXPR_MAX_SPLITS) {
		perr(ps, PT_EXPR_ERR_LIMIT, 0,
		     "more than %d and/or operators without parentheses",
		     PT_EXPR_MAX_SPLITS);
		return NULL;
	}
	cut = rfind(s, n, " or ");
	sp->kind = S_OR;
	sl = 4;
	if (!cut) {
		cut = rfind(s, n, " and ");
		sp->kind = S_AND;
		sl = 5;
	}
	memset(&sp->leaf, 0, sizeof(sp->leaf));
	sp->l = build_split(ps, s, (size_t)(cut - s), o, level + 1);
	if (!sp->l)
		return NULL;
	sp->r = build_split(ps, cut + sl, n - (size_t)(cut - s) - sl, o,
			    level + 1);
	if (!sp->r)
		return NULL;
	return sp;
nomem:
	perr(ps, PT_EXPR_ERR_NOMEM, 0, "out of memory");
	return NULL;
}

/* Bit sets of value types (1 << enum vtype) for the static analysis. */
#define TY(t)  (1u << (t))
#define TY_ALL 0xffu
#define TY_STR TY(V_STR)
#define TY_NUM (TY(V_BOOL) | TY(V_INT) | TY(V_FLOAT))
#define TY_SEQ (TY(V_LIST) | TY(V_TUPLE))

/*
 * Possible types of nd's value; *raises when evaluating it might raise
 * (conservative: true unless provably not).
 */
static unsigned types_of(const struct node *nd, bool *raises)
{
	unsigned t = 0, a, b;

	switch (nd->kind) {
	case N_CONST:
		return TY(nd->c.t);
	case N_NAME:
		if (nd->alias < 0)
			*raises = true;
		return TY(V_REC);
	case N_ATTR:
		if (types_of(nd->kids[0], raises) != TY(V_REC) ||
		    (nd->name[0] == '_' &&
		     (nd->name_len < 2 || nd->name[1] == '_' ||
		      (nd->name_len == 5 &&
		       memcmp(nd->name, "_data", 5) == 0))))
			*raises = true;
		return TY_STR;
	case N_NOT:
		(void)types_of(nd->kids[0], raises);
		return TY(V_BOOL);
	case N_AND:
	case N_OR:
		for (uint32_t k = 0; k < nd->n; k++)
			t |= types_of(nd->kids[k], raises);
		return t;
	case N_LIST:
	case N_TUPLE:
		for (uint32_t k = 0; k < nd->n; k++)
			(void)types_of(nd->kids[k], raises);
		return TY(nd->kind == N_LIST ? V_LIST : V_TUPLE);
	case N_CMP:
		a = types_of(nd->kids[0], raises);
		for (uint32_t k = 1; k < nd->n; k++, a = b) {
			b = types_of(nd->kids[k], raises);
			switch (nd->cmps[k - 1]) {
			case C_EQ:
			case C_NE:
			case C_IS:
			case C_ISNOT:
				break;
			case C_IN:
			case C_NOTIN:
				if (!(b & ~TY_SEQ))
					break; /* membership by == */
				if (!(b & ~TY_STR) && !(a & ~TY_STR))
					break; /* substring */
				if (b == TY(V_REC) &&
				    !(a & (TY_SEQ | TY(V_REC))))
					break; /* key lookup */
				*raises = true;
				break;
			default:
				if ((!(a & ~TY_STR) && !(b & ~TY_STR)) ||
				    (!(a & ~TY_NUM) && !(b & ~TY_NUM)))
					break;
				*raises = true;
				break;
			}
		}
		return TY(V_BOOL);
	default: /* calls: not in a text that takes the split */
		*raises = true;
		return TY_ALL;
	}
}

struct name_set {
	const char *v[2 * PT_EXPR_MAX_RESOURCES];
	size_t n;
	bool overflow;
};

static void names_add(struct name_set *s, const char *name)
{
	for (size_t k = 0; k < s->n; k++)
		if (strcmp(s->v[k], name) == 0)
			return;
	if (s->n == PT_ARRAY_SIZE(s->v))
		s->overflow = true;
	else
		s->v[s->n++] = name;
}

/*
 * Whether compat's split can give another result than strict evaluation
 * for the subtree sp (with non-empty record lists, as in a session where
 * a resource without output is [{}]). Compat or-s/and-s the halves, each
 * over any record of its own resources; strict asks for one tuple. They
 * agree when no half raises (an exception only kills its own half in
 * compat, the whole tuple in strict) and the two sides of every "and"
 * use different resources (then the product factorises). A half that
 * does not parse, or a cut inside a comment, always may differ.
 */
static bool split_may_differ(const struct split *sp, struct name_set *names)
{
	struct name_set l = { .n = 0 }, r = { .n = 0 };
	bool raises = false;

	switch (sp->kind) {
	case S_BAD:
		return true;
	case S_LEAF:
		(void)types_of(sp->leaf.root, &raises);
		for (size_t k = 0; k < sp->leaf.n_alias; k++)
			names_add(names, sp->leaf.aliases[k]);
		return raises || names->overflow;
	default:
		if (split_may_differ(sp->l, &l) || split_may_differ(sp->r, &r))
			return true;
		for (size_t k = 0; k < l.n; k++) {
			for (size_t j = 0; j < r.n && sp->kind == S_AND; j++)
				if (strcmp(l.v[k], r.v[j]) == 0)
					return true;
			names_add(names, l.v[k]);
		}
		for (size_t j = 0; j < r.n; j++)
			names_add(names, r.v[j]);
		return names->overflow;
	}
}

struct pt_expr_prog *pt__expr_prog_free(struct pt_expr_prog *prog)
{
	if (!prog)
		return NULL;
	pt__arena_release(&prog->arena);
	pt__free(prog);
	return NULL;
}

static int add_unique(struct pt_expr_prog *p, const char *id, size_t *cap)
{
	for (size_t k = 0; k < p->n_all; k++)
		if (strcmp(p->all_ids[k], id) == 0)
			return 0;
	if (p->n_all == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		const char **nv = pt__arena_alloc(&p->arena, nc * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		if (p->n_all)
			memcpy(nv, p->all_ids, p->n_all * sizeof(*nv));
		p->all_ids = nv;
		*cap = nc;
	}
	p->all_ids[p->n_all++] = id;
	return 0;
}

int pt__expr_prog_new(const char *text, const struct pt_expr_opts *opts,
		      struct pt_expr_prog **ret, struct pt_expr_error *err)
{
	static const struct pt_expr_opts defaults = { .mode = PT_EXPR_COMPAT };
	const struct pt_expr_opts *o = opts ? opts : &defaults;
	bool compat = o->mode != PT_EXPR_STRICT;
	struct pt_expr_prog *p;
	struct line_iter it = { text, 0, 0, 0 };
	const char *lp;
	size_t ln, cap = 0, all_cap = 0;
	int rc;

	if (!text)
		text = "";
	it.s = text;
	it.n = strlen(text);
	if (it.n > PT_EXPR_MAX_TEXT) {
		set_err(err, PT_EXPR_ERR_LIMIT, 1, 0,
			"resource program longer than %d bytes",
			PT_EXPR_MAX_TEXT);
		return PT_ETOOBIG;
	}
	p = pt__calloc(1, sizeof(*p));
	if (!p) {
		set_err(err, PT_EXPR_ERR_NOMEM, 0, 0, "out of memory");
		return -ENOMEM;
	}
	p->mode = compat ? PT_EXPR_COMPAT : PT_EXPR_STRICT;
	while (next_line(&it, &lp, &ln)) {
		struct pt_slice sl = strip(lp, ln);
		struct parser ps = { .arena = &p->arena };
		struct item *item;

		if (sl.len == 0)
			continue;
		if (p->n == PT_EXPR_MAX_LINES) {
			set_err(err, PT_EXPR_ERR_LIMIT, it.line, 0,
				"more than %d expressions", PT_EXPR_MAX_LINES);
			rc = PT_ETOOBIG;
			goto fail;
		}
		if (sl.len > PT_EXPR_MAX_LINE) {
			set_err(err, PT_EXPR_ERR_LIMIT, it.line, 0,
				"expression longer than %d bytes",
				PT_EXPR_MAX_LINE);
			rc = PT_ETOOBIG;
			goto fail;
		}
		if (p->n == cap) {
			size_t nc = cap ? cap * 2 : 4;
			struct item *nv =
				pt__arena_alloc(&p->arena, nc * sizeof(*nv));
			if (!nv)
				goto nomem;
			if (p->n)
				memcpy(nv, p->items, p->n * sizeof(*nv));
			p->items = nv;
			cap = nc;
		}
		item = &p->items[p->n];
		memset(item, 0, sizeof(*item));
		item->line = it.line;
		item->text = pt__arena_strndup(&p->arena, sl.p, sl.len);
		if (!item->text)
			goto nomem;
		item->splits = takes_split(item->text, sl.len);

		/* The whole text must parse (PlainBox's constructor). */
		struct leaf whole = { 0 };
		if (parse_leaf(&ps, item->text, sl.len, compat, o, &whole) < 0)
			goto parse_fail;
		item->n_ids = whole.n_alias;
		item->ids = whole.ids;
		item->may_differ = whole.callnames;
		if (manifest_walk(&p->arena, whole.root, o->ns, item) < 0)
			goto nomem;
		if (item->n_manifest) {
			struct pt_buf mb = PT_BUF_INIT;
			for (size_t k = 0; k < item->n_manifest; k++)
				if ((k && pt__buf_adds(&mb, ", ") < 0) ||
				    pt__buf_adds(&mb, item->manifest[k]) < 0)
					break;
			item->manifest_text =
				mb.len ? pt__arena_strndup(&p->arena, mb.s,
							   mb.len)
				       : NULL;
			pt__buf_release(&mb);
			if (!item->manifest_text)
				goto nomem;
		}
		if (item->splits) {
			/* Reparsing halves is quadratic: bound it first. */
			size_t cuts = 0;
			for (size_t k = 0; k + 4 <= sl.len; k++)
				cuts += memcmp(item->text + k, " or ", 4) ==
						0 ||
					(k + 5 <= sl.len &&
					 memcmp(item->text + k, " and ", 5) ==
						 0);
			if (cuts >= PT_EXPR_MAX_SPLITS && compat) {
				perr(&ps, PT_EXPR_ERR_LIMIT, 0,
				     "more than %d and/or operators without parentheses",
				     PT_EXPR_MAX_SPLITS);
				goto parse_fail;
			}
			/*
			 * The split tree: evaluated in compat mode, only
			 * analysed in strict mode.
			 */
			struct split *tree = NULL;
			if (cuts < PT_EXPR_MAX_SPLITS) {
				tree = build_split(&ps, item->text, sl.len, o,
						   0);
				if (!tree) {
					if (!ps.ekind)
						perr(&ps, PT_EXPR_ERR_NOMEM, 0,
						     "out of memory");
					goto parse_fail;
				}
			}
			struct name_set names = { .n = 0 };
			item->may_differ = item->may_differ || !tree ||
					   whole.comment ||
					   split_may_differ(tree, &names);
			if (compat)
				item->root = tree;
		}
		if (!item->root) {
			item->root = pt__arena_zalloc(&p->arena,
						      sizeof(*item->root));
			if (!item->root)
				goto nomem;
			item->root->kind = S_LEAF;
			item->root->leaf = whole;
		}
		for (size_t k = 0; k < item->n_ids; k++)
			if (add_unique(p, item->ids[k], &all_cap) < 0)
				goto nomem;
		p->n_splits += item->splits;
		p->n_differ += item->may_differ;
		p->n++;
		continue;
parse_fail:
		/* Columns count from the start of the unstripped line. */
		set_err(err, ps.ekind, it.line,
			ps.ecol ? ps.ecol + (unsigned)(sl.p - lp) : 0, "%s",
			ps.emsg);
		rc = kind_code(ps.ekind);
		goto fail;
	}
	*ret = p;
	return 0;
nomem:
	set_err(err, PT_EXPR_ERR_NOMEM, 0, 0, "out of memory");
	rc = -ENOMEM;
fail:
	pt__expr_prog_free(p);
	return rc;
}

size_t pt__expr_prog_count(const struct pt_expr_prog *prog)
{
	return prog ? prog->n : 0;
}

const char *pt__expr_prog_text(const struct pt_expr_prog *prog, size_t i)
{
	return prog && i < prog->n ? prog->items[i].text : NULL;
}

unsigned pt__expr_prog_line(const struct pt_expr_prog *prog, size_t i)
{
	return prog && i < prog->n ? prog->items[i].line : 0;
}

const char *const *pt__expr_prog_ids(const struct pt_expr_prog *prog, size_t i,
				     size_t *ret_n)
{
	if (!prog || i >= prog->n) {
		*ret_n = 0;
		return NULL;
	}
	*ret_n = prog->items[i].n_ids;
	return prog->items[i].ids;
}

const char *const *pt__expr_prog_manifest_ids(const struct pt_expr_prog *prog,
					      size_t i, size_t *ret_n)
{
	if (!prog || i >= prog->n) {
		*ret_n = 0;
		return NULL;
	}
	*ret_n = prog->items[i].n_manifest;
	return prog->items[i].manifest;
}

const char *pt__expr_prog_manifest_text(const struct pt_expr_prog *prog,
					size_t i)
{
	return prog && i < prog->n ? prog->items[i].manifest_text : NULL;
}

const char *const *pt__expr_prog_all_ids(const struct pt_expr_prog *prog,
					 size_t *ret_n)
{
	*ret_n = prog ? prog->n_all : 0;
	return prog ? prog->all_ids : NULL;
}

size_t pt__expr_prog_splits(const struct pt_expr_prog *prog)
{
	return prog ? prog->n_splits : 0;
}

bool pt__expr_prog_expr_splits(const struct pt_expr_prog *prog, size_t i)
{
	return prog && i < prog->n && prog->items[i].splits;
}

size_t pt__expr_prog_may_differ(const struct pt_expr_prog *prog)
{
	return prog ? prog->n_differ : 0;
}

bool pt__expr_prog_expr_may_differ(const struct pt_expr_prog *prog, size_t i)
{
	return prog && i < prog->n && prog->items[i].may_differ;
}

const char *pt__expr_status_name(enum pt_expr_status s)
{
	switch (s) {
	case PT_EXPR_PASS:
		return "pass";
	case PT_EXPR_FAIL:
		return "fail";
	case PT_EXPR_CANNOT_EVALUATE:
		return "cannot-evaluate";
	case PT_EXPR_ERROR:
		return "error";
	}
	return "unknown";
}

/* ------------------------------------------------------------------ */
/* Evaluation                                                          */
/* ------------------------------------------------------------------ */

/* The records bound to the aliases of the leaf being evaluated. */
struct env {
	const struct pt_expr_record *rec[PT_EXPR_MAX_RESOURCES];
};

/* An exception: the tuple counts as false (PlainBox catches everything). */
#define RAISE (-1)

static int ev(const struct env *e, const struct node *nd, struct val *out);

static bool truthy(const struct val *v)
{
	switch (v->t) {
	case V_NONE:
		return false;
	case V_BOOL:
	case V_INT:
		return v->i != 0;
	case V_FLOAT:
		return v->f != 0.0;
	case V_STR:
		return v->s.n != 0;
	case V_LIST:
	case V_TUPLE:
		return v->seq->n != 0;
	default:
		return true; /* a record object */
	}
}

static bool is_num(const struct val *v)
{
	return v->t == V_BOOL || v->t == V_INT || v->t == V_FLOAT;
}

/* Exact comparison of an int and a double (Python compares exactly). */
static int cmp_int_float(int64_t i, double d)
{
	if (d >= 9223372036854775808.0)
		return -1;
	if (d < -9223372036854775808.0)
		return 1;
	double t = trunc(d);
	int64_t ti = (int64_t)t;
	if (i != ti)
		return i < ti ? -1 : 1;
	return d > t ? -1 : d < t ? 1 : 0;
}

/*
 * Numeric three-way comparison; *unordered for NaN. Both must be numbers.
 */
static int num_cmp(const struct val *a, const struct val *b, bool *unordered)
{
	*unordered = false;
	if (a->t != V_FLOAT && b->t != V_FLOAT)
		return a->i < b->i ? -1 : a->i > b->i;
	if (a->t == V_FLOAT && b->t == V_FLOAT) {
		if (isnan(a->f) || isnan(b->f)) {
			*unordered = true;
			return 0;
		}
		return a->f < b->f ? -1 : a->f > b->f;
	}
	if (a->t == V_FLOAT) {
		if (isnan(a->f)) {
			*unordered = true;
			return 0;
		}
		return -cmp_int_float(b->i, a->f);
	}
	if (isnan(b->f)) {
		*unordered = true;
		return 0;
	}
	return cmp_int_float(a->i, b->f);
}

static int str_cmp(const struct val *a, const struct val *b)
{
	size_t n = PT_MIN(a->s.n, b->s.n);
	int c = n ? memcmp(a->s.p, b->s.p, n) : 0;

	if (c)
		return c < 0 ? -1 : 1;
	return a->s.n < b->s.n ? -1 : a->s.n > b->s.n;
}

/* The value of key k[0..kl) (no NUL in it) in r, or NULL. */
static inline const char *field_get(const struct pt_expr_record *r,
				    const char *k, size_t kl)
{
	for (size_t i = 0; i < r->n_fields; i++) {
		const char *fk = r->fields[i].key;
		size_t j = 0;
		/* Stops at fk's NUL since k has none. */
		while (j < kl && fk[j] == k[j])
			j++;
		if (j == kl && fk[kl] == '\0')
			return r->fields[i].value;
	}
	return NULL;
}

/* v (NUL-terminated; NULL reads as "") equals c[0..cn) (no NUL in c). */
static inline bool str_is(const char *v, const char *c, size_t cn)
{
	if (!v)
		return cn == 0;
	return strncmp(v, c, cn) == 0 && v[cn] == '\0';
}

static bool eval_fast(const struct env *e, const struct node *nd)
{
	const struct node *a = nd->kids[0], *b = nd->kids[1];
	bool neg = nd->cmps[0] == C_NE || nd->cmps[0] == C_NOTIN;
	bool r = false;

	switch (nd->fast) {
	case FAST_ATTR_EQ_STR: {
		if (a->kind != N_ATTR) {
			const struct node *t = a;
			a = b;
			b = t;
		}
		const char *v = field_get(e->rec[a->kids[0]->alias], a->name,
					  a->name_len);
		r = str_is(v, b->c.s.p, b->c.s.n);
		break;
	}
	case FAST_ATTR_IN_STRS: {
		const char *v = field_get(e->rec[a->kids[0]->alias], a->name,
					  a->name_len);
		for (uint32_t k = 0; k < b->n && !r; k++) {
			const struct val *c = &b->kids[k]->c;
			r = c->t == V_STR && str_is(v, c->s.p, c->s.n);
		}
		break;
	}
	default: { /* FAST_STR_IN_ATTR */
		const char *v = field_get(e->rec[b->kids[0]->alias], b->name,
					  b->name_len);
		r = a->c.s.n == 0 ||
		    (v && find_bytes(v, strlen(v), a->c.s.p, a->c.s.n));
		break;
	}
	}
	return r != neg;
}

static bool rec_eq(const struct pt_expr_record *a,
		   const struct pt_expr_record *b)
{
	size_t na = 0, nb = 0;

	if (a == b)
		return true;
	/* Dict equality: same key set, same values (keys unique per dict). */
	for (size_t i = 0; i < a->n_fields; i++) {
		const char *k = a->fields[i].key;
		const char *v = field_get(b, k, strlen(k));
		if (field_get(a, k, strlen(k)) != a->fields[i].value)
			continue; /* a duplicate key: the first one counts */
		na++;
		if (!v || strcmp(v, a->fields[i].value) != 0)
			return false;
	}
	for (size_t i = 0; i < b->n_fields; i++) {
		const char *k = b->fields[i].key;
		if (field_get(b, k, strlen(k)) == b->fields[i].value)
			nb++;
	}
	return na == nb;
}

static int val_eq(const struct env *e, const struct val *a, const struct val *b,
		  bool *res);

/* Element i of a sequence value (evaluated on demand). */
static int seq_item(const struct env *e, const struct val *s, size_t i,
		    struct val *out)
{
	return ev(e, s->seq->kids[i], out);
}

static int val_eq(const struct env *e, const struct val *a, const struct val *b,
		  bool *res)
{
	if (is_num(a) && is_num(b)) {
		bool un;
		int c = num_cmp(a, b, &un);
		*res = !un && c == 0;
		return 0;
	}
	if (a->t != b->t) {
		*res = false;
		return 0;
	}
	switch (a->t) {
	case V_NONE:
		*res = true;
		return 0;
	case V_STR:
		*res = a->s.n == b->s.n && memcmp(a->s.p, b->s.p, a->s.n) == 0;
		return 0;
	case V_REC:
		*res = rec_eq(a->rec, b->rec);
		return 0;
	case V_LIST:
	case V_TUPLE:
		if (a->seq->n != b->seq->n) {
			*res = false;
			return 0;
		}
		for (size_t i = 0; i < a->seq->n; i++) {
			struct val x, y;
			if (seq_item(e, a, i, &x) < 0 ||
			    seq_item(e, b, i, &y) < 0 ||
			    val_eq(e, &x, &y, res) < 0)
				return RAISE;
			if (!*res)
				return 0;
		}
		*res = true;
		return 0;
	default:
		*res = false;
		return 0;
	}
}

/* <, <=, >, >= with Python's rules; RAISE on TypeError. */
__attribute__((noinline)) static int val_order(const struct env *e, int op,
					       const struct val *a,
					       const struct val *b, bool *res)
{
	int c;

	if (is_num(a) && is_num(b)) {
		bool un;
		c = num_cmp(a, b, &un);
		if (un) {
			*res = false;
			return 0;
		}
	} else if (a->t == V_STR && b->t == V_STR) {
		c = str_cmp(a, b);
	} else if ((a->t == V_LIST || a->t == V_TUPLE) && a->t == b->t) {
		/* Lexicographic: the first unequal pair decides. */
		size_t n = PT_MIN(a->seq->n, b->seq->n);
		for (size_t i = 0; i < n; i++) {
			struct val x, y;
			bool eq;
			if (seq_item(e, a, i, &x) < 0 ||
			    seq_item(e, b, i, &y) < 0 ||
			    val_eq(e, &x, &y, &eq) < 0)
				return RAISE;
			if (!eq)
				return val_order(e, op, &x, &y, res);
		}
		c = a->seq->n < b->seq->n ? -1 : a->seq->n > b->seq->n;
	} else {
		return RAISE; /* TypeError: '<' not supported */
	}
	switch (op) {
	case C_LT:
		*res = c < 0;
		break;
	case C_LE:
		*res = c <= 0;
		break;
	case C_GT:
		*res = c > 0;
		break;
	default:
		*res = c >= 0;
		break;
	}
	return 0;
}

/* Python's `x in c`. */
__attribute__((noinline)) static int
val_in(const struct env *e, const struct val *x, const struct val *c, bool *res)
{
	switch (c->t) {
	case V_STR:
		if (x->t != V_STR)
			return RAISE; /* 'in <string>' requires string */
		*res = x->s.n == 0 ||
		       (x->s.n <= c->s.n &&
			find_bytes(c->s.p, c->s.n, x->s.p, x->s.n));
		return 0;
	case V_LIST:
	case V_TUPLE:
		for (size_t i = 0; i < c->seq->n; i++) {
			struct val y;
			if (seq_item(e, c, i, &y) < 0 ||
			    val_eq(e, x, &y, res) < 0)
				return RAISE;
			if (*res)
				return 0;
		}
		*res = false;
		return 0;
	case V_REC:
		/* A Resource iterates over its keys. */
		if (x->t == V_STR) {
			if (x->s.n == 0 || find_bytes(x->s.p, x->s.n, "", 1))
				*res = x->s.n == 0 && field_get(c->rec, "", 0);
			else
				*res = field_get(c->rec, x->s.p, x->s.n) !=
				       NULL;
			return 0;
		}
		*res = false;
		return 0;
	default:
		return RAISE; /* argument of type 'int' is not iterable */
	}
}

/* One code point below 256: CPython keeps a single object for each. */
static bool latin1_char(const struct val *v)
{
	const unsigned char *p = (const unsigned char *)v->s.p;

	return v->s.n == 0 || (v->s.n == 1 && p[0] < 0x80) ||
	       (v->s.n == 2 && (p[0] == 0xc2 || p[0] == 0xc3));
}

/*
 * CPython's identity for the values we have (docs/expr.md): None, bools
 * and the ints -5..256 are singletons; equal constants of one expression
 * are one object (the compiler shares them, and folds tuples of
 * constants); the empty string, strings of one Latin-1 character and the
 * empty tuple are singletons; the same record is itself. Anything
 * computed at run time (a string read from a record, int() of it, a
 * list) is a new object.
 */
static bool val_is(const struct env *e, const struct val *a,
		   const struct val *b)
{
	bool eq;

	if (a->t != b->t)
		return false;
	switch (a->t) {
	case V_NONE:
		return true;
	case V_BOOL:
		return a->i == b->i;
	case V_INT:
		return a->i == b->i &&
		       ((a->i >= -5 && a->i <= 256) || (a->konst && b->konst));
	case V_FLOAT:
		return a->konst && b->konst &&
		       memcmp(&a->f, &b->f, sizeof(a->f)) == 0;
	case V_STR:
		return a->s.n == b->s.n &&
		       memcmp(a->s.p, b->s.p, a->s.n) == 0 &&
		       ((a->konst && b->konst) || latin1_char(a));
	case V_TUPLE:
		if (a->seq->n == 0 && b->seq->n == 0)
			return true;
		return a->konst && b->konst && val_eq(e, a, b, &eq) == 0 && eq;
	case V_REC:
		return a->rec == b->rec;
	default:
		return false; /* a list is always a new object */
	}
}

static int compare(const struct env *e, int op, const struct val *a,
		   const struct val *b, bool *res)
{
	int r;

	switch (op) {
	case C_EQ:
		return val_eq(e, a, b, res);
	case C_NE:
		r = val_eq(e, a, b, res);
		*res = !*res;
		return r;
	case C_IN:
		return val_in(e, a, b, res);
	case C_NOTIN:
		r = val_in(e, a, b, res);
		*res = !*res;
		return r;
	case C_IS:
		*res = val_is(e, a, b);
		return 0;
	case C_ISNOT:
		*res = !val_is(e, a, b);
		return 0;
	default:
		return val_order(e, op, a, b, res);
	}
}

/* Python's int(str): strip, sign, digits with single underscores. */
__attribute__((noinline)) static int str_to_int(const char *p, size_t n,
						int64_t *ret)
{
	struct pt_slice s = strip(p, n);
	size_t i = 0;
	bool neg = false;
	uint64_t v = 0, lim;

	if (s.len && (s.p[0] == '+' || s.p[0] == '-'))
		neg = s.p[i++] == '-';
	if (i >= s.len)
		return RAISE;
	lim = neg ? UINT64_C(9223372036854775808)
		  : UINT64_C(9223372036854775807);
	for (; i < s.len; i++) {
		char c = s.p[i];
		if (c == '_' && i + 1 < s.len && dig10(s.p[i + 1]) && i > 0 &&
		    dig10(s.p[i - 1]))
			continue;
		if (!dig10(c))
			return RAISE;
		uint64_t d = (uint64_t)(c - '0');
		if (v > (lim - d) / 10)
			return RAISE; /* beyond 64 bits (docs/expr.md) */
		v = v * 10 + d;
	}
	*ret = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

static bool ieq(const char *a, size_t n, const char *lit)
{
	if (strlen(lit) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((a[i] | 0x20) != lit[i])
			return false;
	return true;
}

/* Python's float(str). */
__attribute__((noinline)) static int str_to_float(const char *p, size_t n,
						  double *ret)
{
	struct pt_slice s = strip(p, n);
	size_t i = 0, start;
	bool neg = false;
	char mant[400];
	size_t ml = 0;
	long exp = 0;
	bool digits = false;

	if (s.len && (s.p[0] == '+' || s.p[0] == '-'))
		neg = s.p[i++] == '-';
	if (ieq(s.p + i, s.len - i, "inf") ||
	    ieq(s.p + i, s.len - i, "infinity")) {
		*ret = neg ? -INFINITY : INFINITY;
		return 0;
	}
	if (ieq(s.p + i, s.len - i, "nan")) {
		*ret = NAN;
		return 0;
	}
	start = i;
	for (; i < s.len; i++) {
		char c = s.p[i];
		if (dig10(c)) {
			digits = true;
		} else if (c == '_') {
			if (!(i > start && dig10(s.p[i - 1]) && i + 1 < s.len &&
			      dig10(s.p[i + 1])))
				return RAISE;
			continue;
		} else if (c == '.') {
			if (memchr(mant, '.', ml))
				return RAISE;
		} else {
			break;
		}
		if (ml + 1 >= sizeof(mant))
			return RAISE; /* very long: docs/expr.md */
		mant[ml++] = c;
	}
	if (!digits)
		return RAISE;
	if (i < s.len && (s.p[i] == 'e' || s.p[i] == 'E')) {
		bool eneg = false;
		i++;
		if (i < s.len && (s.p[i] == '+' || s.p[i] == '-'))
			eneg = s.p[i++] == '-';
		size_t es = i;
		for (; i < s.len; i++) {
			if (dig10(s.p[i])) {
				if (exp < 1000000)
					exp = exp * 10 + (s.p[i] - '0');
			} else if (s.p[i] == '_' && i > es &&
				   dig10(s.p[i - 1]) && i + 1 < s.len &&
				   dig10(s.p[i + 1])) {
				continue;
			} else {
				break;
			}
		}
		if (i == es)
			return RAISE;
		if (eneg)
			exp = -exp;
	}
	if (i != s.len)
		return RAISE;
	if (!decimal_to_double(mant, ml, exp, ret))
		return RAISE;
	if (neg)
		*ret = -*ret;
	return 0;
}

/* Code points of UTF-8 text (Python's len of the decoded str). */
static size_t utf8_len(const char *p, size_t n)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)p[i] & 0xc0) != 0x80;
	return c;
}

__attribute__((noinline)) static int
call(const struct env *e, const struct node *nd, struct val *out)
{
	struct val a;

	if (nd->n > 1 || (nd->n == 0 && nd->op == F_LEN))
		return RAISE; /* TypeError: wrong number of arguments */
	if (nd->n == 0) {
		out->t = nd->op == F_BOOL  ? V_BOOL
			 : nd->op == F_INT ? V_INT
					   : V_FLOAT;
		out->i = 0;
		if (nd->op == F_FLOAT)
			out->f = 0.0;
		return 0;
	}
	if (ev(e, nd->kids[0], &a) < 0)
		return RAISE;
	switch (nd->op) {
	case F_BOOL:
		out->t = V_BOOL;
		out->i = truthy(&a);
		return 0;
	case F_LEN:
		out->t = V_INT;
		if (a.t == V_STR)
			out->i = (int64_t)utf8_len(a.s.p, a.s.n);
		else if (a.t == V_LIST || a.t == V_TUPLE)
			out->i = (int64_t)a.seq->n;
		else
			return RAISE; /* object has no len() */
		return 0;
	case F_INT:
		out->t = V_INT;
		if (a.t == V_BOOL || a.t == V_INT) {
			out->i = a.i;
			return 0;
		}
		if (a.t == V_FLOAT) {
			if (!(a.f > -9223372036854775808.0 - 1.0 &&
			      a.f < 9223372036854775808.0))
				return RAISE; /* nan, inf, beyond 64 bits */
			out->i = (int64_t)trunc(a.f);
			return 0;
		}
		if (a.t == V_STR)
			return str_to_int(a.s.p, a.s.n, &out->i);
		return RAISE;
	default: /* F_FLOAT */
		out->t = V_FLOAT;
		if (a.t == V_BOOL || a.t == V_INT) {
			out->f = (double)a.i;
			return 0;
		}
		if (a.t == V_FLOAT) {
			out->f = a.f;
			return 0;
		}
		if (a.t == V_STR)
			return str_to_float(a.s.p, a.s.n, &out->f);
		return RAISE;
	}
}

static int ev(const struct env *e, const struct node *nd, struct val *out)
{
	out->konst = 0;
	switch (nd->kind) {
	case N_CONST:
		*out = nd->c;
		return 0;
	case N_NAME:
		if (nd->alias < 0)
			return RAISE; /* NameError (compat: name in a call) */
		out->t = V_REC;
		out->rec = e->rec[nd->alias];
		return 0;
	case N_ATTR: {
		struct val base;
		if (ev(e, nd->kids[0], &base) < 0 || base.t != V_REC)
			return RAISE; /* AttributeError */
		if (nd->name_len >= 2 && nd->name[0] == '_' &&
		    (nd->name[1] == '_' ||
		     (nd->name_len == 5 && memcmp(nd->name, "_data", 5) == 0)))
			return RAISE; /* Resource internals */
		const char *v = field_get(base.rec, nd->name, nd->name_len);
		out->t = V_STR;
		out->s.p = v ? v : "";
		out->s.n = v ? strlen(v) : 0;
		return 0;
	}
	case N_CALL:
		return call(e, nd, out);
	case N_CMP: {
		struct val a, b;
		bool res = true;
		if (nd->fast) {
			out->t = V_BOOL;
			out->i = eval_fast(e, nd);
			return 0;
		}
		if (ev(e, nd->kids[0], &a) < 0)
			return RAISE;
		for (uint32_t k = 1; k < nd->n; k++) {
			if (ev(e, nd->kids[k], &b) < 0 ||
			    compare(e, nd->cmps[k - 1], &a, &b, &res) < 0)
				return RAISE;
			if (!res)
				break;
			a = b;
		}
		out->t = V_BOOL;
		out->i = res;
		return 0;
	}
	case N_AND:
	case N_OR:
		/* Python returns the deciding operand itself. */
		for (uint32_t k = 0; k < nd->n; k++) {
			if (ev(e, nd->kids[k], out) < 0)
				return RAISE;
			if (truthy(out) == (nd->kind == N_OR))
				return 0;
		}
		return 0;
	case N_NOT: {
		struct val a;
		if (ev(e, nd->kids[0], &a) < 0)
			return RAISE;
		out->t = V_BOOL;
		out->i = !truthy(&a);
		return 0;
	}
	case N_LIST:
	case N_TUPLE:
		/* Python builds the sequence eagerly: any element may raise. */
		if (!nd->pure) {
			for (uint32_t k = 0; k < nd->n; k++) {
				struct val x;
				if (ev(e, nd->kids[k], &x) < 0)
					return RAISE;
			}
		}
		out->t = nd->kind == N_LIST ? V_LIST : V_TUPLE;
		out->konst = nd->konst;
		out->seq = nd;
		return 0;
	default:
		return RAISE; /* rejected at parse time */
	}
}

enum leaf_result {
	L_FALSE = 0,
	L_TRUE = 1,
	L_ERROR = 2,
};

/* The leaf holds for some tuple of the product of its resources. */
static enum leaf_result eval_leaf(const struct leaf *lf,
				  pt_expr_lookup_fn *lookup, void *ctx,
				  const char **ret_err)
{
	const struct pt_expr_records *lists[PT_EXPR_MAX_RESOURCES];
	size_t idx[PT_EXPR_MAX_RESOURCES];
	struct env e;
	uint64_t total = 1;

	for (size_t k = 0; k < lf->n_alias; k++) {
		lists[k] = lookup(ctx, lf->ids[k]);
		if (!lists[k] || lists[k]->n == 0)
			return L_FALSE;
		if (__builtin_mul_overflow(total, (uint64_t)lists[k]->n,
					   &total) ||
		    total > PT_EXPR_MAX_PRODUCT) {
			*ret_err =
				"too many combinations of records (more than PT_EXPR_MAX_PRODUCT)";
			return L_ERROR;
		}
		idx[k] = 0;
		e.rec[k] = &lists[k]->v[0];
	}
	for (;;) {
		struct val v;
		if (ev(&e, lf->root, &v) == 0 && truthy(&v))
			return L_TRUE;
		/* Next tuple, last resource fastest (itertools.product). */
		size_t k = lf->n_alias;
		while (k > 0) {
			k--;
			if (++idx[k] < lists[k]->n) {
				e.rec[k] = &lists[k]->v[idx[k]];
				break;
			}
			idx[k] = 0;
			e.rec[k] = &lists[k]->v[0];
			if (k == 0)
				return L_FALSE;
		}
	}
}

static enum leaf_result eval_split(const struct split *sp,
				   pt_expr_lookup_fn *lookup, void *ctx,
				   const char **ret_err)
{
	enum leaf_result r;

	switch (sp->kind) {
	case S_LEAF:
		return eval_leaf(&sp->leaf, lookup, ctx, ret_err);
	case S_BAD:
		*ret_err = sp->error;
		return L_ERROR;
	default:
		/* Both halves are built before either is evaluated. */
		if (sp->l->kind == S_BAD || sp->r->kind == S_BAD) {
			*ret_err = sp->l->kind == S_BAD ? sp->l->error
							: sp->r->error;
			return L_ERROR;
		}
		r = eval_split(sp->l, lookup, ctx, ret_err);
		if (r == L_ERROR)
			return r;
		if ((r == L_TRUE) == (sp->kind == S_OR))
			return r;
		return eval_split(sp->r, lookup, ctx, ret_err);
	}
}

void pt__expr_prog_eval(const struct pt_expr_prog *prog,
			pt_expr_lookup_fn *lookup, void *ctx,
			struct pt_expr_result *ret)
{
	struct pt_expr_result r = { .status = PT_EXPR_PASS };

	for (size_t i = 0; i < prog->n; i++) {
		const struct item *it = &prog->items[i];
		for (size_t k = 0; k < it->n_ids; k++) {
			if (!lookup(ctx, it->ids[k])) {
				r.status = PT_EXPR_CANNOT_EVALUATE;
				r.expr = i;
				r.missing = it->ids[k];
				*ret = r;
				return;
			}
		}
	}
	for (size_t i = 0; i < prog->n; i++) {
		const char *error = NULL;
		enum leaf_result lr =
			eval_split(prog->items[i].root, lookup, ctx, &error);
		if (lr == L_TRUE)
			continue;
		r.status = lr == L_ERROR ? PT_EXPR_ERROR : PT_EXPR_FAIL;
		r.expr = i;
		r.error = lr == L_ERROR ? error : NULL;
		break;
	}
	*ret = r;
}

struct one_ctx {
	const char *id;
	struct pt_expr_records list;
};

static const struct pt_expr_records *one_lookup(void *ctx, const char *id)
{
	const struct one_ctx *c = ctx;

	return strcmp(c->id, id) == 0 ? &c->list : NULL;
}

void pt__expr_prog_eval_one(const struct pt_expr_prog *prog, const char *id,
			    const struct pt_expr_record *rec,
			    struct pt_expr_result *ret)
{
	struct one_ctx c = { id, { rec, 1 } };

	pt__expr_prog_eval(prog, one_lookup, &c, ret);
}
