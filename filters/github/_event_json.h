/* One GH Archive thread event (a JSON line) → the few fields fragments need, without decoding the rest.

   The fields read are those of objects.Event and the structs under it; every other value is
   skipped by a strict JSON scan (RFC 8259: number grammar, escapes, no control characters in
   strings), 16 bytes at a time inside strings. The answer is all-or-nothing: 0 and the slots
   filled, or -1 ("ask msgspec") for anything this does not handle exactly as msgspec would: a
   value of an unexpected type, a field given twice, an escaped key, a lone surrogate, an integer
   of 19+ digits, nesting deeper than MAX_DEPTH, invalid UTF-8 in a field read, or malformed JSON.
   The caller then decodes the line with msgspec, which gives the answer (a struct, or the
   counted reason), so every line ends as it would without this scan; only its cost differs.

   Slots hold new references (NULL: absent or null). An object field's slot holds Py_True when
   the object is there, so "present" and "its fields" are both known. */

#include <Python.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define MAX_DEPTH 64

enum {  /* what a field's value may be (the struct's annotation) */
    K_STR,          /* str | None */
    K_INT,          /* int | None */
    K_BOOL,         /* bool | None */
    K_STR_OR_INT,   /* str | int | None */
    K_OBJ,          /* Struct | None */
    K_OBJ_OR_STR,   /* Struct | str | None (actor) */
    K_OBJ_OR_INT,   /* Struct | int | None (payload.issue) */
    K_LABELS,       /* list[Label] | None: the slot gets the list of non-empty names */
    K_NULL,         /* only null is handled here (2011-2014 `repository`) */
};

enum {  /* slots: one per field read, over the whole event */
    S_TYPE, S_ID, S_ACTOR, S_ACTOR_LOGIN, S_REPO, S_REPO_NAME, S_REPO_URL, S_REPOSITORY, S_PAYLOAD, S_CREATED_AT,
    S_ACTION, S_NUMBER, S_PR, S_ISSUE, S_COMMENT, S_REVIEW,
    S_PR_NUMBER, S_PR_TITLE, S_PR_BODY, S_PR_USER, S_PR_LOGIN, S_PR_STATE, S_PR_CREATED, S_PR_CLOSED,
    S_PR_MERGED_AT, S_PR_MERGED, S_PR_MERGE_SHA, S_PR_HTML_URL, S_PR_URL, S_PR_BASE, S_BASE_SHA, S_BASE_REPO,
    S_BASE_FULL_NAME, S_BASE_STARS, S_BASE_LANGUAGE, S_PR_HEAD, S_HEAD_SHA, S_PR_LABELS,
    S_IS_NUMBER, S_IS_TITLE, S_IS_BODY, S_IS_USER, S_IS_LOGIN, S_IS_STATE, S_IS_CREATED, S_IS_CLOSED,
    S_IS_HTML_URL, S_IS_URL, S_IS_REPO_URL, S_IS_LABELS, S_IS_PR, S_IS_PR_URL,
    S_C_ID, S_C_USER, S_C_LOGIN, S_C_BODY, S_C_CREATED, S_C_PATH, S_C_HUNK, S_C_ISSUE_URL, S_C_PR_URL,
    S_C_HTML_URL,
    S_R_ID, S_R_USER, S_R_LOGIN, S_R_BODY, S_R_STATE, S_R_SUBMITTED, S_R_PR_URL,
    N_SLOTS
};

typedef struct Schema Schema;
typedef struct { const char *key; int len; int kind; int slot; const Schema *child; } Field;
struct Schema { const Field *fields; int n; };

#define F(key, kind, slot, child) {key, (int)sizeof(key) - 1, kind, slot, child}
#define SCHEMA(name, fields) static const Schema name = {fields, (int)(sizeof(fields) / sizeof(Field))}

static const Field ACTOR_F[] = {F("login", K_STR, S_ACTOR_LOGIN, NULL)};
SCHEMA(ACTOR, ACTOR_F);
static const Field REPO_F[] = {F("name", K_STR, S_REPO_NAME, NULL), F("url", K_STR, S_REPO_URL, NULL)};
SCHEMA(REPO, REPO_F);
static const Field PR_USER_F[] = {F("login", K_STR, S_PR_LOGIN, NULL)};
SCHEMA(PR_USER, PR_USER_F);
static const Field BASE_REPO_F[] = {F("full_name", K_STR, S_BASE_FULL_NAME, NULL),
                                    F("stargazers_count", K_INT, S_BASE_STARS, NULL),
                                    F("language", K_STR, S_BASE_LANGUAGE, NULL)};
