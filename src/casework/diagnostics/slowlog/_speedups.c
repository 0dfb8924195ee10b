/* Optional C speedups for the slow-log digest (casework.diagnostics.slowlog).
 *
 * The pure-Python code is the reference and stays in use when this module is missing or disabled
 * (CASEWORK_NO_SPEEDUPS=1); tests/test_slowlog_speedups.py checks that both give identical results.
 *
 * mask_mysql(s) == re.compile(r"'.*?'|[0-9+-][0-9a-f.xb+-]*", re.S).sub("?", s)
 * mask_pg(s)    == re.compile(r"'(?:[^']|'')*'|(?<![$\w])[0-9+-][0-9a-f.xb+-]*").sub("?", s)
 *
 * Both are one left-to-right pass, as re.sub is: at each position the string alternative is tried first, then
 * the number alternative, else the character is copied. The look-behind reads the ORIGINAL text (as re.sub's
 * does), with Python's Unicode \w (alphanumeric or '_').
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <structmember.h>

static inline int is_num_start(Py_UCS4 c) { return (c >= '0' && c <= '9') || c == '+' || c == '-'; }

static inline int is_num_char(Py_UCS4 c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '.' || c == 'x' || c == '+' || c == '-';
}

static inline int is_word(Py_UCS4 c) { return c == '_' || Py_UNICODE_ISALNUM(c); }

/* End (exclusive) of the PostgreSQL string literal that starts with the quote at i, or -1 when none does.
 * '(?:[^']|'')*' is greedy: it runs over non-quotes and '' pairs; it then needs a quote. At the end of the
 * text it backtracks to the last '' pair and ends with that pair's first quote. */
static Py_ssize_t pg_string_end(int kind, const void *data, Py_ssize_t n, Py_ssize_t i)
{
    Py_ssize_t j = i + 1, last_pair = -1;
    while (j < n) {
        Py_UCS4 c = PyUnicode_READ(kind, data, j);
        if (c != '\'') {
            j++;
        } else if (j + 1 < n && PyUnicode_READ(kind, data, j + 1) == '\'') {
            last_pair = j;
            j += 2;
        } else {
            return j + 1; /* the closing quote */
        }
    }
    return last_pair >= 0 ? last_pair + 1 : -1;
}

static PyObject *mask(PyObject *arg, int pg)
{
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "mask: a str is required");
        return NULL;
    }
    if (PyUnicode_READY(arg) < 0)
        return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(arg);
    int kind = PyUnicode_KIND(arg);
    const void *data = PyUnicode_DATA(arg);
    void *out = PyMem_Malloc(n > 0 ? (size_t)n * (size_t)kind : 1);
    if (out == NULL)
        return PyErr_NoMemory();
    Py_ssize_t i = 0, o = 0;
    while (i < n) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c == '\'') {
            Py_ssize_t end = -1;
            if (pg) {
                end = pg_string_end(kind, data, n, i);
            } else {
                for (Py_ssize_t j = i + 1; j < n; j++) {
                    if (PyUnicode_READ(kind, data, j) == '\'') {
                        end = j + 1;
                        break;
                    }
                }
            }
            if (end >= 0) {
                PyUnicode_WRITE(kind, out, o, '?');
                o++;
                i = end;
                continue;
            }
            /* no string here; a quote starts no number either */
        } else if (is_num_start(c)) {
            int ok = 1;
            if (pg && i > 0) {
                Py_UCS4 b = PyUnicode_READ(kind, data, i - 1);
                ok = !(b == '$' || is_word(b));
            }
            if (ok) {
                i++;
                while (i < n && is_num_char(PyUnicode_READ(kind, data, i)))
                    i++;
                PyUnicode_WRITE(kind, out, o, '?');
                o++;
                continue;
            }
        }
        PyUnicode_WRITE(kind, out, o, c);
        o++;
        i++;
    }
    /* FromKindAndData finds the widest character left, so the result is a canonical str (equal and hashing
     * equal to the same text built any other way). */
    PyObject *res = PyUnicode_FromKindAndData(kind, out, o);
    PyMem_Free(out);
    return res;
}

static inline unsigned char lower_ascii(unsigned char c) { return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c; }

static inline int starts_ci(const unsigned char *s, Py_ssize_t n, Py_ssize_t i, const char *word)
{
    Py_ssize_t len = (Py_ssize_t)strlen(word);
    if (i + len > n)
        return 0;
    for (Py_ssize_t k = 0; k < len; k++)
        if (lower_ascii(s[i + k]) != (unsigned char)word[k])
            return 0;
    return 1;
}

/* quick_key(query, pg): fingerprint.cache_key's masked text when none of its other steps applies, else None.
 *
 * None (the caller runs the Python cache_key) unless: the query is ASCII (so lower() and lstrip() are the ASCII
 * ones), does not start with "administrator command: ", its head (query[:64].lstrip()[:4].lower()) is not "call"
 * and does not start with "use", and it holds no "/" "*" pair (checksums, mysqldump, comments), no "--" and no '#'
 * (one-line comments), no "true"/"false" in any case, and for MySQL no backslash, no '"', and no ',' in an
 * INSERT/REPLACE (pt's multi-row cut). Then every step of cache_key before masking leaves the query as it is, and
 * the key's text is mask(query). */
static PyObject *quick_key_impl(PyObject *q, int pg);

static PyObject *quick_key(PyObject *self, PyObject *args)
{
    PyObject *q;
    int pg;
    if (!PyArg_ParseTuple(args, "Up:quick_key", &q, &pg))
        return NULL;
    return quick_key_impl(q, pg);
}

static PyObject *quick_key_impl(PyObject *q, int pg)
{
    if (PyUnicode_READY(q) < 0)
        return NULL;
    if (!PyUnicode_IS_ASCII(q))
        Py_RETURN_NONE;
    const unsigned char *s = PyUnicode_1BYTE_DATA(q);
    Py_ssize_t n = PyUnicode_GET_LENGTH(q);
    if (n >= 23 && memcmp(s, "administrator command: ", 23) == 0)
        Py_RETURN_NONE;
    Py_ssize_t lim = n < 64 ? n : 64, i = 0;
    while (i < lim && Py_UNICODE_ISSPACE(s[i]))
        i++;
    Py_ssize_t hl = lim - i < 4 ? lim - i : 4;
    if (hl == 4 && starts_ci(s, n, i, "call"))
        Py_RETURN_NONE;
    if (hl >= 3 && starts_ci(s, n, i, "use"))
        Py_RETURN_NONE;
    int insert = !pg && hl == 4 && (starts_ci(s, n, i, "inse") || starts_ci(s, n, i, "repl"));
    for (Py_ssize_t j = 0; j < n; j++) {
        unsigned char c = s[j];
        switch (c) {
        case '/':
            if (j + 1 < n && s[j + 1] == '*')
                Py_RETURN_NONE;
            break;
        case '-':
            if (j + 1 < n && s[j + 1] == '-')
                Py_RETURN_NONE;
            break;
        case '#':
            Py_RETURN_NONE;
        case '\\':
        case '"':
            if (!pg)
                Py_RETURN_NONE;
            break;
        case ',':
            if (insert)
                Py_RETURN_NONE;
            break;
        case 't':
        case 'T':
            if (starts_ci(s, n, j, "true"))
                Py_RETURN_NONE;
            break;
        case 'f':
        case 'F':
            if (starts_ci(s, n, j, "false"))
                Py_RETURN_NONE;
            break;
        default:
            break;
        }
    }
    return mask(q, pg);
}

/* insert_key(query): fingerprint.cache_key(query, "mysql")'s masked text for an ASCII INSERT or REPLACE (at the
 * query's very start) whose key is its text after pt's multi-row cut, masked; else None (the caller runs
 * fingerprint). The cut is _MULTI_INSERT.match(query), one way to match: (INSERT|REPLACE)( IGNORE)?\s+INTO, then
 * .+? up to the first VALUES\s*\( (at least one character after INTO) that some ")\s*,\s*(" follows, and .*? up to
 * the first such ")" (when the first VALUES\s*\( has none, no later one has any). None when the query holds a
 * "/" "*" pair or the cut text holds any other thing cache_key treats apart ("--", '#', a backslash, '"', true or
 * false in any case). The query being ASCII, re.I and \s are the ASCII ones. */
static PyObject *insert_key_impl(PyObject *q)
{
    if (PyUnicode_READY(q) < 0)
        return NULL;
    if (!PyUnicode_IS_ASCII(q))
        Py_RETURN_NONE;
    const unsigned char *s = PyUnicode_1BYTE_DATA(q);
    Py_ssize_t n = PyUnicode_GET_LENGTH(q), p;
    if (starts_ci(s, n, 0, "insert"))
        p = 6;
    else if (starts_ci(s, n, 0, "replace"))
        p = 7;
    else
        Py_RETURN_NONE;
    for (Py_ssize_t j = 0; j + 1 < n; j++)
        if (s[j] == '/' && s[j + 1] == '*')
            Py_RETURN_NONE;
    Py_ssize_t hend = n; /* h = query[:hend] */
    if (p + 7 <= n && s[p] == ' ' && starts_ci(s, n, p + 1, "ignore"))
        p += 7; /* without " IGNORE", \s+INTO would meet "IGNORE" */
    Py_ssize_t w = p;
    while (w < n && Py_UNICODE_ISSPACE(s[w]))
        w++;
    if (w > p && starts_ci(s, n, w, "into")) {
        for (Py_ssize_t v = w + 5; v + 6 <= n; v++) {
            if (!starts_ci(s, n, v, "values"))
                continue;
            Py_ssize_t o = v + 6;
            while (o < n && Py_UNICODE_ISSPACE(s[o]))
                o++;
            if (o >= n || s[o] != '(')
                continue;
            for (Py_ssize_t c = o + 1; c < n && hend == n; c++) {
                if (s[c] != ')')
                    continue;
                Py_ssize_t k = c + 1;
                while (k < n && Py_UNICODE_ISSPACE(s[k]))
                    k++;
                if (k >= n || s[k] != ',')
                    continue;
                k++;
                while (k < n && Py_UNICODE_ISSPACE(s[k]))
                    k++;
                if (k < n && s[k] == '(')
                    hend = c + 1;
            }
            break;
        }
    }
    for (Py_ssize_t j = 0; j < hend; j++) {
        unsigned char c = s[j];
        switch (c) {
        case '-':
            if (j + 1 < hend && s[j + 1] == '-')
                Py_RETURN_NONE;
            break;
        case '#':
        case '\\':
        case '"':
            Py_RETURN_NONE;
        case 't':
        case 'T':
            if (j + 4 <= hend && starts_ci(s, hend, j, "true"))
                Py_RETURN_NONE;
            break;
        case 'f':
        case 'F':
            if (j + 5 <= hend && starts_ci(s, hend, j, "false"))
                Py_RETURN_NONE;
            break;
        default:
            break;
        }
    }
    if (hend == n)
        return mask(q, 0);
    PyObject *h = PyUnicode_Substring(q, 0, hend);
    if (h == NULL)
        return NULL;
    PyObject *out = mask(h, 0);
    Py_DECREF(h);
    return out;
}

static PyObject *insert_key(PyObject *self, PyObject *arg)
{
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "insert_key: a str is required");
        return NULL;
    }
    return insert_key_impl(arg);
}

/* -- PostgreSQL stderr framing (fastscan._pg_frame_py, line by line) ------------------------------------------- */

typedef struct {
    int kind;
    const void *data;
    Py_ssize_t n;
} Text;

static inline Py_UCS4 at(const Text *t, Py_ssize_t i) { return PyUnicode_READ(t->kind, t->data, i); }

static inline int is_ascii_digit(Py_UCS4 c) { return c >= '0' && c <= '9'; }

/* str.find(ch, a, b) for one character; -1 when absent */
static Py_ssize_t find_ch(const Text *t, Py_UCS4 ch, Py_ssize_t a, Py_ssize_t b)
{
    for (Py_ssize_t i = a; i < b; i++)
        if (at(t, i) == ch)
            return i;
    return -1;
}

/* str.find(word, a, b) for an ASCII word: the match must lie wholly inside [a, b) */
static inline Py_ssize_t find_word(const Text *t, const char *word, Py_ssize_t a, Py_ssize_t b)
{
    Py_ssize_t len = (Py_ssize_t)strlen(word);
    for (Py_ssize_t i = a; i + len <= b; i++) {
        if (at(t, i) != (Py_UCS4)(unsigned char)word[0])
            continue;
        Py_ssize_t k = 1;
        while (k < len && at(t, i + k) == (Py_UCS4)(unsigned char)word[k])
            k++;
        if (k == len)
            return i;
    }
    return -1;
}

/* count_keys(s, start, end) == len(re.compile(r"Full_|Schema:|Thread_id:|# Time:|User@Host:").findall(s, start, end))
 * No key overlaps another or itself (no proper suffix of a key is a prefix of a key), so the non-overlapping
 * matches of the alternation are exactly the positions where some key starts and fits before end. */
static const char *const KEYS[] = {"Full_", "Schema:", "Thread_id:", "# Time:", "User@Host:"};

static const size_t KEY_LENS[] = {5, 7, 10, 7, 10};

static long count_keys_in(const Text *t, Py_ssize_t start, Py_ssize_t end)
{
    long hits = 0;
    if (t->kind == PyUnicode_1BYTE_KIND) { /* the same scan, one byte per character, skipping non-initials */
        static const unsigned char INITIAL[256] = {['F'] = 1, ['S'] = 1, ['T'] = 1, ['#'] = 1, ['U'] = 1};
        const Py_UCS1 *u = (const Py_UCS1 *)t->data;
        for (Py_ssize_t i = start; i < end; i++) {
            while (i < end && !INITIAL[u[i]])
                i++;
            if (i >= end)
                break;
            const char *key;
            Py_ssize_t len;
            switch (u[i]) {
            case 'F':
                key = "Full_", len = 5;
                break;
            case 'S':
                key = "Schema:", len = 7;
                break;
            case 'T':
                key = "Thread_id:", len = 10;
                break;
            case '#':
                key = "# Time:", len = 7;
                break;
            case 'U':
                key = "User@Host:", len = 10;
                break;
            default:
                continue;
            }
            if (i + len <= end && memcmp(u + i, key, (size_t)len) == 0) {
                hits++;
                i += len - 1;
            }
        }
        return hits;
    }
    const Py_UCS1 *u1 = t->kind == PyUnicode_1BYTE_KIND ? (const Py_UCS1 *)t->data : NULL;
    for (Py_ssize_t i = start; i < end; i++) {
        Py_UCS4 c = u1 ? u1[i] : at(t, i);
        if (c != 'F' && c != 'S' && c != 'T' && c != '#' && c != 'U')
            continue;
        for (size_t k = 0; k < sizeof(KEYS) / sizeof(KEYS[0]); k++) {
            const char *key = KEYS[k];
            if ((Py_UCS4)(unsigned char)key[0] != c)
                continue;
            size_t len = KEY_LENS[k];
            if (i + (Py_ssize_t)len > end)
                continue;
            size_t j = 1;
            while (j < len && at(t, i + (Py_ssize_t)j) == (Py_UCS4)(unsigned char)key[j])
                j++;
            if (j == len) {
                hits++;
                i += (Py_ssize_t)len - 1;
                break;
            }
        }
    }
    return hits;
}

