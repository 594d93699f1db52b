# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""One pass in C over inflated GH Archive lines: each line's event type, without parsing JSON.

Most events (pushes, stars, forks…) only need counting; reading their type from the raw bytes
here costs ~0.1 µs a line where a Python loop costs ~1.3 µs, and that loop was a third of the
reader's time. The rule is the one gharchive.EVENT_TYPE states in Python: a line's type is the
first `"type":<spaces>"<letters>Event"` in it.
"""

from libc.string cimport memchr, memcmp


cdef extern from "string.h" nogil:
    void *memmem(const void *haystack, size_t haystack_len, const void *needle, size_t needle_len)


cdef inline bint _space(unsigned char c) nogil:
    return c == 32 or 9 <= c <= 13  # what bytes.strip() and the regex's \s take


cdef Py_ssize_t _kind(const unsigned char *line, Py_ssize_t n, Py_ssize_t *kind_end) noexcept nogil:
    """Start of the line's first `"type":\\s*"<letters>Event"` value (end in kind_end), or -1."""
    cdef Py_ssize_t i = 0, j, k
    cdef const unsigned char *found
    while i + 7 <= n:
        found = <const unsigned char *> memmem(line + i, n - i, b'"type":', 7)
        if found == NULL:
            return -1
        i = found - line
        j = i + 7
        while j < n and _space(line[j]):
            j += 1
        if j < n and line[j] == 34:
            k = j + 1
            while k < n and ((65 <= line[k] <= 90) or (97 <= line[k] <= 122)):
                k += 1
            if k < n and line[k] == 34 and k - (j + 1) >= 6 and memcmp(line + k - 5, b"Event", 5) == 0:
                kind_end[0] = k
                return j + 1
        i += 1
    return -1


cdef enum:
    SEEN = 64  # distinct event types remembered in C (GH Archive has ~20; more go through a dict)


def scan(const unsigned char[::1] buffer not None, frozenset thread_kinds not None):
    """Lines of `buffer` (split on \\n; the last may lack one) →
    (counts: {kind: lines} of the typed lines whose kind is not in `thread_kinds`,
     threads: [(start, end, kind)] of the lines whose kind is, in order,
     untyped: [(start, end)] of the lines with no type that are not blank, in order).

    A type already seen is recognised by comparing bytes (no Python object per line)."""
    cdef Py_ssize_t n = buffer.shape[0], start = 0, end, a, b, i, length, seen = 0, k
    cdef const unsigned char *data
    cdef const unsigned char *newline
    cdef const unsigned char *seen_at[SEEN]  # where each seen type's name is in `buffer`
    cdef Py_ssize_t seen_length[SEEN]
    cdef Py_ssize_t seen_lines[SEEN]
    cdef bint seen_thread[SEEN]
    counts, threads, untyped, names = {}, [], [], []
    if n == 0:
        return counts, threads, untyped
    data = &buffer[0]
    while start < n:
        newline = <const unsigned char *> memchr(data + start, 10, n - start)
        end = n if newline == NULL else newline - data
        a = _kind(data + start, end - start, &b)
        if a >= 0:
            length = b - a
            k = 0
            while k < seen and not (seen_length[k] == length and memcmp(seen_at[k], data + start + a, length) == 0):
                k += 1
            if k == seen:
                kind = data[start + a:start + b]
                if seen == SEEN:  # past the table: counted through Python objects
                    if kind in thread_kinds:
                        threads.append((start, end, kind))
                    else:
                        counts[kind] = counts.get(kind, 0) + 1
                    start = end + 1
                    continue
                names.append(kind)
                seen_at[k] = data + start + a
                seen_length[k] = length
                seen_lines[k] = 0
                seen_thread[k] = kind in thread_kinds
                seen += 1
            if seen_thread[k]:
                threads.append((start, end, names[k]))
            else:
                seen_lines[k] += 1
        else:
            i = start
            while i < end and _space(data[i]):
                i += 1
            if i < end:
                untyped.append((start, end))
        start = end + 1
    for k in range(seen):
        if seen_lines[k]:
            counts[names[k]] = counts.get(names[k], 0) + seen_lines[k]
    return counts, threads, untyped