SCHEMA(BASE_REPO, BASE_REPO_F);
static const Field BASE_F[] = {F("sha", K_STR, S_BASE_SHA, NULL), F("repo", K_OBJ, S_BASE_REPO, &BASE_REPO)};
SCHEMA(BASE, BASE_F);
static const Field HEAD_F[] = {F("sha", K_STR, S_HEAD_SHA, NULL)};
SCHEMA(HEAD, HEAD_F);
static const Field PR_F[] = {
    F("number", K_INT, S_PR_NUMBER, NULL), F("title", K_STR, S_PR_TITLE, NULL), F("body", K_STR, S_PR_BODY, NULL),
    F("user", K_OBJ, S_PR_USER, &PR_USER), F("state", K_STR, S_PR_STATE, NULL),
    F("created_at", K_STR, S_PR_CREATED, NULL), F("closed_at", K_STR, S_PR_CLOSED, NULL),
    F("merged_at", K_STR, S_PR_MERGED_AT, NULL), F("merged", K_BOOL, S_PR_MERGED, NULL),
    F("merge_commit_sha", K_STR, S_PR_MERGE_SHA, NULL), F("html_url", K_STR, S_PR_HTML_URL, NULL),
    F("url", K_STR, S_PR_URL, NULL), F("base", K_OBJ, S_PR_BASE, &BASE), F("head", K_OBJ, S_PR_HEAD, &HEAD),
    F("labels", K_LABELS, S_PR_LABELS, NULL)};
SCHEMA(PR, PR_F);
static const Field IS_USER_F[] = {F("login", K_STR, S_IS_LOGIN, NULL)};
SCHEMA(IS_USER, IS_USER_F);
static const Field LINK_F[] = {F("url", K_STR, S_IS_PR_URL, NULL)};
SCHEMA(LINK, LINK_F);
static const Field ISSUE_F[] = {
    F("number", K_INT, S_IS_NUMBER, NULL), F("title", K_STR, S_IS_TITLE, NULL), F("body", K_STR, S_IS_BODY, NULL),
    F("user", K_OBJ, S_IS_USER, &IS_USER), F("state", K_STR, S_IS_STATE, NULL),
    F("created_at", K_STR, S_IS_CREATED, NULL), F("closed_at", K_STR, S_IS_CLOSED, NULL),
    F("html_url", K_STR, S_IS_HTML_URL, NULL), F("url", K_STR, S_IS_URL, NULL),
    F("repository_url", K_STR, S_IS_REPO_URL, NULL), F("labels", K_LABELS, S_IS_LABELS, NULL),
    F("pull_request", K_OBJ, S_IS_PR, &LINK)};
SCHEMA(ISSUE, ISSUE_F);
static const Field C_USER_F[] = {F("login", K_STR, S_C_LOGIN, NULL)};
SCHEMA(C_USER, C_USER_F);
static const Field COMMENT_F[] = {
    F("id", K_INT, S_C_ID, NULL), F("user", K_OBJ, S_C_USER, &C_USER), F("body", K_STR, S_C_BODY, NULL),
    F("created_at", K_STR, S_C_CREATED, NULL), F("path", K_STR, S_C_PATH, NULL),
    F("diff_hunk", K_STR, S_C_HUNK, NULL), F("issue_url", K_STR, S_C_ISSUE_URL, NULL),
    F("pull_request_url", K_STR, S_C_PR_URL, NULL), F("html_url", K_STR, S_C_HTML_URL, NULL)};
SCHEMA(COMMENT, COMMENT_F);
static const Field R_USER_F[] = {F("login", K_STR, S_R_LOGIN, NULL)};
SCHEMA(R_USER, R_USER_F);
static const Field REVIEW_F[] = {
    F("id", K_INT, S_R_ID, NULL), F("user", K_OBJ, S_R_USER, &R_USER), F("body", K_STR, S_R_BODY, NULL),
    F("state", K_STR, S_R_STATE, NULL), F("submitted_at", K_STR, S_R_SUBMITTED, NULL),
    F("pull_request_url", K_STR, S_R_PR_URL, NULL)};
SCHEMA(REVIEW, REVIEW_F);
static const Field PAYLOAD_F[] = {
    F("action", K_STR, S_ACTION, NULL), F("number", K_INT, S_NUMBER, NULL),
    F("pull_request", K_OBJ, S_PR, &PR), F("issue", K_OBJ_OR_INT, S_ISSUE, &ISSUE),
    F("comment", K_OBJ, S_COMMENT, &COMMENT), F("review", K_OBJ, S_REVIEW, &REVIEW)};