static PyObject *count_keys(PyObject *self, PyObject *args)
{
    PyObject *s;
    Py_ssize_t start, end;
    if (!PyArg_ParseTuple(args, "Unn:count_keys", &s, &start, &end))
        return NULL;
    if (PyUnicode_READY(s) < 0)
        return NULL;
    Text t = {PyUnicode_KIND(s), PyUnicode_DATA(s), PyUnicode_GET_LENGTH(s)};
    /* slice semantics, as re's pos/endpos */
    if (start < 0)
        start = 0;
    if (end > t.n)
        end = t.n;
    return PyLong_FromLong(count_keys_in(&t, start, end));
}

static inline int is_tab_space(Py_UCS4 c) { return c == '\t' || c == ' '; }

#define PARAMS "DETAIL:  parameters: "

/* pg_frame(text, start, hend, gap_start) == fastscan._pg_frame_py(text, start, hend, gap_start) */
static PyObject *pg_frame(PyObject *self, PyObject *args)
{
    PyObject *text;
    Py_ssize_t start, hend, gap_start;
    if (!PyArg_ParseTuple(args, "Unnn:pg_frame", &text, &start, &hend, &gap_start))
        return NULL;
    if (PyUnicode_READY(text) < 0)
        return NULL;
    Text t = {PyUnicode_KIND(text), PyUnicode_DATA(text), PyUnicode_GET_LENGTH(text)};
    Py_ssize_t n = t.n;
    if (start < 0 || start > n || hend < start || hend > n) {
        PyErr_SetString(PyExc_ValueError, "pg_frame: positions out of range");
        return NULL;
    }
    Py_ssize_t ls = start;
    while (ls > 0 && at(&t, ls - 1) != '\n')
        ls--;
    if (ls < gap_start)
        Py_RETURN_NONE;
    if (ls < start && (is_tab_space(at(&t, ls)) || find_word(&t, "duration: ", ls, start) >= 0))
        Py_RETURN_NONE;
    Py_ssize_t nl = find_ch(&t, '\n', hend, n);
    if (nl < 0)
        nl = n;
    if (find_ch(&t, '\r', hend, nl) >= 0)
        Py_RETURN_NONE;
    PyObject *statement = PyUnicode_Substring(text, hend, nl);
    if (statement == NULL)
        return NULL;
    Py_ssize_t end = nl < n ? nl + 1 : n;
    if (end < n && is_tab_space(at(&t, end))) { /* continuation lines */
        PyObject *parts = PyList_New(1);
        if (parts == NULL) {
            Py_DECREF(statement);
            return NULL;
        }
        PyList_SET_ITEM(parts, 0, statement); /* steals */
        while (end < n && is_tab_space(at(&t, end))) {
            nl = find_ch(&t, '\n', end, n);
            if (nl < 0)
                nl = n;
            if (find_ch(&t, '\r', end, nl) >= 0) {
                Py_DECREF(parts);
                Py_RETURN_NONE;
            }
            PyObject *c = PyUnicode_Substring(text, at(&t, end) == '\t' ? end + 1 : end, nl);
            if (c == NULL || PyList_Append(parts, c) < 0) {
                Py_XDECREF(c);
                Py_DECREF(parts);
                return NULL;
            }
            Py_DECREF(c);
            end = nl < n ? nl + 1 : n;
        }
        PyObject *sep = PyUnicode_FromString("\n");
        statement = sep ? PyUnicode_Join(sep, parts) : NULL;
        Py_XDECREF(sep);
        Py_DECREF(parts);
        if (statement == NULL)
            return NULL;
    }
    PyObject *params = NULL;
    if (end < n) {
        nl = find_ch(&t, '\n', end, n);
        if (nl < 0)
            nl = n;
        Py_ssize_t d = find_word(&t, PARAMS, end, nl);
        if (d >= 0) {
            if (is_tab_space(at(&t, end)) || find_word(&t, "duration: ", end, nl) >= 0)
                goto skip;
            Py_ssize_t pe = nl;
            while (pe > d + (Py_ssize_t)strlen(PARAMS) && at(&t, pe - 1) == '\r') /* rstrip("\r") */
                pe--;
            end = nl < n ? nl + 1 : n;
            if (end < n) {
                Py_ssize_t nl2 = find_ch(&t, '\n', end, n);
                if (is_tab_space(at(&t, end)) || find_word(&t, PARAMS, end, nl2 < 0 ? n : nl2) >= 0)
                    goto skip;
            }
            params = PyUnicode_Substring(text, d + (Py_ssize_t)strlen(PARAMS), pe);
            if (params == NULL) {
                Py_DECREF(statement);
                return NULL;
            }
        }
    }
    if (params == NULL) {
        params = Py_None;
        Py_INCREF(params);
    }
    return Py_BuildValue("(nnNN)", ls, end, statement, params);
skip:
    Py_DECREF(statement);
    Py_RETURN_NONE;
}

/* pg_prefix(prefix): fastscan._pg_prefix_py(prefix) for the common prefixes, None for the others (the caller then
 * runs the Python version). Accepted: ASCII "DDDD-DD-DD[ T]DD:DD:DD", optionally "." and ASCII digits, then a
 * space; then either 2-5 capitals followed by whitespace (the zone) or anything that cannot start a zone (not a
 * capital, not '+'/'-'). In these cases postgres._TS.match takes exactly these groups, whatever its backtracking,
 * and the match is followed by whitespace. Then fastscan._PG_PID (whitespace, '[', digits, ']', whitespace) is
 * skipped when present with ASCII digits; a non-ASCII character where it decides gives None. */
static PyObject *pg_prefix(PyObject *self, PyObject *arg)
{
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "pg_prefix: a str is required");
        return NULL;
    }
    if (PyUnicode_READY(arg) < 0)
        return NULL;
    Text t = {PyUnicode_KIND(arg), PyUnicode_DATA(arg), PyUnicode_GET_LENGTH(arg)};
    Py_ssize_t n = t.n;
    static const char SHAPE[] = "DDDD-DD-DD DD:DD:DD";
    if (n < 20)
        Py_RETURN_NONE;
    for (Py_ssize_t i = 0; i < 19; i++) {
        Py_UCS4 c = at(&t, i);
        if (SHAPE[i] == 'D') {
            if (!is_ascii_digit(c))
                Py_RETURN_NONE;
        } else if (i == 10) {
            if (c != ' ' && c != 'T')
                Py_RETURN_NONE;
        } else if (c != (Py_UCS4)(unsigned char)SHAPE[i]) {
            Py_RETURN_NONE;
        }
    }
    Py_ssize_t p = 19, frac_start = -1, frac_end = -1;
    if (at(&t, p) == '.') {
        Py_ssize_t q = p + 1;
        while (q < n && is_ascii_digit(at(&t, q)))
            q++;
        if (q == p + 1)
            Py_RETURN_NONE;
        frac_start = p;
        frac_end = q;
        p = q;
    }
    if (p >= n || at(&t, p) != ' ')
        Py_RETURN_NONE; /* also a non-ASCII digit right after the digits */
    Py_ssize_t zone_start = -1, zone_end = -1;
    if (p + 1 < n) {
        Py_UCS4 c = at(&t, p + 1);
        if (c >= 'A' && c <= 'Z') {
            Py_ssize_t q = p + 1;
            while (q < n && at(&t, q) >= 'A' && at(&t, q) <= 'Z')
                q++;
            if (q - (p + 1) < 2 || q - (p + 1) > 5 || q >= n || at(&t, q) > 127 || !Py_UNICODE_ISSPACE(at(&t, q)))
                Py_RETURN_NONE;
            zone_start = p + 1;
            zone_end = q;
            p = q;
        } else if (c == '+' || c == '-') {
            Py_RETURN_NONE;
        }
    }
    /* p: the end of the timestamp match, a whitespace character. The pid: \s\[\d+\](?=\s) */
    Py_ssize_t rest = p;
    if (p + 2 < n && at(&t, p + 1) == '[') {
        Py_ssize_t q = p + 2;
        while (q < n && is_ascii_digit(at(&t, q)))
            q++;
        if (q < n && at(&t, q) > 127)
            Py_RETURN_NONE;
        if (q > p + 2 && q + 1 < n && at(&t, q) == ']') {
            Py_UCS4 c = at(&t, q + 1);
            if (c > 127)
                Py_RETURN_NONE;
            if (Py_UNICODE_ISSPACE(c))
                rest = q + 1;
        }
    }
    PyObject *base = PyUnicode_Substring(arg, 0, 19);
    PyObject *frac = frac_start >= 0 ? PyUnicode_Substring(arg, frac_start, frac_end) : (Py_INCREF(Py_None), Py_None);
    PyObject *zone = zone_start >= 0 ? PyUnicode_Substring(arg, zone_start, zone_end) : (Py_INCREF(Py_None), Py_None);
    PyObject *tail = PyUnicode_Substring(arg, rest, n);
    if (base == NULL || frac == NULL || zone == NULL || tail == NULL) {
        Py_XDECREF(base);
        Py_XDECREF(frac);
        Py_XDECREF(zone);
        Py_XDECREF(tail);
        return NULL;
    }
    return Py_BuildValue("(NNNN)", base, frac, zone, tail);
}

/* -- MySQL: one piece of the ";\n#" cut (fastscan._MY_FAST + the header guard) ------------------------------------ */

static inline int lit(const Text *t, Py_ssize_t p, const char *word)
{
    Py_ssize_t len = (Py_ssize_t)strlen(word);
    if (p + len > t->n)
        return 0;
    for (Py_ssize_t k = 0; k < len; k++)
        if (at(t, p + k) != (Py_UCS4)(unsigned char)word[k])
            return 0;
    return 1;
}

/* [0-9]+(?:\.[0-9]+)? at p: its end, or -1 */
static Py_ssize_t number(const Text *t, Py_ssize_t p, int fraction)
{
    Py_ssize_t q = p;
    while (q < t->n && is_ascii_digit(at(t, q)))
        q++;
    if (q == p)
        return -1;
    if (fraction && q + 1 < t->n && at(t, q) == '.' && is_ascii_digit(at(t, q + 1))) {
        q++;
        while (q < t->n && is_ascii_digit(at(t, q)))
            q++;
    }
    return q;
}

static Py_ssize_t spaces(const Text *t, Py_ssize_t p)
{
    while (p < t->n && at(t, p) == ' ')
        p++;
    return p;
}

/* [-0-9: T.Z] */
static inline int is_time_char(Py_UCS4 c)
{
    return is_ascii_digit(c) || c == '-' || c == ':' || c == ' ' || c == 'T' || c == '.' || c == 'Z';
}

/* "\n# " at p */
static int next_header(const Text *t, Py_ssize_t p) { return lit(t, p, "\n# "); }

static long count_keys_in(const Text *t, Py_ssize_t start, Py_ssize_t end);
static PyObject *ADMIN; /* "administrator command" */
static PyObject *ZERO;  /* 0 */

/* mysql_piece(piece): the groups of fastscan._MY_FAST.fullmatch(piece, p0) (p0 = 1 after a leading '#') when the
 * piece holds no "administrator command" and the header guard finds exactly the captured keys; else None (the
 * caller then runs the expression and the guard). Every step below is the expression's only way to match: each
 * optional header line either matches as parsed here or the whole expression fails (the next alternative would
 * need a different literal at the same place), and the statement's look-ahead fails exactly where this returns
 * None. */
/* The spans of mysql_piece's groups in a[], b[] (-1: not matched): 1 when it answers, 0 when it declines, -1 on
 * an error. arg: a ready str; t: its text. */
static int piece_spans(PyObject *arg, const Text *t, Py_ssize_t *a, Py_ssize_t *b)
{
    Py_ssize_t n = t->n;
    Py_ssize_t admin = PyUnicode_Find(arg, ADMIN, 0, n, 1); /* CPython's fast search */
    if (admin == -2)
        return -1;
    if (admin >= 0)
        return 0;
    Py_ssize_t p0 = (n > 0 && at(t, 0) == '#') ? 1 : 0;
    Py_ssize_t p = p0;
    /* spans: time, uh, thread, schema, qt, lt, rs, rx, use, ts, arg (-1: group not matched) */
    for (int k = 0; k < 11; k++)
        a[k] = b[k] = -1;
    if (!lit(t, p, " "))
        return 0;
    p++;
    if (lit(t, p, "Time: ")) {
        Py_ssize_t q = p + 6;
        while (q < n && is_time_char(at(t, q)))
            q++;
        if (!next_header(t, q))
            return 0;
        a[0] = p + 6;
        b[0] = q;
        p = q + 3;
    }
    if (lit(t, p, "User@Host: ")) {
        Py_ssize_t s0 = p + 11;
        Py_ssize_t le = find_ch(t, '\n', s0, n);
        if (le < 0 || s0 >= le || at(t, s0) == '[' || find_ch(t, '[', s0 + 1, le) < 0 || !next_header(t, le))
            return 0;
        a[1] = s0;
        b[1] = le;
        p = le + 3;
    }
    if (lit(t, p, "Thread_id:")) {
        Py_ssize_t q = p + 10;
        Py_ssize_t r = spaces(t, q);
        if (r == q)
            return 0;
        Py_ssize_t ts = r;
        while (r < n && !Py_UNICODE_ISSPACE(at(t, r)))
            r++;
        a[2] = ts;
        b[2] = r;
        Py_ssize_t s1 = spaces(t, r);
        if (s1 > r && lit(t, s1, "Schema:")) {
            Py_ssize_t s2 = spaces(t, s1 + 7);
            if (s2 > s1 + 7) {
                Py_ssize_t s3 = s2;
                while (s3 < n && !Py_UNICODE_ISSPACE(at(t, s3)))
                    s3++;
                a[3] = s2;
                b[3] = s3;
            }
        }
        Py_ssize_t le = find_ch(t, '\n', r, n);
        if (le < 0 || !next_header(t, le))
            return 0;
        p = le + 3;
    }
    if (!lit(t, p, "Query_time: "))
        return 0;
    Py_ssize_t q = p + 12, e;
    static const char *const LABELS[] = {"Lock_time: ", "Rows_sent: ", "Rows_examined: "};
    for (int k = 0; k < 4; k++) {
        e = number(t, q, k < 2);
        if (e < 0)
            return 0;
        a[4 + k] = q;
        b[4 + k] = e;
        if (k == 3)
            break;
        Py_ssize_t s1 = spaces(t, e);
        if (s1 == e || !lit(t, s1, LABELS[k]))
            return 0;
        q = s1 + (Py_ssize_t)strlen(LABELS[k]);
    }
    Py_ssize_t le = find_ch(t, '\n', e, n);
    if (le < 0)
        return 0;
    p = le + 1;
    while (p < n && at(t, p) == '#') {
        le = find_ch(t, '\n', p, n);
        if (le < 0)
            return 0;
        p = le + 1;
    }
    if (lit(t, p, "use ")) {
        Py_ssize_t s0 = p + 4, r = s0;
        while (r < n && at(t, r) != ';' && at(t, r) != '\n')
            r++;
        if (r == s0 || !lit(t, r, ";\n"))
            return 0;
        a[8] = s0;
        b[8] = r;
        p = r + 2;
    }
    if (lit(t, p, "SET timestamp=")) {
        Py_ssize_t s0 = p + 14;
        e = number(t, s0, 1);
        if (e < 0 || !lit(t, e, ";\n"))
            return 0;
        a[9] = s0;
        b[9] = e;
        p = e + 2;
    }
    if (p >= n || at(t, p) == '#' || lit(t, p, "use ") || lit(t, p, "SET last_insert_id") || lit(t, p, "SET insert_id") ||
        lit(t, p, "SET timestamp"))
        return 0;
    a[10] = p;
    b[10] = n;
    long captured = (a[1] >= 0) + (a[2] >= 0) + (a[3] >= 0);
    if (count_keys_in(t, p0, p) != captured)
        return 0;
    return 1;
}