SCHEMA(PAYLOAD, PAYLOAD_F);
static const Field EVENT_F[] = {
    F("type", K_STR, S_TYPE, NULL), F("id", K_STR_OR_INT, S_ID, NULL), F("actor", K_OBJ_OR_STR, S_ACTOR, &ACTOR),
    F("repo", K_OBJ, S_REPO, &REPO), F("repository", K_NULL, S_REPOSITORY, NULL),
    F("payload", K_OBJ, S_PAYLOAD, &PAYLOAD), F("created_at", K_STR, S_CREATED_AT, NULL)};
SCHEMA(EVENT, EVENT_F);
static const Field LABEL_F[] = {F("name", K_STR, 0, NULL)};  /* into its own one-slot array */
SCHEMA(LABEL, LABEL_F);

typedef struct { const unsigned char *p, *end; } Cursor;

static inline void gh_space(Cursor *c) {
    if (c->p < c->end && *c->p > ' ') return;  /* GH Archive's JSON is compact */
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static inline int gh_hex4(const unsigned char *p, const unsigned char *end, unsigned *out) {
    unsigned v = 0;
    if (end - p < 4) return -1;
    for (int i = 0; i < 4; i++) {
        unsigned char h = p[i];
        v <<= 4;
        if (h >= '0' && h <= '9') v |= h - '0';
        else if (h >= 'a' && h <= 'f') v |= h - 'a' + 10;
        else if (h >= 'A' && h <= 'F') v |= h - 'A' + 10;
        else return -1;
    }
    *out = v;
    return 0;
}

/* The first byte at or after p that is '"', '\\' or a control character (end: none). */
static inline const unsigned char *gh_special(const unsigned char *p, const unsigned char *end) {
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), slash = _mm_set1_epi8('\\'), control = _mm_set1_epi8(0x1F);
    while (end - p >= 16) {  /* 16 bytes at a time */
        __m128i v = _mm_loadu_si128((const __m128i *)p);
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, slash)),
                                   _mm_cmpeq_epi8(_mm_max_epu8(v, control), control));
        int mask = _mm_movemask_epi8(hit);
        if (mask) return p + __builtin_ctz(mask);
        p += 16;
    }
#endif
    while (p < end && *p >= 0x20 && *p != '"' && *p != '\\') p++;
    return p;
}

/* A string at c->p (its opening quote): its content's start and length, and whether it has escapes. */
static int gh_string(Cursor *c, const unsigned char **start, Py_ssize_t *length, int *escaped) {
    const unsigned char *p = c->p + 1, *end = c->end;
    int esc = 0;
    *start = p;
    for (;;) {
        p = gh_special(p, end);
        if (p >= end || *p < 0x20) return -1;
        if (*p == '"') break;
        esc = 1;  /* a backslash */
        if (end - p < 2) return -1;
        unsigned char e = p[1];
        if (e == 'u') {
            unsigned high, low;
            if (gh_hex4(p + 2, end, &high)) return -1;
            p += 6;
            if (high >= 0xDC00 && high <= 0xDFFF) return -1;
            if (high >= 0xD800 && high <= 0xDBFF) {
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || gh_hex4(p + 2, end, &low) || low < 0xDC00 || low > 0xDFFF)
                    return -1;
                p += 6;
            }
        } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
            p += 2;
        } else {
            return -1;
        }
    }
    *length = p - *start;
    *escaped = esc;
    c->p = p + 1;
    return 0;
}

/* A number at c->p (RFC 8259 grammar); *integer: no fraction, no exponent. */
static int gh_number(Cursor *c, int *integer) {
    const unsigned char *p = c->p, *end = c->end;
    if (p < end && *p == '-') p++;
    if (p >= end) return -1;
    if (*p == '0') p++;
    else if (*p >= '1' && *p <= '9') while (p < end && *p >= '0' && *p <= '9') p++;
    else return -1;
    *integer = 1;
    if (p < end && *p == '.') {
        p++;
        if (p >= end || *p < '0' || *p > '9') return -1;
        while (p < end && *p >= '0' && *p <= '9') p++;
        *integer = 0;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (p >= end || *p < '0' || *p > '9') return -1;
        while (p < end && *p >= '0' && *p <= '9') p++;
        *integer = 0;
    }
    c->p = p;
    return 0;
}

static inline int gh_literal(Cursor *c, const char *word, Py_ssize_t n) {
    if (c->end - c->p < n || memcmp(c->p, word, n) != 0) return -1;
    c->p += n;
    return 0;
}

static int gh_skip(Cursor *c, int depth);