static PyObject *mysql_piece(PyObject *self, PyObject *arg)
{
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "mysql_piece: a str is required");
        return NULL;
    }
    if (PyUnicode_READY(arg) < 0)
        return NULL;
    Text tt = {PyUnicode_KIND(arg), PyUnicode_DATA(arg), PyUnicode_GET_LENGTH(arg)};
    Py_ssize_t a[11], b[11];
    int found = piece_spans(arg, &tt, a, b);
    if (found < 0)
        return NULL;
    if (found == 0)
        Py_RETURN_NONE;
    PyObject *out = PyTuple_New(11);
    if (out == NULL)
        return NULL;
    for (int k = 0; k < 11; k++) {
        PyObject *v;
        if (a[k] < 0) {
            v = Py_None;
            Py_INCREF(v);
        } else {
            v = PyUnicode_Substring(arg, a[k], b[k]);
            if (v == NULL) {
                Py_DECREF(out);
                return NULL;
            }
        }
        PyTuple_SET_ITEM(out, k, v);
    }
    return out;
}

/* operation(query): fingerprint.operation(query) when the word it reads is ASCII: the word without trailing ';',
 * upper-cased, or None when that is not all letters. A query that starts with an ASCII letter: its first word
 * ([A-Za-z]\S*); any other: fingerprint._operation's word (after leading " \t\r\n(" and comments, the
 * first whitespace-separated word, whitespace as str.split's). False when that word is not ASCII or is long (the
 * caller then runs fingerprint.operation). */
static PyObject *operation(PyObject *self, PyObject *arg)
{
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "operation: a str is required");
        return NULL;
    }
    if (PyUnicode_READY(arg) < 0)
        return NULL;
    Text t = {PyUnicode_KIND(arg), PyUnicode_DATA(arg), PyUnicode_GET_LENGTH(arg)};
    if (t.n == 0)
        Py_RETURN_FALSE;
    Py_ssize_t s = 0;
    Py_UCS4 c = at(&t, 0);
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) {
        /* fingerprint._operation: lstrip(" \t\r\n("), then each leading comment ("/" "*" up to the first "*" "/" after
         * its opening, str.find from the comment's start) and lstrip again; then split(None, 1)[0]. */
        for (;;) {
            while (s < t.n && ((c = at(&t, s)) == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '('))
                s++;
            if (!(s + 1 < t.n && at(&t, s) == '/' && at(&t, s + 1) == '*'))
                break;
            Py_ssize_t k = s;
            while (k + 1 < t.n && !(at(&t, k) == '*' && at(&t, k + 1) == '/'))
                k++;
            if (k + 1 >= t.n)
                Py_RETURN_NONE; /* an unclosed comment */
            s = k + 2;
        }
        while (s < t.n && Py_UNICODE_ISSPACE(at(&t, s)))
            s++;
    }
    Py_ssize_t e = s;
    while (e < t.n && !Py_UNICODE_ISSPACE(at(&t, e))) {
        if (at(&t, e) > 127)
            Py_RETURN_FALSE;
        e++;
    }
    while (e > s && at(&t, e - 1) == ';')
        e--;
    char buf[64];
    if (e - s > (Py_ssize_t)sizeof(buf))
        Py_RETURN_FALSE;
    if (e == s)
        Py_RETURN_NONE; /* "".isalpha() is False */
    for (Py_ssize_t i = s; i < e; i++) {
        Py_UCS4 ch = at(&t, i);
        if (ch >= 'a' && ch <= 'z')
            ch -= 32;
        else if (!(ch >= 'A' && ch <= 'Z'))
            Py_RETURN_NONE; /* not str.isalpha() */
        buf[i - s] = (char)ch;
    }
    return PyUnicode_FromStringAndSize(buf, e - s);
}

/* -- MySQL: the fast scan's per-piece loop for a run of pieces (fastscan._mysql) -------------------------------- */

static PyObject *S_MYSQL, *S_TS_ATTR, *S_DB_ATTR, *S_DBT_ATTR, *DIALECT_KWNAMES;

/* float(s) of an ASCII number span ([0-9]+(?:\.[0-9]+)?): -1 when it is too long for the buffer (the caller
 * declines), 0 with *out set, or -2 on an error. PyOS_string_to_double is what float(str) runs for such text. */
static int span_double(const Text *t, Py_ssize_t a, Py_ssize_t b, double *out)
{
    char buf[64];
    Py_ssize_t len = b - a;
    if (len <= 0 || len >= (Py_ssize_t)sizeof(buf))
        return -1;
    for (Py_ssize_t k = 0; k < len; k++)
        buf[k] = (char)at(t, a + k);
    buf[len] = '\0';
    double v = PyOS_string_to_double(buf, NULL, NULL);
    if (v == -1.0 && PyErr_Occurred())
        return -2;
    *out = v;
    return 0;
}

/* int(s) of an ASCII digit span ([0-9]+), or NULL: with an error set, or without one when the span is too long
 * (the caller declines). */
static PyObject *span_int(const Text *t, Py_ssize_t a, Py_ssize_t b)
{
    Py_ssize_t len = b - a;
    if (len <= 0 || len > 18)
        return NULL;
    long long v = 0;
    for (Py_ssize_t k = a; k < b; k++)
        v = v * 10 + (long long)(at(t, k) - '0');
    return PyLong_FromLongLong(v);
}

static Py_ssize_t count_newlines(const Text *t)
{
    Py_ssize_t c = 0;
    if (t->kind == PyUnicode_1BYTE_KIND) {
        const char *s = (const char *)t->data, *e = s + t->n;
        while ((s = memchr(s, '\n', (size_t)(e - s))) != NULL) {
            c++;
            s++;
        }
        return c;
    }
    for (Py_ssize_t k = 0; k < t->n; k++)
        c += at(t, k) == '\n';
    return c;
}

/* newlines(s) == s.count("\n") (memchr over a 1-byte text: newlines are tens of characters apart) */
static PyObject *newlines(PyObject *self, PyObject *arg)
{
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "newlines: a str is required");
        return NULL;
    }
    if (PyUnicode_READY(arg) < 0)
        return NULL;
    Text t = {PyUnicode_KIND(arg), PyUnicode_DATA(arg), PyUnicode_GET_LENGTH(arg)};
    return PyLong_FromSsize_t(count_newlines(&t));
}

/* mysql_run(pieces, i, last, line, pos, stop, seplen, state, uh_cache, time_cache, fp_memo, pending_rows, aggs,
 * example_max, fingerprint, operation) -> (i, line, pos, n): fastscan._mysql's loop body for pieces[i],
 * pieces[i+1], ... as long as each takes the fast path with its values at hand: mysql_piece answers, the Time and
 * User@Host values are in their caches, the shape already has an aggregate, and the piece is not the last one (the
 * trailer cut) and starts before `stop` (the next banner removal; -1: none). The fingerprint is the memo's when
 * quick_key answers and the memo has it, else fingerprint(arg, dialect="mysql"); the operation is C's, else
 * operation(arg) (the Python functions the loop calls). Each such piece updates the state and appends its row exactly as the Python loop does; the
 * first other piece is left to the Python loop (nothing of it is changed here). n: the pieces folded. */
static PyObject *mysql_run(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 16) {
        PyErr_SetString(PyExc_TypeError, "mysql_run: 16 arguments are required");
        return NULL;
    }
    PyObject *pieces = args[0], *state = args[7], *uh_cache = args[8], *time_cache = args[9], *memo = args[10],
             *pending = args[11], *aggs = args[12], *fingerprint_py = args[14], *operation_py = args[15];
    if (!PyList_Check(pieces) || !PyDict_Check(uh_cache) || !PyDict_Check(time_cache) || !PyDict_Check(memo) ||
        !PyDict_Check(pending) || !PyDict_Check(aggs)) {
        PyErr_SetString(PyExc_TypeError, "mysql_run: a list and dicts are required");
        return NULL;
    }
    Py_ssize_t i = PyLong_AsSsize_t(args[1]), last = PyLong_AsSsize_t(args[2]), line = PyLong_AsSsize_t(args[3]),
               pos = PyLong_AsSsize_t(args[4]), stop = PyLong_AsSsize_t(args[5]), seplen = PyLong_AsSsize_t(args[6]),
               example_max = PyLong_AsSsize_t(args[13]);
    if (PyErr_Occurred())
        return NULL;
    PyObject *st_ts = PyObject_GetAttr(state, S_TS_ATTR);
    if (st_ts == NULL)
        return NULL;
    PyObject *st_db = PyObject_GetAttr(state, S_DB_ATTR);
    if (st_db == NULL) {
        Py_DECREF(st_ts);
        return NULL;
    }
    PyObject *dbt = PyObject_GetAttr(state, S_DBT_ATTR);
    if (dbt == NULL || !PyDict_Check(dbt)) {
        if (dbt != NULL)
            PyErr_SetString(PyExc_TypeError, "mysql_run: state.db_by_thread must be a dict");
        Py_DECREF(st_ts);
        Py_DECREF(st_db);
        Py_XDECREF(dbt);
        return NULL;
    }
    Py_ssize_t done = 0;
    int failed = 0;
    while (i < last && i < PyList_GET_SIZE(pieces) && !(stop >= 0 && stop <= pos)) {
        PyObject *piece = PyList_GET_ITEM(pieces, i);
        if (!PyUnicode_CheckExact(piece) || PyUnicode_READY(piece) < 0)
            break;
        Text tt = {PyUnicode_KIND(piece), PyUnicode_DATA(piece), PyUnicode_GET_LENGTH(piece)};
        const Text *t = &tt;
        Py_ssize_t a[11], b[11];
        int found = piece_spans(piece, t, a, b);
        if (found < 0) {
            failed = 1;
            break;
        }
        if (found == 0)
            break;
        /* Every check that may decline, before anything changes. New references: */
        PyObject *ts = NULL, *argobj = NULL, *masked = NULL, *key = NULL, *op = NULL, *rows = NULL;
        PyObject *user = Py_None, *client = Py_None, *uthread = Py_None; /* borrowed (from the cache's tuple) */
        PyObject *uh = NULL;                                              /* the cache's tuple, held */
        double qt, lt;
        int go = 0; /* 1: fold; 0: decline; -1: error */
        if (a[9] >= 0) {
            double v;
            int r = span_double(t, a[9], b[9], &v);
            if (r == -2)
                goto piece_error;
            if (r < 0)
                goto piece_done;
            ts = PyFloat_FromDouble(v);
            if (ts == NULL)
                goto piece_error;
        } else if (a[0] >= 0) {
            PyObject *tv = PyUnicode_Substring(piece, a[0], b[0]);
            if (tv == NULL)
                goto piece_error;
            PyObject *v = PyDict_GetItemWithError(time_cache, tv);
            Py_DECREF(tv);
            if (v == NULL) {
                if (PyErr_Occurred())
                    goto piece_error;
                goto piece_done;
            }
            if (v != Py_None) {
                ts = v;
                Py_INCREF(ts);
            }
        }
        if (a[1] >= 0) {
            PyObject *uhv = PyUnicode_Substring(piece, a[1], b[1]);
            if (uhv == NULL)
                goto piece_error;
            PyObject *v = PyDict_GetItemWithError(uh_cache, uhv);
            Py_DECREF(uhv);
            if (v == NULL) {
                if (PyErr_Occurred())
                    goto piece_error;
                goto piece_done;
            }
            if (!PyTuple_CheckExact(v) || PyTuple_GET_SIZE(v) != 3)
                goto piece_done;
            uh = v;
            Py_INCREF(uh);
            user = PyTuple_GET_ITEM(uh, 0);
            client = PyTuple_GET_ITEM(uh, 1);
            uthread = PyTuple_GET_ITEM(uh, 2);
        }
        {
            int r = span_double(t, a[4], b[4], &qt);
            if (r == -2)
                goto piece_error;
            if (r < 0)
                goto piece_done;
            r = span_double(t, a[5], b[5], &lt);
            if (r == -2)
                goto piece_error;
            if (r < 0)
                goto piece_done;
            if (b[6] - a[6] > 18 || b[7] - a[7] > 18)
                goto piece_done;
        }
        argobj = PyUnicode_Substring(piece, a[10], b[10]);
        if (argobj == NULL)
            goto piece_error;
        masked = quick_key_impl(argobj, 0);
        if (masked == Py_None) {
            Py_DECREF(masked);
            masked = insert_key_impl(argobj); /* pt's multi-row INSERT cut (quick_key declines at a comma) */
        }
        if (masked == NULL)
            goto piece_error;
        PyObject *fp = NULL;
        if (masked != Py_None) {
            key = PyTuple_Pack(2, S_MYSQL, masked);
            if (key == NULL)
                goto piece_error;
            fp = PyDict_GetItemWithError(memo, key); /* borrowed */
            if (fp == NULL && PyErr_Occurred())
                goto piece_error;
            Py_XINCREF(fp);
            Py_CLEAR(key);
        }
        if (fp == NULL) {
            PyObject *call[2] = {argobj, S_MYSQL};
            fp = PyObject_Vectorcall(fingerprint_py, call, 1, DIALECT_KWNAMES);
            if (fp == NULL)
                goto piece_error;
        }
        key = fp; /* key holds fp */
        op = operation(NULL, argobj);
        if (op == NULL)
            goto piece_error;
        if (op == Py_False) {
            Py_DECREF(op);
            op = PyObject_CallOneArg(operation_py, argobj);
            if (op == NULL)
                goto piece_error;
        }
        rows = PyDict_GetItemWithError(pending, fp);
        if (rows != NULL) {
            if (!PyList_CheckExact(rows))
                goto piece_done;
            Py_INCREF(rows);
        } else {
            if (PyErr_Occurred())
                goto piece_error;
            PyObject *akey = PyTuple_Pack(2, S_MYSQL, fp);
            if (akey == NULL)
                goto piece_error;
            int has = PyDict_Contains(aggs, akey);
            Py_DECREF(akey);
            if (has < 0)
                goto piece_error;
            if (!has)
                goto piece_done; /* a new shape: _Agg.start in Python */
        }
        go = 1;
        goto piece_done;
    piece_error:
        go = -1;
    piece_done:
        if (go == 1) {
            /* The piece is folded: the state, the row. */
            PyObject *db = NULL, *thread = NULL, *row = NULL;
            go = -1;
            if (a[8] >= 0) {
                Py_ssize_t lo = a[8], hi = b[8];
                while (lo < hi && at(t, lo) == '`')
                    lo++;
                while (hi > lo && at(t, hi - 1) == '`')
                    hi--;
                if (hi > lo && (db = PyUnicode_Substring(piece, lo, hi)) == NULL)
                    goto fold_done;
            }
            if (db == NULL && a[3] >= 0 && b[3] > a[3] && at(t, b[3] - 1) != ':') {
                if ((db = PyUnicode_Substring(piece, a[3], b[3])) == NULL)
                    goto fold_done;
            }
            int ut = PyObject_IsTrue(uthread);
            if (ut < 0)
                goto fold_done;
            if (ut) {
                thread = uthread;
                Py_INCREF(thread);
            } else if (a[2] >= 0 && b[2] > a[2]) {
                if ((thread = PyUnicode_Substring(piece, a[2], b[2])) == NULL)
                    goto fold_done;
            }
            if (db != NULL) {
                Py_INCREF(db);
                Py_SETREF(st_db, db);
                if (thread != NULL && PyDict_SetItem(dbt, thread, db) < 0)
                    goto fold_done;
            } else if (thread != NULL) {
                db = PyDict_GetItemWithError(dbt, thread);
                if (db == NULL && PyErr_Occurred())
                    goto fold_done;
                db = db != NULL ? db : Py_None;
                Py_INCREF(db);
            } else {
                db = st_db;
                Py_INCREF(db);
            }
            if (ts == NULL) {
                ts = st_ts;
                Py_INCREF(ts);
            } else {
                Py_INCREF(ts);
                Py_SETREF(st_ts, ts);
            }
            if (rows == NULL) {
                rows = PyList_New(0);
                if (rows == NULL || PyDict_SetItem(pending, key, rows) < 0)
                    goto fold_done;
            }
            row = PyTuple_New(13);
            if (row == NULL)
                goto fold_done;
            PyObject *v;
            Py_ssize_t start_line = line;
            if ((v = PyFloat_FromDouble(qt * 1000.0)) == NULL)
                goto fold_done;
            PyTuple_SET_ITEM(row, 0, v);
            PyTuple_SET_ITEM(row, 1, ts);
            ts = NULL;
            PyTuple_SET_ITEM(row, 2, db);
            db = NULL;
            Py_INCREF(user);
            PyTuple_SET_ITEM(row, 3, user);
            Py_INCREF(client);
            PyTuple_SET_ITEM(row, 4, client);
            PyTuple_SET_ITEM(row, 5, op);
            op = NULL;
            if ((v = span_int(t, a[7], b[7])) == NULL)
                goto fold_done;
            PyTuple_SET_ITEM(row, 6, v);
            if ((v = span_int(t, a[6], b[6])) == NULL)
                goto fold_done;
            PyTuple_SET_ITEM(row, 7, v);
            if ((v = PyFloat_FromDouble(lt * 1000.0)) == NULL)
                goto fold_done;
            PyTuple_SET_ITEM(row, 8, v);
            Py_INCREF(Py_None);
            PyTuple_SET_ITEM(row, 9, Py_None);
            if (PyUnicode_GET_LENGTH(argobj) <= example_max) {
                v = argobj;
                Py_INCREF(v);
            } else if ((v = PyUnicode_Substring(argobj, 0, example_max < 0 ? 0 : example_max)) == NULL)
                goto fold_done;
            PyTuple_SET_ITEM(row, 10, v);
            if ((v = PyLong_FromSsize_t(start_line)) == NULL)
                goto fold_done;
            PyTuple_SET_ITEM(row, 11, v);
            Py_INCREF(Py_None);
            PyTuple_SET_ITEM(row, 12, Py_None);
            if (PyList_Append(rows, row) < 0)
                goto fold_done;
            line += count_newlines(t) + 1;
            pos += t->n + seplen;
            i++;
            done++;
            go = 1;
        fold_done:
            Py_XDECREF(db);
            Py_XDECREF(thread);
            Py_XDECREF(row);
        }
        Py_XDECREF(ts);
        Py_XDECREF(argobj);
        Py_XDECREF(masked);
        Py_XDECREF(key);
        Py_XDECREF(op);
        Py_XDECREF(rows);
        Py_XDECREF(uh);
        if (go != 1) {
            failed = go < 0;
            break;
        }
    }
    PyObject *out = NULL;
    if (!failed && PyObject_SetAttr(state, S_TS_ATTR, st_ts) == 0 && PyObject_SetAttr(state, S_DB_ATTR, st_db) == 0)
        out = Py_BuildValue("(nnnn)", i, line, pos, done);
    Py_DECREF(st_ts);
    Py_DECREF(st_db);
    Py_DECREF(dbt);
    return out;
}

/* add_counts(dst, src, num, den): for k, v in src.items(): nk = k * num // den (k itself when num == den == 1);
 * dst[nk] = dst.get(nk, 0) + v — the merge loops of digest._Agg, in src's order (new keys are appended in that
 * order, as the Python loop appends them). */
static PyObject *add_counts(PyObject *self, PyObject *args)
{
    PyObject *dst, *src, *num, *den;
    if (!PyArg_ParseTuple(args, "O!O!OO:add_counts", &PyDict_Type, &dst, &PyDict_Type, &src, &num, &den))
        return NULL;
    int identity = PyLong_CheckExact(num) && PyLong_CheckExact(den) && PyLong_AsLong(num) == 1 && PyLong_AsLong(den) == 1;
    if (PyErr_Occurred())
        return NULL;
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    while (PyDict_Next(src, &pos, &k, &v)) {
        PyObject *nk;
        if (identity) {
            nk = k;
            Py_INCREF(nk);
        } else {
            PyObject *prod = PyNumber_Multiply(k, num);
            if (prod == NULL)
                return NULL;
            nk = PyNumber_FloorDivide(prod, den);
            Py_DECREF(prod);
            if (nk == NULL)
                return NULL;
        }
        Py_INCREF(v); /* src may be dst: keep v alive across the store */
        PyObject *old = PyDict_GetItemWithError(dst, nk);
        PyObject *sum;
        if (old == NULL) {
            if (PyErr_Occurred()) {
                Py_DECREF(nk);
                Py_DECREF(v);
                return NULL;
            }
            sum = PyNumber_Add(ZERO, v); /* 0 + v, as dst.get(nk, 0) + v */
        } else {
            sum = PyNumber_Add(old, v);
        }
        Py_DECREF(v);
        if (sum == NULL || PyDict_SetItem(dst, nk, sum) < 0) {
            Py_XDECREF(sum);
            Py_DECREF(nk);
            return NULL;
        }
        Py_DECREF(sum);
        Py_DECREF(nk);
    }
    Py_RETURN_NONE;
}

/* -- MongoDB query shapes (mongodb_shape._shape_text_py in C) ------------------------------------------------ *
 *
 * shape_text(value, parent) == mongodb_shape._shape_text_py(value, parent), node for node: the same branches on the
 * exact JSON types orjson gives (dict with str keys, list, str, int, float, bool, None). Where the Python code
 * itself falls back to render(_shape(...)) this calls that same pair (SHAPE_RENDER); a node the mirror does not
 * cover (a non-str key, a subclass or a non-JSON type) is handed to the Python reference (SHAPE_PY) whole. The
 * text is built in one UCS4 buffer and made a canonical str at the end. shape_setup() hands over the frozensets and
 * the two callables once, when mongodb_shape is imported. */

static PyObject *PLACEHOLDER; /* "?" */
static PyObject *EXT_TYPES, *KEEP_NUMBERS, *KEEP_STRINGS, *SHAPE_PY, *SHAPE_RENDER;

typedef struct {
    Py_UCS4 *p;
    Py_ssize_t n, cap;
} Buf;

static int buf_grow(Buf *b, Py_ssize_t more)
{
    if (b->n + more <= b->cap)
        return 0;
    Py_ssize_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + more) {
        if (cap > PY_SSIZE_T_MAX / 8) {
            PyErr_NoMemory();
            return -1;
        }
        cap *= 2;
    }
    Py_UCS4 *p = PyMem_Realloc(b->p, (size_t)cap * sizeof(Py_UCS4));
    if (p == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

static inline int buf_ascii(Buf *b, const char *s, Py_ssize_t len)
{
    if (buf_grow(b, len) < 0)
        return -1;
    for (Py_ssize_t i = 0; i < len; i++)
        b->p[b->n++] = (Py_UCS4)(unsigned char)s[i];
    return 0;
}

static inline int buf_ch(Buf *b, Py_UCS4 c)
{
    if (b->n >= b->cap && buf_grow(b, 1) < 0)
        return -1;
    b->p[b->n++] = c;
    return 0;
}

static int buf_str(Buf *b, PyObject *s) /* s: any str (a fallback may give a subclass: its text is what is joined) */
{
    if (PyUnicode_READY(s) < 0)
        return -1;
    Py_ssize_t len = PyUnicode_GET_LENGTH(s);
    if (buf_grow(b, len) < 0)
        return -1;
    int kind = PyUnicode_KIND(s);
    const void *data = PyUnicode_DATA(s);
    Py_UCS4 *o = b->p + b->n;
    if (kind == PyUnicode_1BYTE_KIND) {
        const Py_UCS1 *d = data;
        for (Py_ssize_t i = 0; i < len; i++)
            o[i] = d[i];
    } else if (kind == PyUnicode_2BYTE_KIND) {
        const Py_UCS2 *d = data;
        for (Py_ssize_t i = 0; i < len; i++)
            o[i] = d[i];
    } else {
        memcpy(o, data, (size_t)len * sizeof(Py_UCS4));
    }
    b->n += len;
    return 0;
}

/* The text of a fallback call, appended (the result must be a str, as the f-strings/joins of the Python code
 * require one for their output to be the same). */
static int buf_call(Buf *b, PyObject *func, PyObject *value, PyObject *parent)
{
    PyObject *r = PyObject_CallFunctionObjArgs(func, value, parent, NULL);
    if (r == NULL)
        return -1;
    if (!PyUnicode_Check(r)) {
        PyErr_Format(PyExc_TypeError, "shape_text: the fallback returned %.100s, not str", Py_TYPE(r)->tp_name);
        Py_DECREF(r);
        return -1;
    }
    int rc = buf_str(b, r);
    Py_DECREF(r);
    return rc;
}

static inline int starts_dollar(PyObject *s) /* exact str, ready */
{
    return PyUnicode_GET_LENGTH(s) > 0 && PyUnicode_READ_CHAR(s, 0) == '$';
}

/* len(d) <= 2 and d and next(iter(d)) in _EXT_TYPES: 1, 0, or -1 on error */
static int is_ext(PyObject *d)
{
    Py_ssize_t n = PyDict_GET_SIZE(d);
    if (n == 0 || n > 2)
        return 0;
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    if (!PyDict_Next(d, &pos, &k, &v))
        return 0;
    Py_INCREF(k);
    int r = PySet_Contains(EXT_TYPES, k);
    Py_DECREF(k);
    return r;
}

static int shape_node(Buf *b, PyObject *value, PyObject *parent);

/* str(int(x) if x == int(x) else x) for an exact int or float */
static int keep_number(Buf *b, PyObject *x)
{
    PyObject *s;
    if (PyLong_CheckExact(x)) {
        s = PyObject_Str(x);
    } else {
        PyObject *i = PyNumber_Long(x); /* OverflowError/ValueError for inf/nan, as int() */
        if (i == NULL)
            return -1;
        int eq = PyObject_RichCompareBool(x, i, Py_EQ);
        if (eq < 0) {
            Py_DECREF(i);
            return -1;
        }
        s = PyObject_Str(eq ? i : x);
        Py_DECREF(i);
    }
    if (s == NULL)
        return -1;
    int rc = buf_str(b, s);
    Py_DECREF(s);
    return rc;
}

static int shape_dict(Buf *b, PyObject *value, PyObject *parent)
{
    int ext = is_ext(value);
    if (ext != 0)
        return ext < 0 ? -1 : buf_ch(b, '?');
    int keep_numbers = PySet_Contains(KEEP_NUMBERS, parent);
    if (keep_numbers < 0)
        return -1;
    Py_ssize_t start = b->n, pos = 0;
    PyObject *key, *item;
    if (buf_ch(b, '{') < 0)
        return -1;
    int first = 1;
    while (PyDict_Next(value, &pos, &key, &item)) {
        if (!PyUnicode_CheckExact(key))
            goto fallback;
        if (!first && buf_ascii(b, ", ", 2) < 0)
            return -1;
        first = 0;
        if (buf_str(b, key) < 0 || buf_ascii(b, ": ", 2) < 0)
            return -1;
        PyTypeObject *t = Py_TYPE(item);
        int rc;
        if (t == &PyUnicode_Type) {
            if (PyUnicode_READY(item) < 0)
                return -1;
            int keep = starts_dollar(item);
            if (!keep) {
                keep = PySet_Contains(KEEP_STRINGS, key);
                if (keep < 0)
                    return -1;
            }
            rc = keep ? buf_str(b, item) : buf_ch(b, '?');
        } else if (t == &PyDict_Type || t == &PyList_Type) {
            Py_INCREF(key);
            Py_INCREF(item);
            rc = shape_node(b, item, key);
            Py_DECREF(item);
            Py_DECREF(key);
        } else if (t == &PyLong_Type || t == &PyFloat_Type) {
            rc = keep_numbers ? keep_number(b, item) : buf_ch(b, '?');
        } else if (t == &PyBool_Type || item == Py_None) {
            rc = buf_ch(b, '?');
        } else {
            goto fallback;
        }
        if (rc < 0)
            return -1;
    }
    return buf_ch(b, '}');
fallback:
    b->n = start;
    return buf_call(b, SHAPE_PY, value, parent);
}

static inline int is_scalar_type(PyObject *x)
{
    PyTypeObject *t = Py_TYPE(x);
    return t == &PyUnicode_Type || t == &PyLong_Type || t == &PyFloat_Type || t == &PyBool_Type || x == Py_None;
}

/* Two dicts with the same key set (frozenset(a) == frozenset(b)): 1, 0, -1 on error */
static int same_keys(PyObject *a, PyObject *b)
{
    if (PyDict_GET_SIZE(a) != PyDict_GET_SIZE(b))
        return 0;
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    while (PyDict_Next(a, &pos, &k, &v)) {
        Py_INCREF(k);
        int r = PyDict_Contains(b, k);
        Py_DECREF(k);
        if (r <= 0)
            return r;
    }
    return 1;
}

#define SEEN_STACK 16

static int shape_list(Buf *b, PyObject *value, PyObject *parent)
{
    Py_ssize_t n = PyList_GET_SIZE(value);
    if (n == 0)
        return buf_ascii(b, "[]", 2);
    PyObject *first = PyList_GET_ITEM(value, 0), *last = PyList_GET_ITEM(value, n - 1);
    PyTypeObject *tf = Py_TYPE(first), *tl = Py_TYPE(last);
    if (tf != &PyDict_Type && tf != &PyList_Type && tl != &PyDict_Type && tl != &PyList_Type) {
        if (is_scalar_type(first) && is_scalar_type(last)) {
            if (buf_ch(b, '[') < 0)
                return -1;
            int rc;
            if (tf == &PyUnicode_Type) {
                if (PyUnicode_READY(first) < 0)
                    return -1;
                rc = starts_dollar(first) ? buf_str(b, first) : buf_ch(b, '?');
            } else {
                rc = buf_ch(b, '?');
            }
            return rc < 0 ? -1 : buf_ch(b, ']');
        }
        return buf_call(b, SHAPE_RENDER, value, parent);
    }
    /* texts of scalar items, for the repeat check (a sub-document's text starts with '{' or '[' and never equals
     * one: "?" or a "$..." string); the dicts seen, for the key-set check; strong references to both. */
    PyObject *seen_stack[SEEN_STACK], *dicts_stack[SEEN_STACK];
    PyObject **seen = seen_stack, **dicts = dicts_stack;
    Py_ssize_t nseen = 0, ndicts = 0, cap_seen = SEEN_STACK, cap_dicts = SEEN_STACK;
    Py_ssize_t start = b->n;
    int lists = 0, rc = -1, count = 0;
    if (buf_ch(b, '[') < 0)
        goto done;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(value); i++) {
        PyObject *item = PyList_GET_ITEM(value, i);
        PyTypeObject *t = Py_TYPE(item);
        PyObject *text = NULL; /* a scalar's text (borrowed: PLACEHOLDER or the item) */
        Py_INCREF(item);
        if (t == &PyDict_Type) {
            int ext = is_ext(item);
            if (ext < 0) {
                Py_DECREF(item);
                goto done;
            }
            if (ext) {
                text = PLACEHOLDER;
            } else {
                for (Py_ssize_t j = 0; j < ndicts; j++) {
                    int same = same_keys(item, dicts[j]);
                    if (same != 0) {
                        Py_DECREF(item);
                        if (same < 0)
                            goto done;
                        goto render;
                    }
                }
                if (ndicts == cap_dicts) {
                    PyObject **p = PyMem_Malloc((size_t)cap_dicts * 2 * sizeof(PyObject *));
                    if (p == NULL) {
                        Py_DECREF(item);
                        PyErr_NoMemory();
                        goto done;
                    }
                    memcpy(p, dicts, (size_t)ndicts * sizeof(PyObject *));
                    if (dicts != dicts_stack)
                        PyMem_Free(dicts);
                    dicts = p;
                    cap_dicts *= 2;
                }
                dicts[ndicts++] = item; /* keeps the reference taken above */
                if ((count++ && buf_ascii(b, ", ", 2) < 0) || shape_node(b, item, parent) < 0)
                    goto done;
                continue;
            }
        } else if (t == &PyList_Type) {
            if (++lists > 1) {
                Py_DECREF(item);
                goto render;
            }
            int r = (count++ && buf_ascii(b, ", ", 2) < 0) || shape_node(b, item, parent) < 0;
            Py_DECREF(item);
            if (r)
                goto done;
            continue;
        } else if (t == &PyUnicode_Type) {
            if (PyUnicode_READY(item) < 0) {
                Py_DECREF(item);
                goto done;
            }
            text = starts_dollar(item) ? item : PLACEHOLDER;
        } else if (t == &PyLong_Type || t == &PyFloat_Type || t == &PyBool_Type || item == Py_None) {
            text = PLACEHOLDER;
        } else {
            Py_DECREF(item);
            goto render;
        }
        /* if text not in texts: texts.append(text) */
        int found = 0;
        for (Py_ssize_t j = 0; j < nseen && !found; j++)
            found = seen[j] == text || PyUnicode_Compare(seen[j], text) == 0;
        if (found) {
            Py_DECREF(item);
            continue;
        }
        if (nseen == cap_seen) {
            PyObject **p = PyMem_Malloc((size_t)cap_seen * 2 * sizeof(PyObject *));
            if (p == NULL) {
                Py_DECREF(item);
                PyErr_NoMemory();
                goto done;
            }
            memcpy(p, seen, (size_t)nseen * sizeof(PyObject *));
            if (seen != seen_stack)
                PyMem_Free(seen);
            seen = p;
            cap_seen *= 2;
        }
        Py_INCREF(text);
        seen[nseen++] = text;
        Py_DECREF(item);
        if ((count++ && buf_ascii(b, ", ", 2) < 0) || buf_str(b, text) < 0)
            goto done;
    }
    rc = buf_ch(b, ']');
    goto done;
render:
    b->n = start;
    rc = buf_call(b, SHAPE_RENDER, value, parent);
done:
    for (Py_ssize_t j = 0; j < nseen; j++)
        Py_DECREF(seen[j]);
    for (Py_ssize_t j = 0; j < ndicts; j++)
        Py_DECREF(dicts[j]);
    if (seen != seen_stack)
        PyMem_Free(seen);
    if (dicts != dicts_stack)
        PyMem_Free(dicts);
    return rc < 0 ? -1 : 0;
}