/* After a member or element: ',' (then more) → 1, the closer → 0, else -1. */
static inline int gh_next(Cursor *c, unsigned char closer) {
    gh_space(c);
    if (c->p >= c->end) return -1;
    if (*c->p == ',') { c->p++; gh_space(c); return 1; }
    if (*c->p == closer) { c->p++; return 0; }
    return -1;
}

static int gh_skip(Cursor *c, int depth) {
    const unsigned char *start;
    Py_ssize_t length;
    int flag, more;
    if (c->p >= c->end || depth > MAX_DEPTH) return -1;
    switch (*c->p) {
    case '"':
        return gh_string(c, &start, &length, &flag);
    case '{':
        c->p++;
        gh_space(c);
        if (c->p < c->end && *c->p == '}') { c->p++; return 0; }
        do {
            if (c->p >= c->end || *c->p != '"' || gh_string(c, &start, &length, &flag)) return -1;
            gh_space(c);
            if (c->p >= c->end || *c->p != ':') return -1;
            c->p++;
            gh_space(c);
            if (gh_skip(c, depth + 1)) return -1;
        } while ((more = gh_next(c, '}')) == 1);
        return more;
    case '[':
        c->p++;
        gh_space(c);
        if (c->p < c->end && *c->p == ']') { c->p++; return 0; }
        do {
            if (gh_skip(c, depth + 1)) return -1;
        } while ((more = gh_next(c, ']')) == 1);
        return more;
    case 't': return gh_literal(c, "true", 4);
    case 'f': return gh_literal(c, "false", 5);
    case 'n': return gh_literal(c, "null", 4);
    default: return gh_number(c, &flag);
    }
}

static int gh_utf8(const unsigned char *text, Py_ssize_t length, PyObject **out) {
    *out = PyUnicode_DecodeUTF8((const char *)text, length, NULL);
    if (*out == NULL) { PyErr_Clear(); return -1; }
    return 0;
}

/* A string value → a new str in *out (escapes resolved; checked by gh_string already). */
static int gh_str(Cursor *c, PyObject **out) {
    const unsigned char *start;
    Py_ssize_t length;
    int escaped;
    if (gh_string(c, &start, &length, &escaped)) return -1;
    if (!escaped) return gh_utf8(start, length, out);
    unsigned char small[1024], *buffer = length <= (Py_ssize_t)sizeof(small) ? small : PyMem_Malloc(length);
    if (buffer == NULL) { PyErr_Clear(); return -1; }
    unsigned char *w = buffer;
    const unsigned char *p = start, *end = start + length;
    while (p < end) {
        const unsigned char *slash = memchr(p, '\\', end - p);
        Py_ssize_t run = (slash == NULL ? end : slash) - p;
        memcpy(w, p, run);  /* the run up to the next escape */
        w += run;
        p += run;
        if (p == end) break;
        unsigned char e = p[1];
        if (e != 'u') {
            *w++ = e == 'b' ? '\b' : e == 'f' ? '\f' : e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e;
            p += 2;
            continue;
        }
        unsigned point = 0, low = 0xDC00;
        gh_hex4(p + 2, end, &point);
        p += 6;
        if (point >= 0xD800 && point <= 0xDBFF) {  /* a pair (checked) */
            gh_hex4(p + 2, end, &low);
            point = 0x10000 + ((point - 0xD800) << 10) + (low - 0xDC00);
            p += 6;
        }
        if (point < 0x80) *w++ = (unsigned char)point;
        else if (point < 0x800) { *w++ = 0xC0 | (point >> 6); *w++ = 0x80 | (point & 0x3F); }
        else if (point < 0x10000) {
            *w++ = 0xE0 | (point >> 12); *w++ = 0x80 | ((point >> 6) & 0x3F); *w++ = 0x80 | (point & 0x3F);
        } else {
            *w++ = 0xF0 | (point >> 18); *w++ = 0x80 | ((point >> 12) & 0x3F);
            *w++ = 0x80 | ((point >> 6) & 0x3F); *w++ = 0x80 | (point & 0x3F);
        }
    }
    int status = gh_utf8(buffer, w - buffer, out);
    if (buffer != small) PyMem_Free(buffer);
    return status;
}

/* An integer value (at most 18 digits) → a new int in *out. */
static int gh_int(Cursor *c, PyObject **out) {
    const unsigned char *p = c->p;
    int integer;
    if (gh_number(c, &integer) || !integer) return -1;
    int negative = *p == '-';
    p += negative;
    if (c->p - p > 18) return -1;
    long long value = 0;
    for (; p < c->p; p++) value = value * 10 + (*p - '0');
    *out = PyLong_FromLongLong(negative ? -value : value);
    if (*out == NULL) { PyErr_Clear(); return -1; }
    return 0;
}