/* A dict or list node (the scalars are settled by their container, the top level by shape_text). */
static int shape_node(Buf *b, PyObject *value, PyObject *parent)
{
    if (Py_EnterRecursiveCall(" in shape_text"))
        return -1;
    int rc = Py_TYPE(value) == &PyDict_Type ? shape_dict(b, value, parent) : shape_list(b, value, parent);
    Py_LeaveRecursiveCall();
    return rc;
}

static PyObject *shape_text(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 1 || nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "shape_text(value, parent=None)");
        return NULL;
    }
    if (SHAPE_PY == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "shape_text: shape_setup() has not been called");
        return NULL;
    }
    PyObject *value = args[0], *parent = nargs > 1 ? args[1] : Py_None;
    PyTypeObject *t = Py_TYPE(value);
    if (t == &PyUnicode_Type) {
        if (PyUnicode_READY(value) < 0)
            return NULL;
        PyObject *r = starts_dollar(value) ? value : PLACEHOLDER;
        Py_INCREF(r);
        return r;
    }
    if (t == &PyLong_Type || t == &PyFloat_Type || t == &PyBool_Type || value == Py_None) {
        Py_INCREF(PLACEHOLDER);
        return PLACEHOLDER;
    }
    if (t != &PyDict_Type && t != &PyList_Type)
        return PyObject_CallFunctionObjArgs(SHAPE_RENDER, value, parent, NULL);
    Buf b = {NULL, 0, 0};
    PyObject *res = NULL;
    if (shape_node(&b, value, parent) == 0)
        res = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, b.p, b.n); /* canonical: narrowest kind */
    PyMem_Free(b.p);
    return res;
}

/* shape_setup(ext_types, keep_numbers, keep_strings, shape_py, shape_render) */
static PyObject *shape_setup(PyObject *self, PyObject *args)
{
    PyObject *ext, *nums, *strs, *py, *rend;
    if (!PyArg_ParseTuple(args, "O!O!O!OO:shape_setup", &PyFrozenSet_Type, &ext, &PyFrozenSet_Type, &nums,
                          &PyFrozenSet_Type, &strs, &py, &rend))
        return NULL;
    if (!PyCallable_Check(py) || !PyCallable_Check(rend)) {
        PyErr_SetString(PyExc_TypeError, "shape_setup: the fallbacks must be callable");
        return NULL;
    }
    Py_INCREF(ext);
    Py_INCREF(nums);
    Py_INCREF(strs);
    Py_INCREF(py);
    Py_INCREF(rend);
    Py_XSETREF(EXT_TYPES, ext);
    Py_XSETREF(KEEP_NUMBERS, nums);
    Py_XSETREF(KEEP_STRINGS, strs);
    Py_XSETREF(SHAPE_PY, py);
    Py_XSETREF(SHAPE_RENDER, rend);
    Py_RETURN_NONE;
}

/* -- command_shape (mongodb_shape._command_shape_py in C) ----------------------------------------------------- *
 *
 * The common commands (a str first key, a known command or an update/delete statement) are shaped here, with
 * shape_text in C for their parts; the legacy OP_QUERY wrapper, bulk "updates"/"deletes" and anything not a plain
 * dict with str keys go to the Python reference (COMMAND_PY) whole. command_setup() hands over _COMMAND_PARTS,
 * _FLAG_KEYS and the reference once, when mongodb_shape is imported. */

static PyObject *COMMAND_PARTS, *FLAG_KEYS, *COMMAND_PY;
static PyObject *S_COMMAND, *S_EMPTY, *S_UPDATE, *S_REMOVE, *S_DELETE, *S_QUERY, *S_Q, *S_U, *S_UPDATES,
    *S_DELETES, *S_GETMORE, *OP_KWNAMES;

/* first.lower(): ASCII by hand (the same as str.lower on ASCII), else str.lower itself */
static PyObject *lower_str(PyObject *s)
{
    if (PyUnicode_READY(s) < 0)
        return NULL;
    if (!PyUnicode_IS_ASCII(s))
        return PyObject_CallMethod(s, "lower", NULL);
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    const Py_UCS1 *d = PyUnicode_1BYTE_DATA(s);
    Py_ssize_t i = 0;
    while (i < n && !(d[i] >= 'A' && d[i] <= 'Z'))
        i++;
    if (i == n) {
        Py_INCREF(s);
        return s;
    }
    PyObject *r = PyUnicode_New(n, 127);
    if (r == NULL)
        return NULL;
    Py_UCS1 *o = PyUnicode_1BYTE_DATA(r);
    for (Py_ssize_t j = 0; j < n; j++)
        o[j] = (d[j] >= 'A' && d[j] <= 'Z') ? (Py_UCS1)(d[j] + 32) : d[j];
    return r;
}

static PyObject *command_py(PyObject *command, PyObject *op)
{
    PyObject *args[2] = {command, op};
    return PyObject_Vectorcall(COMMAND_PY, args, 1, OP_KWNAMES);
}

static inline int str_eq(PyObject *a, PyObject *b) /* a: exact str or anything; b: exact str */
{
    return a == b || (PyUnicode_CheckExact(a) && PyUnicode_Compare(a, b) == 0);
}

/* the part's text, as f"{part}={shaped}" (or "u=<replacement>") appended to b; 1 when the reference must decide */
static int command_part(Buf *b, PyObject *part, PyObject *value)
{
    if (PyDict_Check(value)) {
        if (str_eq(part, S_U)) {
            if (!PyDict_CheckExact(value))
                return 1;
            int any = 0;
            Py_ssize_t pos = 0;
            PyObject *k, *v;
            while (PyDict_Next(value, &pos, &k, &v)) {
                if (!PyUnicode_CheckExact(k))
                    return 1; /* k.startswith: whatever the reference does with it */
                if (starts_dollar(k)) {
                    any = 1;
                    break;
                }
            }
            if (!any)
                return buf_ascii(b, "u=<replacement>", 15);
        }
    } else if (!PyList_Check(value)) {
        if (buf_str(b, part) < 0 || buf_ascii(b, "=?", 2) < 0)
            return -1;
        return 0;
    }
    if (buf_str(b, part) < 0 || buf_ch(b, '=') < 0)
        return -1;
    PyTypeObject *t = Py_TYPE(value);
    if (t == &PyDict_Type || t == &PyList_Type)
        return shape_node(b, value, part);
    return buf_call(b, SHAPE_RENDER, value, part); /* a subclass: shape_text's own fallback */
}

static PyObject *command_shape_impl(PyObject *command, PyObject *op);

static PyObject *command_shape(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *command, *op = Py_None;
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    if (nargs != 1 || nkw > 1) {
        PyErr_SetString(PyExc_TypeError, "command_shape(command, *, op=None)");
        return NULL;
    }
    command = args[0];
    if (nkw == 1) {
        PyObject *kw = PyTuple_GET_ITEM(kwnames, 0);
        if (!PyUnicode_Check(kw) || PyUnicode_CompareWithASCIIString(kw, "op") != 0) {
            PyErr_SetString(PyExc_TypeError, "command_shape(command, *, op=None)");
            return NULL;
        }
        op = args[1];
    }
    if (COMMAND_PY == NULL || SHAPE_PY == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "command_shape: command_setup()/shape_setup() have not been called");
        return NULL;
    }
    return command_shape_impl(command, op);
}

/* (name, text) of command_shape(command, op=op) */
static PyObject *command_shape_impl(PyObject *command, PyObject *op)
{
    if (!PyDict_CheckExact(command) || (op != Py_None && !PyUnicode_CheckExact(op)))
        return command_py(command, op);
    if (PyDict_GET_SIZE(command) == 0) {
        PyObject *name = (op != Py_None && PyUnicode_GET_LENGTH(op) > 0) ? op : S_COMMAND;
        return PyTuple_Pack(2, name, S_EMPTY);
    }
    Py_ssize_t pos = 0;
    PyObject *first, *v;
    PyDict_Next(command, &pos, &first, &v);
    if (!PyUnicode_CheckExact(first) || PyUnicode_READY(first) < 0)
        return PyErr_Occurred() ? NULL : command_py(command, op);
    Py_INCREF(first);
    PyObject *name = lower_str(first), *res = NULL;
    if (name == NULL) {
        Py_DECREF(first);
        return NULL;
    }
    PyObject *parts = PyDict_GetItemWithError(COMMAND_PARTS, name); /* borrowed */
    if (parts == NULL && PyErr_Occurred())
        goto done;
    if (parts == NULL && op != Py_None && (str_eq(op, S_UPDATE) || str_eq(op, S_REMOVE) || str_eq(op, S_DELETE))) {
        int has = PyDict_Contains(command, S_Q);
        if (has == 0)
            has = PyDict_Contains(command, S_U);
        if (has < 0)
            goto done;
        if (has) {
            PyObject *new_name = str_eq(op, S_UPDATE) ? S_UPDATE : S_REMOVE;
            parts = PyDict_GetItemWithError(COMMAND_PARTS, new_name); /* _COMMAND_PARTS[...] */
            if (parts == NULL) {
                if (!PyErr_Occurred())
                    PyErr_SetObject(PyExc_KeyError, new_name);
                goto done;
            }
            Py_INCREF(new_name);
            Py_SETREF(name, new_name);
        }
    }
    if (parts == NULL && op != Py_None && str_eq(op, S_QUERY)) {
        res = command_py(command, op); /* the legacy OP_QUERY wrapper */
        goto done;
    }
    int bulk = 0;
    if (str_eq(name, S_UPDATE))
        bulk = PyDict_Contains(command, S_UPDATES);
    else if (str_eq(name, S_DELETE))
        bulk = PyDict_Contains(command, S_DELETES);
    if (bulk != 0) {
        if (bulk > 0)
            res = command_py(command, op); /* a bulk of statements */
        goto done;
    }
    if (str_eq(name, S_GETMORE)) {
        res = PyTuple_Pack(2, S_GETMORE, S_EMPTY);
        goto done;
    }
    if (parts == NULL) {
        res = PyTuple_Pack(2, first, S_EMPTY);
        goto done;
    }
    if (!PyTuple_CheckExact(parts)) {
        res = command_py(command, op);
        goto done;
    }
    Py_INCREF(parts);
    Buf b = {NULL, 0, 0};
    int count = 0, rc = 0;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(parts) && rc == 0; i++) {
        PyObject *part = PyTuple_GET_ITEM(parts, i);
        PyObject *value = PyDict_GetItemWithError(command, part);
        if (value == NULL) {
            if (PyErr_Occurred())
                rc = -1;
            continue;
        }
        Py_INCREF(value);
        if (count++ && buf_ch(&b, ' ') < 0)
            rc = -1;
        else
            rc = command_part(&b, part, value);
        Py_DECREF(value);
    }
    for (Py_ssize_t i = 0, nflags = 0; rc == 0 && i < PyTuple_GET_SIZE(FLAG_KEYS); i++) {
        PyObject *k = PyTuple_GET_ITEM(FLAG_KEYS, i);
        PyObject *fv = PyDict_GetItemWithError(command, k);
        if (fv == NULL) {
            if (PyErr_Occurred())
                rc = -1;
            continue;
        }
        if (fv != Py_True)
            continue;
        /* " ".join(out + [" ".join(flags)]): a separator before the first flag when out has text */
        if (((count && nflags == 0) || nflags > 0) && buf_ch(&b, ' ') < 0)
            rc = -1;
        else if (buf_str(&b, k) < 0)
            rc = -1;
        nflags++;
    }
    Py_DECREF(parts);
    if (rc == 0) {
        PyObject *text = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, b.p, b.n);
        if (text != NULL) {
            res = PyTuple_Pack(2, name, text);
            Py_DECREF(text);
        }
    } else if (rc == 1) {
        res = command_py(command, op);
    }
    PyMem_Free(b.p);
done:
    Py_DECREF(name);
    Py_DECREF(first);
    return res;
}

/* command_setup(command_parts, flag_keys, command_py) */
static PyObject *command_setup(PyObject *self, PyObject *args)
{
    PyObject *parts, *flags, *py;
    if (!PyArg_ParseTuple(args, "O!O!O:command_setup", &PyDict_Type, &parts, &PyTuple_Type, &flags, &py))
        return NULL;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(flags); i++) {
        if (!PyUnicode_CheckExact(PyTuple_GET_ITEM(flags, i))) {
            PyErr_SetString(PyExc_TypeError, "command_setup: the flag keys must be str");
            return NULL;
        }
    }
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    while (PyDict_Next(parts, &pos, &k, &v)) {
        if (!PyUnicode_CheckExact(k) || !PyTuple_CheckExact(v)) {
            PyErr_SetString(PyExc_TypeError, "command_setup: command parts must map str to a tuple of str");
            return NULL;
        }
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(v); i++) {
            if (!PyUnicode_CheckExact(PyTuple_GET_ITEM(v, i))) {
                PyErr_SetString(PyExc_TypeError, "command_setup: command parts must map str to a tuple of str");
                return NULL;
            }
        }
    }
    if (!PyCallable_Check(py)) {
        PyErr_SetString(PyExc_TypeError, "command_setup: the reference must be callable");
        return NULL;
    }
    Py_INCREF(parts);
    Py_INCREF(flags);
    Py_INCREF(py);
    Py_XSETREF(COMMAND_PARTS, parts);
    Py_XSETREF(FLAG_KEYS, flags);
    Py_XSETREF(COMMAND_PY, py);
    Py_RETURN_NONE;
}

/* -- mongodb._shape_of_py and mongodb._log_date_py in C ------------------------------------------------------ *
 *
 * shape_of(op, ns, command, orig) == _shape_of_py(...) (operation, fingerprint) for op None or a str, ns None or
 * a str, command a dict (or not one: then {}) whose first key is a str; anything else goes to the reference.
 * log_date(value) == _log_date_py(value) for mongod's own stamps whose minute is cached ("<minute>:SS.mmm<zone>",
 * 24 or 29 ASCII characters), computed as the reference computes it: (start + sec + ms) / 1_000_000 in integers,
 * then one division, which for |n| < 2**53 is the double division int / int does; everything else (and a minute
 * not cached yet) goes to the reference, which fills the cache. mongodb_setup() hands over the known operations,
 * the minute cache (the very dict the reference fills) and the two references, when mongodb is imported. */

static PyObject *KNOWN_OPS, *SHAPE_OF_PY, *MINUTE_STARTS, *LOG_DATE_PY, *S_INSERT, *S_DATE;

/* f"{a} {b} {c}".rstrip() for str a, b, c */
static PyObject *join3_rstrip(PyObject *a, PyObject *b, PyObject *c)
{
    Buf buf = {NULL, 0, 0};
    PyObject *res = NULL;
    if (buf_str(&buf, a) == 0 && buf_ch(&buf, ' ') == 0 && buf_str(&buf, b) == 0 && buf_ch(&buf, ' ') == 0 &&
        buf_str(&buf, c) == 0) {
        Py_ssize_t e = buf.n;
        while (e > 0 && Py_UNICODE_ISSPACE(buf.p[e - 1]))
            e--;
        res = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, buf.p, e);
    }
    PyMem_Free(buf.p);
    return res;
}

static PyObject *shape_of(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "shape_of(op, ns, command, orig)");
        return NULL;
    }
    if (SHAPE_OF_PY == NULL || COMMAND_PY == NULL || SHAPE_PY == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "shape_of: mongodb_setup()/command_setup()/shape_setup() not called");
        return NULL;
    }
    PyObject *op = args[0], *ns = args[1], *command = args[2], *orig = args[3];
    if ((op != Py_None && !PyUnicode_CheckExact(op)) || (ns != Py_None && !PyUnicode_CheckExact(ns)) ||
        (PyDict_Check(command) && !PyDict_CheckExact(command)) || (PyDict_Check(orig) && !PyDict_CheckExact(orig)))
        return PyObject_Vectorcall(SHAPE_OF_PY, args, 4, NULL);
    PyObject *cmd;
    if (!PyDict_CheckExact(command)) {
        cmd = PyDict_New();
        if (cmd == NULL)
            return NULL;
    } else {
        cmd = command;
        Py_INCREF(cmd);
    }
    PyObject *name_shape = NULL, *name = NULL, *shape = NULL, *lower = NULL, *operation = NULL, *res = NULL;
    int is_remove = op != Py_None && (str_eq(op, S_REMOVE) || str_eq(op, S_DELETE));
    if (is_remove && PyDict_GET_SIZE(cmd) > 0) {
        int has_q = PyDict_Contains(cmd, S_Q);
        if (has_q < 0)
            goto done;
        if (!has_q) {
            Py_ssize_t pos = 0;
            PyObject *first, *v;
            PyDict_Next(cmd, &pos, &first, &v);
            if (!PyUnicode_CheckExact(first)) {
                res = PyObject_Vectorcall(SHAPE_OF_PY, args, 4, NULL);
                goto done;
            }
            if (!str_eq(first, S_DELETE)) { /* legacy ops log the bare filter */
                PyObject *wrapped = PyDict_New();
                if (wrapped == NULL || PyDict_SetItem(wrapped, S_Q, cmd) < 0) {
                    Py_XDECREF(wrapped);
                    goto done;
                }
                Py_SETREF(cmd, wrapped);
            }
        }
    }
    name_shape = command_shape_impl(cmd, op);
    if (name_shape == NULL)
        goto done;
    if (!PyTuple_CheckExact(name_shape) || PyTuple_GET_SIZE(name_shape) != 2 ||
        !PyUnicode_CheckExact(PyTuple_GET_ITEM(name_shape, 0)) || !PyUnicode_CheckExact(PyTuple_GET_ITEM(name_shape, 1))) {
        res = PyObject_Vectorcall(SHAPE_OF_PY, args, 4, NULL); /* not what a plain command gives: the reference */
        goto done;
    }
    name = PyTuple_GET_ITEM(name_shape, 0);
    shape = PyTuple_GET_ITEM(name_shape, 1);
    Py_INCREF(name);
    Py_INCREF(shape);
    lower = lower_str(name);
    if (lower == NULL)
        goto done;
    int known = PySet_Contains(KNOWN_OPS, lower);
    if (known < 0)
        goto done;
    operation = known ? lower : name;
    Py_INCREF(operation);
    if (str_eq(operation, S_GETMORE) || (op != Py_None && str_eq(op, S_GETMORE))) {
        Py_SETREF(operation, Py_NewRef(S_GETMORE));
        if (PyDict_Check(orig) && PyDict_GET_SIZE(orig) > 0) {
            PyObject *orig_ns = command_shape_impl(orig, S_QUERY);
            if (orig_ns == NULL)
                goto done;
            if (!PyTuple_CheckExact(orig_ns) || PyTuple_GET_SIZE(orig_ns) != 2 ||
                !PyUnicode_CheckExact(PyTuple_GET_ITEM(orig_ns, 0)) ||
                !PyUnicode_CheckExact(PyTuple_GET_ITEM(orig_ns, 1))) {
                Py_DECREF(orig_ns);
                res = PyObject_Vectorcall(SHAPE_OF_PY, args, 4, NULL);
                goto done;
            }
            PyObject *orig_lower = lower_str(PyTuple_GET_ITEM(orig_ns, 0));
            if (orig_lower == NULL) {
                Py_DECREF(orig_ns);
                goto done;
            }
            /* f"{orig_name.lower()} {orig_shape}".rstrip() */
            Buf buf = {NULL, 0, 0};
            PyObject *joined = NULL;
            if (buf_str(&buf, orig_lower) == 0 && buf_ch(&buf, ' ') == 0 && buf_str(&buf, PyTuple_GET_ITEM(orig_ns, 1)) == 0) {
                Py_ssize_t e = buf.n;
                while (e > 0 && Py_UNICODE_ISSPACE(buf.p[e - 1]))
                    e--;
                joined = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, buf.p, e);
            }
            PyMem_Free(buf.p);
            Py_DECREF(orig_lower);
            Py_DECREF(orig_ns);
            if (joined == NULL)
                goto done;
            Py_SETREF(shape, joined);
        }
    } else if (op != Py_None && str_eq(op, S_INSERT) && PyUnicode_GET_LENGTH(shape) == 0) {
        Py_SETREF(operation, Py_NewRef(S_INSERT));
    }
    /* fingerprint(op=operation, ns=ns, shape=shape): f"{op} {ns or '?'} {shape}".rstrip() */
    PyObject *fp = join3_rstrip(operation, (ns == Py_None || PyUnicode_GET_LENGTH(ns) == 0) ? PLACEHOLDER : ns, shape);
    if (fp == NULL)
        goto done;
    res = PyTuple_Pack(2, operation, fp);
    Py_DECREF(fp);
done:
    Py_XDECREF(operation);
    Py_XDECREF(lower);
    Py_XDECREF(shape);
    Py_XDECREF(name);
    Py_XDECREF(name_shape);
    Py_DECREF(cmd);
    return res;
}

static inline int dec_digit(Py_UCS1 c) { return c >= '0' && c <= '9' ? c - '0' : -1; }

static PyObject *log_date(PyObject *self, PyObject *value)
{
    if (LOG_DATE_PY == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "log_date: mongodb_setup() has not been called");
        return NULL;
    }
    if (!PyDict_CheckExact(value))
        return PyObject_CallOneArg(LOG_DATE_PY, value);
    PyObject *text = PyDict_GetItemWithError(value, S_DATE);
    if (text == NULL) {
        if (PyErr_Occurred())
            return NULL;
        return PyObject_CallOneArg(LOG_DATE_PY, value);
    }
    if (!PyUnicode_CheckExact(text))
        return PyObject_CallOneArg(LOG_DATE_PY, value);
    if (PyUnicode_READY(text) < 0)
        return NULL;
    if (!PyUnicode_IS_ASCII(text))
        return PyObject_CallOneArg(LOG_DATE_PY, value);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    const Py_UCS1 *s = PyUnicode_1BYTE_DATA(text);
    if (!((n == 29 || n == 24) && s[16] == ':' && s[19] == '.'))
        return PyObject_CallOneArg(LOG_DATE_PY, value);
    int s1 = dec_digit(s[17]), s2 = dec_digit(s[18]), m1 = dec_digit(s[20]), m2 = dec_digit(s[21]), m3 = dec_digit(s[22]);
    if (s1 < 0 || s2 < 0 || s1 * 10 + s2 >= 60 || m1 < 0 || m2 < 0 || m3 < 0)
        return PyObject_CallOneArg(LOG_DATE_PY, value); /* not in _SECONDS / _MILLIS */
    /* _MINUTE_STARTS.get(text[:16] + text[23:]) */
    PyObject *key = PyUnicode_New(16 + (n - 23), 127);
    if (key == NULL)
        return NULL;
    Py_UCS1 *k = PyUnicode_1BYTE_DATA(key);
    memcpy(k, s, 16);
    memcpy(k + 16, s + 23, (size_t)(n - 23));
    PyObject *start = PyDict_GetItemWithError(MINUTE_STARTS, key);
    Py_DECREF(key);
    if (start == NULL) {
        if (PyErr_Occurred())
            return NULL;
        return PyObject_CallOneArg(LOG_DATE_PY, value); /* not cached yet: the reference reads and caches it */
    }
    if (!PyLong_CheckExact(start))
        return PyObject_CallOneArg(LOG_DATE_PY, value);
    int overflow = 0;
    long long st = PyLong_AsLongLongAndOverflow(start, &overflow);
    if (st == -1 && PyErr_Occurred())
        return NULL;
    const long long lim = 1LL << 53;
    long long add = (long long)(s1 * 10 + s2) * 1000000 + (long long)(m1 * 100 + m2 * 10 + m3) * 1000;
    if (overflow || st >= lim || st <= -lim || st + add >= lim || st + add <= -lim)
        return PyObject_CallOneArg(LOG_DATE_PY, value);
    return PyFloat_FromDouble((double)(st + add) / 1000000.0);
}

/* mongodb_setup(known_ops, shape_of_py, minute_starts, log_date_py) */
static PyObject *mongodb_setup(PyObject *self, PyObject *args)
{
    PyObject *ops, *sp, *ms, *ld;
    if (!PyArg_ParseTuple(args, "O!OO!O:mongodb_setup", &PyFrozenSet_Type, &ops, &sp, &PyDict_Type, &ms, &ld))
        return NULL;
    if (!PyCallable_Check(sp) || !PyCallable_Check(ld)) {
        PyErr_SetString(PyExc_TypeError, "mongodb_setup: the references must be callable");
        return NULL;
    }
    Py_INCREF(ops);
    Py_INCREF(sp);
    Py_INCREF(ms);
    Py_INCREF(ld);
    Py_XSETREF(KNOWN_OPS, ops);
    Py_XSETREF(SHAPE_OF_PY, sp);
    Py_XSETREF(MINUTE_STARTS, ms);
    Py_XSETREF(LOG_DATE_PY, ld);
    Py_RETURN_NONE;
}

/* -- digest._Agg.add in C (agg_add) -------------------------------------------------------------------------- *
 *
 * agg_add(agg, e, order) == _Agg.add(agg, e, order) (the Python method), step for step, when every value has
 * the type the parsers give (an exact Entry and _Agg; a finite float duration; a finite float or None for the
 * time; None or an int for the counts; None or a float for the lock wait; exact Counters and dicts in the
 * aggregate). Anything else is left to the Python method before anything changes. Arithmetic on Python values goes
 * through the number protocol (the same operations as the Python code), float-only steps through C doubles (the
 * same IEEE operations: +, <, >, math.log, math.floor); trimming a counter and coarsening the minute table call
 * the Python helpers. The slots of both objects are read and written at their offsets. agg_setup() hands over the
 * types, the constants and the helpers when digest is imported. */

static PyObject *AGG_TYPE, *ENTRY_TYPE, *COUNTER_TYPE, *AGG_ADD_PY, *AGG_TRIM, *AGG_ZERO, *ONE, *TWO;
static long AGG_EXACT_MAX, AGG_TRIM_AT, AGG_MINUTES_MAX;
static double AGG_LOG_BASE;

enum {
    A_COUNT, A_TOTAL, A_MIN, A_MAX, A_EXACT, A_BUCKETS, A_EXAMINED, A_RETURNED, A_LOCK, A_PLANS, A_INTERNAL,
    A_REASONS, A_FIRST, A_LAST, A_DBS, A_USERS, A_CLIENTS, A_NAMESPACES, A_OPERATIONS, A_EXAMPLE, A_EXAMPLE_MS,
    A_EXAMPLE_SOURCE, A_EXAMPLE_LINE, A_EXAMPLE_EXTRA, A_MINUTE, A_WIDTH, A_SUMS, A_N
};
static const char *const AGG_NAMES[A_N] = {
    "count", "total", "min", "max", "exact", "buckets", "examined", "returned", "lock", "plans", "internal",
    "reasons", "first", "last", "dbs", "users", "clients", "namespaces", "operations", "example", "example_ms",
    "example_source", "example_line", "example_extra", "minute", "width", "sums"};
static PyObject *AGG_KEYS[A_N];