static int gh_object(Cursor *c, const Schema *schema, PyObject **slots, int depth);

static int gh_labels(Cursor *c, PyObject **out, int depth) {
    int more;
    PyObject *names = PyList_New(0);
    if (names == NULL) { PyErr_Clear(); return -1; }
    *out = names;  /* freed with the slots on failure */
    c->p++;
    gh_space(c);
    if (c->p < c->end && *c->p == ']') { c->p++; return 0; }
    do {
        PyObject *name[1] = {NULL};
        if (c->p >= c->end || *c->p != '{') return -1;
        if (gh_object(c, &LABEL, name, depth + 1)) { Py_XDECREF(name[0]); return -1; }
        if (name[0] != NULL && PyUnicode_GET_LENGTH(name[0]) > 0 && PyList_Append(names, name[0])) {
            PyErr_Clear();
            Py_DECREF(name[0]);
            return -1;
        }
        Py_XDECREF(name[0]);
    } while ((more = gh_next(c, ']')) == 1);
    return more;
}

static int gh_field(Cursor *c, const Field *field, PyObject **slots, int depth) {
    PyObject **slot = &slots[field->slot];
    unsigned char first;
    if (c->p >= c->end) return -1;
    first = *c->p;
    if (first == 'n') return gh_literal(c, "null", 4);
    switch (field->kind) {
    case K_STR:
        return first == '"' ? gh_str(c, slot) : -1;
    case K_INT:
        return gh_int(c, slot);
    case K_BOOL:
        if (first == 't' && gh_literal(c, "true", 4) == 0) { Py_INCREF(Py_True); *slot = Py_True; return 0; }
        if (first == 'f' && gh_literal(c, "false", 5) == 0) { Py_INCREF(Py_False); *slot = Py_False; return 0; }
        return -1;
    case K_STR_OR_INT:
        return first == '"' ? gh_str(c, slot) : gh_int(c, slot);
    case K_OBJ_OR_STR:
        if (first == '"') return gh_str(c, slot);
        /* fall through */
    case K_OBJ:
        if (first != '{') return -1;
        Py_INCREF(Py_True);
        *slot = Py_True;
        return gh_object(c, field->child, slots, depth + 1);
    case K_OBJ_OR_INT:
        if (first != '{') return gh_int(c, slot);
        Py_INCREF(Py_True);
        *slot = Py_True;
        return gh_object(c, field->child, slots, depth + 1);
    case K_LABELS:
        return first == '[' ? gh_labels(c, slot, depth) : -1;
    default:
        return -1;
    }
}

static int gh_object(Cursor *c, const Schema *schema, PyObject **slots, int depth) {
    const unsigned char *key;
    Py_ssize_t length;
    int escaped, more, i;
    uint64_t seen = 0;
    if (depth > MAX_DEPTH) return -1;
    c->p++;  /* '{' */
    gh_space(c);
    if (c->p < c->end && *c->p == '}') { c->p++; return 0; }
    do {
        if (c->p >= c->end || *c->p != '"' || gh_string(c, &key, &length, &escaped) || escaped) return -1;
        gh_space(c);
        if (c->p >= c->end || *c->p != ':') return -1;
        c->p++;
        gh_space(c);
        for (i = 0; i < schema->n; i++) {
            const Field *field = &schema->fields[i];
            if (field->len == length && memcmp(field->key, key, length) == 0) break;
        }
        if (i == schema->n) {
            if (gh_skip(c, depth + 1)) return -1;
        } else {
            if (seen & (1ULL << i)) return -1;  /* given twice: msgspec keeps the last */
            seen |= 1ULL << i;
            if (gh_field(c, &schema->fields[i], slots, depth)) return -1;
        }
    } while ((more = gh_next(c, '}')) == 1);
    return more;
}

static void gh_clear(PyObject **slots) {
    for (int i = 0; i < N_SLOTS; i++) Py_CLEAR(slots[i]);
}

/* The line → slots (0), or -1 with every slot cleared. */
static int gh_event(const unsigned char *line, Py_ssize_t length, PyObject **slots) {
    Cursor c = {line, line + length};
    memset(slots, 0, sizeof(PyObject *) * N_SLOTS);
    gh_space(&c);
    if (c.p < c.end && *c.p == '{' && gh_object(&c, &EVENT, slots, 0) == 0) {
        gh_space(&c);
        if (c.p == c.end) return 0;
    }
    gh_clear(slots);
    return -1;
}