enum {
    E_SOURCE, E_LINE, E_TS, E_DURATION, E_EXAMPLE, E_NAMESPACE, E_DB, E_USER, E_CLIENT, E_OPERATION, E_EXAMINED,
    E_RETURNED, E_LOCK, E_PLAN, E_INTERNAL, E_REASON, E_EXTRA, E_N
};
static const char *const ENTRY_NAMES[E_N] = {
    "source", "line", "ts", "duration_ms", "example", "namespace", "db", "user", "client", "operation", "examined",
    "returned", "lock_ms", "plan", "internal", "internal_reason", "extra"};
static PyObject *ENTRY_KEYS[E_N];
static PyObject *S_COARSEN;

static inline int is_finite_float(PyObject *x) { return PyFloat_CheckExact(x) && isfinite(PyFloat_AS_DOUBLE(x)); }
static inline int is_none_or_exact_int(PyObject *x) { return x == Py_None || PyLong_CheckExact(x); }

/* d[k] = d.get(k, 0) + 1 */
static int count_in(PyObject *d, PyObject *k)
{
    PyObject *old = PyDict_GetItemWithError(d, k);
    if (old == NULL && PyErr_Occurred())
        return -1;
    PyObject *n = old == NULL ? (Py_INCREF(ONE), ONE) : PyNumber_Add(old, ONE);
    if (n == NULL)
        return -1;
    int rc = PyDict_SetItem(d, k, n);
    Py_DECREF(n);
    return rc;
}

/* The slots of _Agg and Entry are read and written at their offsets, as their member descriptors do (without
 * the attribute lookups); agg_setup checks that every name is a plain object slot of its type. */
static Py_ssize_t AGG_OFF[A_N], ENTRY_OFF[E_N];

/* a new reference to the slot's value; NULL when the slot is empty */
static inline PyObject *slot_get(PyObject *obj, Py_ssize_t off)
{
    PyObject *x = *(PyObject **)((char *)obj + off);
    Py_XINCREF(x);
    return x;
}

static inline int agg_set(PyObject *agg, int i, PyObject *v)
{
    PyObject **p = (PyObject **)((char *)agg + AGG_OFF[i]), *old = *p;
    Py_INCREF(v);
    *p = v;
    Py_XDECREF(old);
    return 0;
}

/* self.x = self.x + v (an augmented assignment on an immutable value) */
static int add_to(PyObject *agg, int i, PyObject *cur, PyObject *v)
{
    PyObject *n = PyNumber_InPlaceAdd(cur, v);
    if (n == NULL)
        return -1;
    int rc = agg_set(agg, i, n);
    Py_DECREF(n);
    return rc;
}

static int set_float(PyObject *agg, int i, double v)
{
    PyObject *f = PyFloat_FromDouble(v);
    if (f == NULL)
        return -1;
    int rc = agg_set(agg, i, f);
    Py_DECREF(f);
    return rc;
}

/* offsets[i] of each name's member descriptor on type; TypeError when one is not a plain object slot */
static int slot_offsets(PyObject *type, PyObject **names, int n, Py_ssize_t *offsets)
{
    for (int i = 0; i < n; i++) {
        PyObject *d = PyObject_GetAttr(type, names[i]);
        if (d == NULL) {
            if (PyErr_ExceptionMatches(PyExc_AttributeError)) {
                PyErr_Clear();
                PyErr_Format(PyExc_TypeError, "agg_setup: %R has no %U slot", type, names[i]);
            }
            return -1;
        }
        int ok = Py_IS_TYPE(d, &PyMemberDescr_Type) &&
                 PyType_IsSubtype((PyTypeObject *)type, ((PyMemberDescrObject *)d)->d_common.d_type);
        if (ok) {
            PyMemberDef *m = ((PyMemberDescrObject *)d)->d_member;
            ok = m->type == T_OBJECT_EX && !(m->flags & READONLY) && m->offset > 0;
            offsets[i] = m->offset;
        }
        Py_DECREF(d);
        if (!ok) {
            PyErr_Format(PyExc_TypeError, "agg_setup: %R.%U is not a plain __slots__ attribute", type, names[i]);
            return -1;
        }
    }
    return 0;
}

static PyObject *agg_add(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "agg_add(agg, entry, order)");
        return NULL;
    }
    if (AGG_ADD_PY == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "agg_add: agg_setup() has not been called");
        return NULL;
    }
    PyObject *agg = args[0], *e = args[1], *order = args[2];
    PyObject *a[A_N] = {NULL}, *v[E_N] = {NULL};
    PyObject *res = NULL;
    int i;
    if ((PyObject *)Py_TYPE(agg) != AGG_TYPE || (PyObject *)Py_TYPE(e) != ENTRY_TYPE)
        return PyObject_Vectorcall(AGG_ADD_PY, args, 3, NULL);
    for (i = 0; i < E_N; i++) {
        v[i] = slot_get(e, ENTRY_OFF[i]);
        if (v[i] == NULL)
            goto python; /* an empty slot: the Python method raises its AttributeError where it reads it */
    }
    for (i = 0; i < A_N; i++) {
        a[i] = slot_get(agg, AGG_OFF[i]);
        if (a[i] == NULL)
            goto python;
    }
    /* what the C steps read must have the types they assume; else the Python method, before any change */
    if (!is_finite_float(v[E_DURATION]) || !(v[E_TS] == Py_None || is_finite_float(v[E_TS])) ||
        !is_none_or_exact_int(v[E_EXAMINED]) || !is_none_or_exact_int(v[E_RETURNED]) ||
        !(v[E_LOCK] == Py_None || PyFloat_CheckExact(v[E_LOCK])) || !(v[E_PLAN] == Py_None || PyUnicode_CheckExact(v[E_PLAN])) ||
        !PyBool_Check(v[E_INTERNAL]) || !(v[E_REASON] == Py_None || PyUnicode_CheckExact(v[E_REASON])) ||
        !PyDict_CheckExact(v[E_EXTRA]) || !PyLong_CheckExact(a[A_COUNT]) || !PyFloat_CheckExact(a[A_TOTAL]) ||
        !PyFloat_CheckExact(a[A_MIN]) || !PyFloat_CheckExact(a[A_MAX]) || !(a[A_EXACT] == Py_None || PyList_CheckExact(a[A_EXACT])) ||
        !PyDict_CheckExact(a[A_BUCKETS]) || !PyFloat_CheckExact(a[A_EXAMPLE_MS]) || !PyDict_CheckExact(a[A_MINUTE]) ||
        !PyLong_CheckExact(a[A_WIDTH]) || !PyDict_CheckExact(a[A_SUMS]) ||
        !(a[A_FIRST] == Py_None || PyFloat_CheckExact(a[A_FIRST])) || !(a[A_LAST] == Py_None || PyFloat_CheckExact(a[A_LAST])))
        goto python;
    for (i = A_PLANS; i <= A_OPERATIONS; i++) {
        if ((i == A_PLANS || i == A_REASONS || i >= A_DBS) && (PyObject *)Py_TYPE(a[i]) != COUNTER_TYPE)
            goto python;
    }
    double ms = PyFloat_AS_DOUBLE(v[E_DURATION]);
    /* self.count += 1; self.total += ms; min; max */
    if (add_to(agg, A_COUNT, a[A_COUNT], ONE) < 0 ||
        set_float(agg, A_TOTAL, PyFloat_AS_DOUBLE(a[A_TOTAL]) + ms) < 0)
        goto done;
    if (ms < PyFloat_AS_DOUBLE(a[A_MIN]) && agg_set(agg, A_MIN, v[E_DURATION]) < 0)
        goto done;
    if (ms > PyFloat_AS_DOUBLE(a[A_MAX]) && agg_set(agg, A_MAX, v[E_DURATION]) < 0)
        goto done;
    if (a[A_EXACT] != Py_None) {
        if (PyList_GET_SIZE(a[A_EXACT]) < AGG_EXACT_MAX) {
            if (PyList_Append(a[A_EXACT], v[E_DURATION]) < 0)
                goto done;
        } else if (agg_set(agg, A_EXACT, Py_None) < 0) {
            goto done;
        }
    }
    /* b = _ZERO if ms <= 0 else floor(log(ms) / _LOG_BASE); buckets[b] = buckets.get(b, 0) + 1 */
    PyObject *b = ms <= 0 ? (Py_INCREF(AGG_ZERO), AGG_ZERO) : PyLong_FromDouble(floor(log(ms) / AGG_LOG_BASE));
    if (b == NULL)
        goto done;
    int rc = count_in(a[A_BUCKETS], b);
    Py_DECREF(b);
    if (rc < 0)
        goto done;
    if (v[E_EXAMINED] != Py_None && PyObject_IsTrue(v[E_EXAMINED]) &&
        add_to(agg, A_EXAMINED, a[A_EXAMINED], v[E_EXAMINED]) < 0)
        goto done;
    if (v[E_RETURNED] != Py_None && PyObject_IsTrue(v[E_RETURNED]) &&
        add_to(agg, A_RETURNED, a[A_RETURNED], v[E_RETURNED]) < 0)
        goto done;
    if (v[E_LOCK] != Py_None && PyFloat_AS_DOUBLE(v[E_LOCK]) != 0.0 &&
        add_to(agg, A_LOCK, a[A_LOCK], v[E_LOCK]) < 0)
        goto done;
    if (v[E_PLAN] != Py_None && PyUnicode_GET_LENGTH(v[E_PLAN]) > 0 && count_in(a[A_PLANS], v[E_PLAN]) < 0)
        goto done; /* Counter: a missing key counts 0, as Counter.__missing__ gives */
    if (v[E_INTERNAL] == Py_True) {
        if (add_to(agg, A_INTERNAL, a[A_INTERNAL], ONE) < 0)
            goto done;
        if (v[E_REASON] != Py_None && PyUnicode_GET_LENGTH(v[E_REASON]) > 0 && count_in(a[A_REASONS], v[E_REASON]) < 0)
            goto done;
    }
    if (v[E_TS] != Py_None) {
        double ts = PyFloat_AS_DOUBLE(v[E_TS]);
        if ((a[A_FIRST] == Py_None || ts < PyFloat_AS_DOUBLE(a[A_FIRST])) && agg_set(agg, A_FIRST, v[E_TS]) < 0)
            goto done;
        if ((a[A_LAST] == Py_None || ts > PyFloat_AS_DOUBLE(a[A_LAST])) && agg_set(agg, A_LAST, v[E_TS]) < 0)
            goto done;
        /* key = int(ts // self.width): the number protocol, as the Python code */
        PyObject *q = PyNumber_FloorDivide(v[E_TS], a[A_WIDTH]);
        if (q == NULL)
            goto done;
        PyObject *key = PyNumber_Long(q);
        Py_DECREF(q);
        if (key == NULL)
            goto done;
        rc = count_in(a[A_MINUTE], key);
        Py_DECREF(key);
        if (rc < 0)
            goto done;
        if (PyDict_GET_SIZE(a[A_MINUTE]) > AGG_MINUTES_MAX) {
            PyObject *w = PyNumber_Multiply(a[A_WIDTH], TWO);
            if (w == NULL)
                goto done;
            PyObject *r = PyObject_CallMethodOneArg(agg, S_COARSEN, w);
            Py_DECREF(w);
            if (r == NULL)
                goto done;
            Py_DECREF(r);
        }
    }
    static const int pairs[5][2] = {{E_DB, A_DBS}, {E_USER, A_USERS}, {E_CLIENT, A_CLIENTS},
                                    {E_NAMESPACE, A_NAMESPACES}, {E_OPERATION, A_OPERATIONS}};
    for (i = 0; i < 5; i++) {
        PyObject *val = v[pairs[i][0]], *c = a[pairs[i][1]];
        if (val == Py_None)
            continue;
        if (count_in(c, val) < 0)
            goto done;
        if (PyDict_GET_SIZE(c) > AGG_TRIM_AT) {
            PyObject *r = PyObject_CallOneArg(AGG_TRIM, c);
            if (r == NULL)
                goto done;
            Py_DECREF(r);
        }
    }
    if (PyDict_GET_SIZE(v[E_EXTRA]) > 0) {
        Py_ssize_t pos = 0;
        PyObject *k, *x;
        while (PyDict_Next(v[E_EXTRA], &pos, &k, &x)) {
            if (!(PyLong_Check(x) || PyFloat_Check(x)) || PyBool_Check(x))
                continue;
            /* sums[k] = sums.get(k, 0) + x */
            Py_INCREF(k);
            Py_INCREF(x);
            PyObject *old = PyDict_GetItemWithError(a[A_SUMS], k), *n = NULL;
            if (old != NULL || !PyErr_Occurred())
                n = PyNumber_Add(old != NULL ? old : ZERO, x);
            rc = n == NULL ? -1 : PyDict_SetItem(a[A_SUMS], k, n);
            Py_XDECREF(n);
            Py_DECREF(x);
            Py_DECREF(k);
            if (rc < 0)
                goto done;
        }
    }
    if (ms > PyFloat_AS_DOUBLE(a[A_EXAMPLE_MS])) {
        PyObject *line = PyTuple_Pack(2, order, v[E_LINE]);
        if (line == NULL)
            goto done;
        rc = agg_set(agg, A_EXAMPLE_MS, v[E_DURATION]) < 0 || agg_set(agg, A_EXAMPLE, v[E_EXAMPLE]) < 0 ||
             agg_set(agg, A_EXAMPLE_SOURCE, v[E_SOURCE]) < 0 || agg_set(agg, A_EXAMPLE_LINE, line) < 0 ||
             agg_set(agg, A_EXAMPLE_EXTRA, v[E_EXTRA]) < 0;
        Py_DECREF(line);
        if (rc)
            goto done;
    }
    Py_INCREF(Py_None);
    res = Py_None;
    goto done;
python:
    res = PyObject_Vectorcall(AGG_ADD_PY, args, 3, NULL);
done:
    for (i = 0; i < E_N; i++)
        Py_XDECREF(v[i]);
    for (i = 0; i < A_N; i++)
        Py_XDECREF(a[i]);
    return res;
}

/* agg_setup(agg_type, entry_type, counter_type, add_py, trim, zero_bucket, exact_max, trim_at, minutes_max, log_base) */
static PyObject *agg_setup(PyObject *self, PyObject *args)
{
    PyObject *at, *et, *ct, *add, *trim, *zero;
    long exact_max, trim_at, minutes_max;
    double log_base;
    if (!PyArg_ParseTuple(args, "O!O!O!OOO!llld:agg_setup", &PyType_Type, &at, &PyType_Type, &et, &PyType_Type, &ct,
                          &add, &trim, &PyLong_Type, &zero, &exact_max, &trim_at, &minutes_max, &log_base))
        return NULL;
    if (!PyCallable_Check(add) || !PyCallable_Check(trim)) {
        PyErr_SetString(PyExc_TypeError, "agg_setup: add_py and trim must be callable");
        return NULL;
    }
    for (int i = 0; i < A_N; i++) {
        if (AGG_KEYS[i] == NULL && (AGG_KEYS[i] = PyUnicode_InternFromString(AGG_NAMES[i])) == NULL)
            return NULL;
    }
    for (int i = 0; i < E_N; i++) {
        if (ENTRY_KEYS[i] == NULL && (ENTRY_KEYS[i] = PyUnicode_InternFromString(ENTRY_NAMES[i])) == NULL)
            return NULL;
    }
    if (S_COARSEN == NULL && (S_COARSEN = PyUnicode_InternFromString("_coarsen")) == NULL)
        return NULL;
    if (ONE == NULL && (ONE = PyLong_FromLong(1)) == NULL)
        return NULL;
    if (TWO == NULL && (TWO = PyLong_FromLong(2)) == NULL)
        return NULL;
    Py_ssize_t agg_off[A_N], entry_off[E_N]; /* kept only when both types pass (AGG_TYPE goes with AGG_OFF) */
    if (slot_offsets(at, AGG_KEYS, A_N, agg_off) < 0 || slot_offsets(et, ENTRY_KEYS, E_N, entry_off) < 0)
        return NULL;
    memcpy(AGG_OFF, agg_off, sizeof(agg_off));
    memcpy(ENTRY_OFF, entry_off, sizeof(entry_off));
    Py_INCREF(at);
    Py_INCREF(et);
    Py_INCREF(ct);
    Py_INCREF(add);
    Py_INCREF(trim);
    Py_INCREF(zero);
    Py_XSETREF(AGG_TYPE, at);
    Py_XSETREF(ENTRY_TYPE, et);
    Py_XSETREF(COUNTER_TYPE, ct);
    Py_XSETREF(AGG_ADD_PY, add);
    Py_XSETREF(AGG_TRIM, trim);
    Py_XSETREF(AGG_ZERO, zero);
    AGG_EXACT_MAX = exact_max;
    AGG_TRIM_AT = trim_at;
    AGG_MINUTES_MAX = minutes_max;
    AGG_LOG_BASE = log_base;
    Py_RETURN_NONE;
}

/* -- mongodb._json_attr_py in C (json_attr) ------------------------------------------------------------------ *
 *
 * json_attr(doc, attr) == _json_attr_py(doc, attr) for what orjson gives (exact dicts; the command documents exact
 * dicts or no dicts at all; ctx an exact str or no str): the same reads in the same order, shape_of in C, and
 * _int (the Python helper) for counts that are not plain ints. Anything else goes to the reference.
 * json_attr_setup() hands over the reference and _int when mongodb is imported. */

static PyObject *JSON_ATTR_PY, *INT_PY, *S_FORMAT, *S_MONGODB_JSON, *S_KEYS_EXAMINED, *S_APP, *OP_TYPES;
static PyObject *K_NS, *K_COMMAND, *K_ORIG, *K_TYPE, *K_CTX, *K_USER, *K_TAILABLE, *K_AWAIT, *K_PLAN, *K_KEYS,
    *K_APPNAME, *K_DOCS, *K_NRETURNED, *S_CONN, *S_BALANCER;

/* d.get(k) (borrowed; None when missing; NULL on error) */
static inline PyObject *dget(PyObject *d, PyObject *k)
{
    PyObject *v = PyDict_GetItemWithError(d, k);
    if (v == NULL && !PyErr_Occurred())
        v = Py_None;
    return v;
}

/* isinstance(d, dict) and d.get("tailable") is True and d.get("awaitData") is True (d: an exact dict or no dict) */
static int tailing_doc(PyObject *d)
{
    if (!PyDict_CheckExact(d))
        return 0;
    PyObject *t = dget(d, K_TAILABLE);
    if (t == NULL)
        return -1;
    if (t != Py_True)
        return 0;
    PyObject *a = dget(d, K_AWAIT);
    if (a == NULL)
        return -1;
    return a == Py_True;
}

/* value if type(value) is int else _int(value) (a new reference) */
static PyObject *as_int(PyObject *value)
{
    if (PyLong_CheckExact(value)) {
        Py_INCREF(value);
        return value;
    }
    return PyObject_CallOneArg(INT_PY, value);
}

static PyObject *json_attr(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "json_attr(doc, attr)");
        return NULL;
    }
    if (JSON_ATTR_PY == NULL || SHAPE_OF_PY == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "json_attr: json_attr_setup()/mongodb_setup() have not been called");
        return NULL;
    }
    PyObject *doc = args[0], *attr = args[1];
    if (!PyDict_CheckExact(doc) || !PyDict_CheckExact(attr))
        return PyObject_Vectorcall(JSON_ATTR_PY, args, 2, NULL);
    PyObject *ns = dget(attr, K_NS), *command = NULL, *orig = NULL, *op_type = NULL, *ctx = NULL;
    if (ns == NULL || (command = dget(attr, K_COMMAND)) == NULL || (orig = dget(attr, K_ORIG)) == NULL ||
        (op_type = dget(attr, K_TYPE)) == NULL || (ctx = dget(doc, K_CTX)) == NULL)
        return NULL;
    if ((PyDict_Check(command) && !PyDict_CheckExact(command)) || (PyDict_Check(orig) && !PyDict_CheckExact(orig)) ||
        (PyUnicode_Check(ctx) && !PyUnicode_CheckExact(ctx)))
        return PyObject_Vectorcall(JSON_ATTR_PY, args, 2, NULL);
    if (!PyUnicode_Check(ns))
        ns = Py_None;
    /* op_type if op_type in ("update", "remove", "delete") else None */
    int is_op = PySequence_Contains(OP_TYPES, op_type);
    if (is_op < 0)
        return NULL;
    PyObject *sargs[4] = {is_op ? op_type : Py_None, ns, command, orig};
    Py_INCREF(ns);
    Py_INCREF(command);
    Py_INCREF(orig);
    Py_INCREF(ctx);
    PyObject *shaped = NULL, *ckey = NULL, *extra = NULL, *keys = NULL, *examined = NULL, *returned = NULL;
    PyObject *res = NULL, *user = NULL, *plan = NULL, *app = NULL;
    shaped = shape_of(NULL, sargs, 4);
    if (shaped == NULL)
        goto done;
    if (!PyTuple_CheckExact(shaped) || PyTuple_GET_SIZE(shaped) != 2) {
        PyErr_SetString(PyExc_TypeError, "json_attr: shape_of did not give (operation, fingerprint)");
        goto done;
    }
    PyObject *operation = PyTuple_GET_ITEM(shaped, 0), *fp = PyTuple_GET_ITEM(shaped, 1);
    if (!PyUnicode_Check(ctx)) {
        Py_SETREF(ctx, Py_NewRef(Py_None));
    }
    if ((user = dget(attr, K_USER)) == NULL)
        goto done;
    user = PyUnicode_Check(user) ? user : Py_None;
    Py_INCREF(user);
    int tailing = tailing_doc(command);
    if (tailing == 0)
        tailing = tailing_doc(orig);
    if (tailing < 0)
        goto done;
    /* None if ctx is None or (ctx[:4] == "conn" and "Balancer" not in ctx) else ctx */
    PyObject *kctx = ctx;
    if (ctx != Py_None) {
        Py_ssize_t conn = PyUnicode_Tailmatch(ctx, S_CONN, 0, 4, -1);
        if (conn < 0)
            goto done;
        if (conn) {
            int bal = PyUnicode_Contains(ctx, S_BALANCER);
            if (bal < 0)
                goto done;
            if (!bal)
                kctx = Py_None;
        }
    }
    ckey = PyTuple_Pack(5, ns, operation, user, kctx, tailing ? Py_True : Py_False);
    if (ckey == NULL)
        goto done;
    if ((plan = dget(attr, K_PLAN)) == NULL)
        goto done;
    plan = PyUnicode_Check(plan) ? plan : Py_None;
    Py_INCREF(plan);
    extra = PyDict_New();
    if (extra == NULL || PyDict_SetItem(extra, S_FORMAT, S_MONGODB_JSON) < 0)
        goto done;
    PyObject *v = dget(attr, K_KEYS);
    if (v == NULL || (keys = as_int(v)) == NULL)
        goto done;
    if (keys != Py_None && PyDict_SetItem(extra, S_KEYS_EXAMINED, keys) < 0)
        goto done;
    if ((app = dget(attr, K_APPNAME)) == NULL)
        goto done;
    if (PyUnicode_Check(app) && PyDict_SetItem(extra, S_APP, app) < 0)
        goto done;
    if ((v = dget(attr, K_DOCS)) == NULL || (examined = as_int(v)) == NULL)
        goto done;
    if ((v = dget(attr, K_NRETURNED)) == NULL || (returned = as_int(v)) == NULL)
        goto done;
    res = PyTuple_Pack(10, ns, operation, fp, user, ctx, ckey, plan, extra, examined, returned);
done:
    Py_XDECREF(returned);
    Py_XDECREF(examined);
    Py_XDECREF(keys);
    Py_XDECREF(extra);
    Py_XDECREF(plan);
    Py_XDECREF(ckey);
    Py_XDECREF(user);
    Py_XDECREF(shaped);
    Py_DECREF(ctx);
    Py_DECREF(orig);
    Py_DECREF(command);
    Py_DECREF(ns);
    return res;
}

/* json_attr_setup(json_attr_py, int_py) */
static PyObject *json_attr_setup(PyObject *self, PyObject *args)
{
    PyObject *ref, *to_int;
    if (!PyArg_ParseTuple(args, "OO:json_attr_setup", &ref, &to_int))
        return NULL;
    if (!PyCallable_Check(ref) || !PyCallable_Check(to_int)) {
        PyErr_SetString(PyExc_TypeError, "json_attr_setup: the helpers must be callable");
        return NULL;
    }
    static const char *const words[] = {"format", "mongodb-json", "keys_examined", "app", "ns", "command",
                                        "originatingCommand", "type", "ctx", "user", "tailable", "awaitData",
                                        "planSummary", "keysExamined", "appName", "docsExamined", "nreturned", "conn",
                                        "Balancer"};
    PyObject **slots[] = {&S_FORMAT, &S_MONGODB_JSON, &S_KEYS_EXAMINED, &S_APP, &K_NS, &K_COMMAND, &K_ORIG, &K_TYPE,
                          &K_CTX, &K_USER, &K_TAILABLE, &K_AWAIT, &K_PLAN, &K_KEYS, &K_APPNAME, &K_DOCS,
                          &K_NRETURNED, &S_CONN, &S_BALANCER};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (*slots[i] == NULL && (*slots[i] = PyUnicode_InternFromString(words[i])) == NULL)
            return NULL;
    }
    if (OP_TYPES == NULL && (OP_TYPES = Py_BuildValue("(sss)", "update", "remove", "delete")) == NULL)
        return NULL;
    Py_INCREF(ref);
    Py_INCREF(to_int);
    Py_XSETREF(JSON_ATTR_PY, ref);
    Py_XSETREF(INT_PY, to_int);
    Py_RETURN_NONE;
}

static PyObject *mask_mysql(PyObject *self, PyObject *arg) { return mask(arg, 0); }

static PyObject *mask_pg(PyObject *self, PyObject *arg) { return mask(arg, 1); }

static PyMethodDef methods[] = {
    {"mask_mysql", mask_mysql, METH_O, "re.sub(r\"'.*?'|[0-9+-][0-9a-f.xb+-]*\", '?', s, flags=re.S)"},
    {"mask_pg", mask_pg, METH_O, "re.sub(r\"'(?:[^']|'')*'|(?<![$\\w])[0-9+-][0-9a-f.xb+-]*\", '?', s)"},
    {"quick_key", quick_key, METH_VARARGS, "cache_key's masked text when only the masking applies, else None"},
    {"newlines", newlines, METH_O, "s.count('\\n')"},
    {"insert_key", insert_key, METH_O, "cache_key(query, 'mysql')'s masked text for a plain INSERT/REPLACE, else None"},
    {"pg_frame", pg_frame, METH_VARARGS, "fastscan._pg_frame_py in C"},
    {"pg_prefix", pg_prefix, METH_O, "fastscan._pg_prefix_py for common prefixes, else None"},
    {"mysql_piece", mysql_piece, METH_O, "fastscan._MY_FAST's groups for a plain piece, else None"},
    {"mysql_run", (PyCFunction)(void (*)(void))mysql_run, METH_FASTCALL,
     "fastscan._mysql's loop body for a run of pieces that take the fast path with every value at hand"},
    {"operation", operation, METH_O, "fingerprint.operation for an ASCII first word, else False"},
    {"add_counts", add_counts, METH_VARARGS, "dst[k * num // den] += v for k, v in src.items()"},
    {"count_keys", count_keys, METH_VARARGS, "len(_MY_GUARD.findall(s, start, end)) (fastscan's header guard)"},
    {"shape_text", (PyCFunction)(void (*)(void))shape_text, METH_FASTCALL,
     "mongodb_shape._shape_text_py(value, parent=None) in C"},
    {"shape_setup", shape_setup, METH_VARARGS, "shape_setup(ext_types, keep_numbers, keep_strings, shape_py, shape_render)"},
    {"command_shape", (PyCFunction)(void (*)(void))command_shape, METH_FASTCALL | METH_KEYWORDS,
     "mongodb_shape._command_shape_py(command, *, op=None) in C"},
    {"command_setup", command_setup, METH_VARARGS, "command_setup(command_parts, flag_keys, command_py)"},
    {"shape_of", (PyCFunction)(void (*)(void))shape_of, METH_FASTCALL, "mongodb._shape_of_py(op, ns, command, orig) in C"},
    {"log_date", log_date, METH_O, "mongodb._log_date_py(value) in C for cached minutes"},
    {"mongodb_setup", mongodb_setup, METH_VARARGS, "mongodb_setup(known_ops, shape_of_py, minute_starts, log_date_py)"},
    {"agg_add", (PyCFunction)(void (*)(void))agg_add, METH_FASTCALL, "digest._Agg.add(agg, entry, order) in C"},
    {"agg_setup", agg_setup, METH_VARARGS, "agg_setup(agg_type, entry_type, counter_type, add_py, trim, zero_bucket, "
     "exact_max, trim_at, minutes_max, log_base)"},
    {"json_attr", (PyCFunction)(void (*)(void))json_attr, METH_FASTCALL, "mongodb._json_attr_py(doc, attr) in C"},
    {"json_attr_setup", json_attr_setup, METH_VARARGS, "json_attr_setup(json_attr_py, int_py)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "casework.diagnostics.slowlog._speedups", "Optional C speedups for the slow-log digest.",
    -1, methods,
};

PyMODINIT_FUNC PyInit__speedups(void)
{
    ADMIN = PyUnicode_InternFromString("administrator command");
    ZERO = PyLong_FromLong(0);
    PLACEHOLDER = PyUnicode_InternFromString("?");
    if (ADMIN == NULL || ZERO == NULL || PLACEHOLDER == NULL)
        return NULL;
    S_MYSQL = PyUnicode_InternFromString("mysql");
    S_TS_ATTR = PyUnicode_InternFromString("ts");
    S_DB_ATTR = PyUnicode_InternFromString("db");
    S_DBT_ATTR = PyUnicode_InternFromString("db_by_thread");
    DIALECT_KWNAMES = Py_BuildValue("(s)", "dialect");
    if (S_MYSQL == NULL || S_TS_ATTR == NULL || S_DB_ATTR == NULL || S_DBT_ATTR == NULL || DIALECT_KWNAMES == NULL)
        return NULL;
    static const char *const words[] = {"command", "", "update", "remove", "delete", "query", "q", "u", "updates",
                                        "deletes", "getmore", "insert", "$date"};
    PyObject **slots[] = {&S_COMMAND, &S_EMPTY, &S_UPDATE, &S_REMOVE, &S_DELETE, &S_QUERY, &S_Q, &S_U, &S_UPDATES,
                          &S_DELETES, &S_GETMORE, &S_INSERT, &S_DATE};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        *slots[i] = PyUnicode_InternFromString(words[i]);
        if (*slots[i] == NULL)
            return NULL;
    }
    OP_KWNAMES = Py_BuildValue("(s)", "op");
    if (OP_KWNAMES == NULL)
        return NULL;
    return PyModule_Create(&module);
}
