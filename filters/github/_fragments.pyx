# cython: language_level=3, boundscheck=False, wraparound=False
"""GH Archive thread events and API objects → fragments, and fragments → threads, compiled.

A thread event line is first read by _event_json.h: one strict pass in C over the raw JSON that
takes the few fields fragments need and skips the rest (~85% of a PR event's bytes are its two
repository records and URLs), ~2x msgspec's typed decoding, which must build the structs. A line
it does not handle exactly as msgspec would (see the header) is decoded by msgspec into the
structs of objects.py, as are API responses; both end in the same fragment builders below.

Fragments are acyclic (strings, numbers, a list of label names, a comment dict of strings and
numbers), so they are taken off the cyclic garbage collector's lists, as msgspec does for its
gc=False structs: its passes over the fragments of a long run cost ~5% of the reader's CPU and
could never free one. They must stay acyclic: a container put into a fragment's label list
later would not be seen by the collector.
"""

from cpython.ref cimport PyObject
from operator import itemgetter

import msgspec

from filters.github import objects
from filters.github.objects import Issue, Review, number_from_url, repo_from_url

cdef extern from "Python.h":
    PyObject *Py_True
    void PyObject_GC_UnTrack(object)
    bint PyObject_GC_IsTracked(object)

cdef extern from "_event_json.h":
    cdef enum:
        S_TYPE, S_REPO, S_REPO_NAME, S_PAYLOAD, S_CREATED_AT, S_NUMBER, S_PR, S_ISSUE, S_COMMENT, S_REVIEW
        S_PR_NUMBER, S_PR_TITLE, S_PR_BODY, S_PR_LOGIN, S_PR_STATE, S_PR_CREATED, S_PR_CLOSED, S_PR_MERGED_AT
        S_PR_MERGED, S_PR_MERGE_SHA, S_BASE_SHA, S_BASE_STARS, S_BASE_LANGUAGE, S_HEAD_SHA, S_PR_LABELS
        S_IS_NUMBER, S_IS_TITLE, S_IS_BODY, S_IS_LOGIN, S_IS_STATE, S_IS_CREATED, S_IS_CLOSED, S_IS_LABELS, S_IS_PR
        S_C_ID, S_C_LOGIN, S_C_BODY, S_C_CREATED, S_C_PATH, S_C_HUNK, S_C_PR_URL
        S_R_ID, S_R_LOGIN, S_R_BODY, S_R_SUBMITTED
        N_SLOTS
    int gh_event(const unsigned char *line, Py_ssize_t length, PyObject **slots)
    void gh_clear(PyObject **slots)

cdef frozenset PR_EVENTS = frozenset({"PullRequestEvent", "PullRequestReviewEvent", "PullRequestReviewCommentEvent"})
cdef object _DECODE = msgspec.json.Decoder(objects.Event).decode
cdef object _py_timestamp = objects.timestamp


def read_events(lines, list thread_lines, str source, events, problems, list fragments, bint fast=True):
    """Thread event lines ([(start, end, kind)] of `lines`, from _scan.scan) → `fragments`;
    each event counted in `events` by type, each bad one in `problems` by reason.
    `fast=False`: every line through msgspec (the tests compare both ways)."""
    cdef dict counts = {}
    cdef Py_ssize_t start, end
    cdef const unsigned char[::1] raw = lines
    cdef PyObject *slots[N_SLOTS]
    view = memoryview(lines)
    for start, end, kind in thread_lines:
        produced = None
        if fast and end > start and gh_event(&raw[start], end - start, slots) == 0:
            try:
                produced = _slot_fragments(slots, source)
                name = _slot(slots, S_TYPE)
            finally:
                gh_clear(slots)
        if produced is None:
            line = view[start:end]
            try:
                event = _DECODE(line)
            except msgspec.ValidationError:
                event = _decode_leniently(line, problems)
                if event is None:
                    continue
            except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
                # invalid UTF-8 inside a string, or nesting deeper than msgspec follows: a corrupt line
                problems["corrupt_line"] += 1
                continue
            name = event.type
            produced = event_fragments(event, source)
        name = name or kind.decode()
        counts[name] = counts.get(name, 0) + 1
        if produced:
            fragments.extend(produced)
        else:
            problems["no_thread"] += 1
    events.update(counts)


def reads_raw(const unsigned char[::1] line not None) -> bool:
    """Whether _event_json.h reads this event line itself (else read_events leaves it to msgspec)."""
    cdef PyObject *slots[N_SLOTS]
    if line.shape[0] == 0 or gh_event(&line[0], line.shape[0], slots) != 0:
        return False
    try:
        return _slot_fragments(slots, "") is not None
    finally:
        gh_clear(slots)


cdef object _decode_leniently(line, problems):
    """Drifted types ("id" as a string, numbers as strings…): a lenient conversion, else counted."""
    try:
        return msgspec.convert(msgspec.json.decode(line), objects.Event, strict=False)
    except (UnicodeDecodeError, RecursionError):
        problems["corrupt_line"] += 1
    except (msgspec.ValidationError, msgspec.DecodeError):
        problems["schema_error"] += 1
    return None


cdef inline object _slot(PyObject **slots, int i):
    return <object>slots[i] if slots[i] != NULL else None


cdef object _slot_fragments(PyObject **s, str source):
    """event_fragments of an event read by gh_event; None: left to msgspec (event_fragments)."""
    cdef list fragments = []
    cdef bint is_pr
    repo = _slot(s, S_REPO_NAME)
    if s[S_REPO] == NULL or not repo or "/" not in repo or s[S_PAYLOAD] == NULL:
        return None  # older layouts (gh_event also leaves any `repository` record to msgspec), no payload
    at = _slot(s, S_CREATED_AT)
    if s[S_PR] != NULL:
        number = _slot(s, S_PR_NUMBER)
        if number is None:
            return None  # the number from its URLs
        fragments.append(_pull(repo, number, source, at, _slot(s, S_PR_TITLE), _slot(s, S_PR_BODY),
                               _slot(s, S_PR_LOGIN), _slot(s, S_PR_STATE), _slot(s, S_PR_CREATED),
                               _slot(s, S_PR_CLOSED), _slot(s, S_PR_MERGED), s[S_PR_MERGED_AT] != NULL,
                               _slot(s, S_PR_LABELS), _slot(s, S_BASE_SHA), _slot(s, S_HEAD_SHA),
                               _slot(s, S_PR_MERGE_SHA), _slot(s, S_BASE_STARS), _slot(s, S_BASE_LANGUAGE)))
    if s[S_ISSUE] == Py_True:  # an Issue object (not an id)
        number = _slot(s, S_IS_NUMBER)
        if number is None:
            return None
        fragments.append(_issue(repo, number, source, at, _slot(s, S_IS_TITLE), _slot(s, S_IS_BODY),
                                _slot(s, S_IS_LOGIN), _slot(s, S_IS_STATE), _slot(s, S_IS_CREATED),
                                _slot(s, S_IS_CLOSED), _slot(s, S_IS_LABELS), s[S_IS_PR] != NULL))
    number = fragments[0]["number"] if fragments else _slot(s, S_NUMBER)
    if number is not None and (s[S_COMMENT] != NULL or s[S_REVIEW] != NULL):
        is_pr = _slot(s, S_TYPE) in PR_EVENTS or _any_pr(fragments)
        if s[S_COMMENT] != NULL and s[S_C_ID] != NULL:
            hunk = _slot(s, S_C_HUNK)
            kind = "review_comment" if hunk is not None or _slot(s, S_C_PR_URL) else "comment"
            fragments.append(_comment(repo, number, is_pr, source, at, _slot(s, S_C_ID), kind, _slot(s, S_C_LOGIN),
                                      _slot(s, S_C_CREATED), _slot(s, S_C_BODY), _slot(s, S_C_PATH), hunk))
        if s[S_REVIEW] != NULL and s[S_R_ID] != NULL and _slot(s, S_R_BODY):
            fragments.append(_comment(repo, number, is_pr, source, at, _slot(s, S_R_ID), "review",
                                      _slot(s, S_R_LOGIN), _slot(s, S_R_SUBMITTED), _slot(s, S_R_BODY), None, None))
    return fragments


cdef bint _any_pr(list fragments):
    for fragment in fragments:
        if fragment["is_pr"]:
            return True
    return False


cpdef tuple event_repo(event):
    """(owner/name, stars, language) of an event, from either repo layout."""
    repo = event.repo
    if repo is not None:
        name = repo.name
        if name and "/" in name:
            return name, None, None
    old = event.repository
    if old is not None and old.name and old.owner:
        stars = old.stargazers if old.stargazers is not None else old.watchers
        return f"{old.owner}/{old.name}", stars, old.language
    if repo is not None:
        return repo_from_url(repo.url), None, None
    return None, None, None


cpdef list event_fragments(event, str source):
    """The fragments of a decoded event (objects.Event)."""
    cdef list fragments = []
    cdef dict fragment
    repo, stars, language = event_repo(event)
    payload = event.payload
    if not repo or payload is None:
        return fragments
    at = event.created_at
    pull = payload.pull_request
    if pull is not None:
        found = pull_fragment(repo, pull, source, at)
        if found is not None:
            fragments.append(found)
    issue = payload.issue
    if isinstance(issue, Issue):
        found = issue_fragment(repo, issue, source, at)
        if found is not None:
            fragments.append(found)
    number = fragments[0]["number"] if fragments else payload.number
    comment, review = payload.comment, payload.review
    if number is not None and (comment is not None or review is not None):
        is_pr = event.type in PR_EVENTS or _any_pr(fragments)
        for item in (comment, review):
            if item is not None:
                found = comment_fragment(repo, number, is_pr, item, source, at)
                if found is not None:
                    fragments.append(found)
    if stars is not None or language:  # 2011-2014 events: the repository record's stars and language
        for fragment in fragments:
            if stars is not None and fragment["stars"] is None:
                fragment["stars"] = stars
            if language and not fragment["repo_language"]:
                fragment["repo_language"] = language
    return fragments


cpdef object pull_fragment(str repo, pr, str source, seen_at):
    number = pr.number if pr.number is not None else number_from_url(pr.url or pr.html_url)
    if number is None:
        return None
    base, head = pr.base, pr.head
    base_repo = base.repo if base is not None else None
    return _pull(repo, number, source, seen_at, pr.title, pr.body, _login(pr.user), pr.state, pr.created_at,
                 pr.closed_at, pr.merged, pr.merged_at is not None, _labels(pr.labels),
                 base.sha if base is not None else None, head.sha if head is not None else None,
                 pr.merge_commit_sha, base_repo.stargazers_count if base_repo is not None else None,
                 base_repo.language if base_repo is not None else None)


cpdef object issue_fragment(str repo, issue, str source, seen_at):
    number = issue.number if issue.number is not None else number_from_url(issue.url or issue.html_url)
    if number is None:
        return None
    return _issue(repo, number, source, seen_at, issue.title, issue.body, _login(issue.user), issue.state,
                  issue.created_at, issue.closed_at, _labels(issue.labels), issue.pull_request is not None)


cpdef object comment_fragment(str repo, number, bint is_pr, comment, str source, seen_at):
    if comment.id is None:
        return None
    if isinstance(comment, Review):
        if not comment.body:
            return None  # an approval without words is not part of the dialogue
        return _comment(repo, number, is_pr, source, seen_at, comment.id, "review", _login(comment.user),
                        comment.submitted_at, comment.body, None, None)
    hunk = comment.diff_hunk
    kind = "review_comment" if hunk is not None or comment.pull_request_url else "comment"
    return _comment(repo, number, is_pr, source, seen_at, comment.id, kind, _login(comment.user),
                    comment.created_at, comment.body, comment.path, hunk)


cdef inline object _timestamp(value):
    if type(value) is str and len(<str>value) == 20 and (<str>value)[10] == "T" and (<str>value)[19] == "Z":
        return value  # already ISO UTC (2015 on)
    return None if value is None else _py_timestamp(value)


cdef inline object _login(user):
    if user is None or isinstance(user, str):
        return user
    return user.login


cdef list _labels(labels):
    cdef list names = []
    if labels:
        for label in labels:
            if label.name:
                names.append(label.name)
    return names


cdef inline dict _untracked(dict fragment):
    if PyObject_GC_IsTracked(fragment):
        PyObject_GC_UnTrack(fragment)
    return fragment


# The fragments: dict literals (one per kind, same keys in the order of objects.FRAGMENT).
cdef dict _pull(str repo, number, str source, seen_at, title, body, author, state, created_at, closed_at, merged,
                bint merged_at, labels, base_sha, head_sha, merge_commit_sha, stars, language):
    if labels is None:
        labels = []
    PyObject_GC_UnTrack(labels)  # a list of strings
    return _untracked({
        "repo": repo, "number": number, "is_pr": True, "source": source, "seen_at": _timestamp(seen_at),
        "title": title, "body": body, "author": author, "state": state, "created_at": _timestamp(created_at),
        "closed_at": _timestamp(closed_at), "merged": bool(merged) if merged is not None else (merged_at or None),
        "labels": labels, "base_sha": base_sha, "head_sha": head_sha, "merge_commit_sha": merge_commit_sha,
        "stars": stars, "repo_language": language, "comment": None})


cdef dict _issue(str repo, number, str source, seen_at, title, body, author, state, created_at, closed_at, labels,
                 bint is_pr):
    if labels is None:
        labels = []
    PyObject_GC_UnTrack(labels)
    return _untracked({
        "repo": repo, "number": number, "is_pr": is_pr, "source": source, "seen_at": _timestamp(seen_at),
        "title": title, "body": body, "author": author, "state": state, "created_at": _timestamp(created_at),
        "closed_at": _timestamp(closed_at), "merged": None, "labels": labels, "base_sha": None, "head_sha": None,
        "merge_commit_sha": None, "stars": None, "repo_language": None, "comment": None})


cdef dict _comment(str repo, number, bint is_pr, str source, seen_at, comment_id, str kind, author, created_at,
                   body, path, hunk):
    return _untracked({
        "repo": repo, "number": number, "is_pr": is_pr, "source": source, "seen_at": _timestamp(seen_at),
        "title": None, "body": None, "author": None, "state": None, "created_at": None, "closed_at": None,
        "merged": None, "labels": None, "base_sha": None, "head_sha": None, "merge_commit_sha": None,
        "stars": None, "repo_language": None,
        "comment": _untracked({"id": comment_id, "kind": kind, "author": author, "created_at": _timestamp(created_at),
                               "body": body or "", "path": path, "diff_hunk": hunk})})


# ---------------------------------------------------------------- fragments → threads
cdef tuple HEADER_FIELDS = ("title", "body", "author", "state", "created_at", "closed_at", "merged", "labels",
                            "base_sha", "head_sha", "merge_commit_sha", "repo_language")
cdef object _OBSERVED = itemgetter("seen_at", "source")


def join(list fragments):
    """One thread per (repo, number), in (repo, number) order (see threads.py)."""
    cdef dict groups = {}
    cdef list group, threads = []
    for fragment in fragments:
        key = (fragment["repo"], int(fragment["number"]))
        found = groups.get(key)
        if found is None:
            groups[key] = [fragment]
        else:
            (<list>found).append(fragment)
    for key in sorted(groups):
        group = groups[key]
        threads.append(_thread(key, group) if len(group) > 1 else _single(key, group[0]))
    return threads


cdef inline bint _present(value):
    return True if value else (value is not None and value != "" and value != [])  # False and 0 are values


cdef dict _thread(tuple key, list group):
    cdef dict fragment, thread, comments = {}
    cdef set sources = set()
    cdef bint is_pr = False
    cdef Py_ssize_t i
    try:
        group = sorted(group, key=_OBSERVED)
    except TypeError:  # a missing time or source (sorts first); `group` is untouched, ties keep their order
        group = sorted(group, key=_observed)
    stars = None
    for fragment in group:  # in time order: a later version of a comment replaces an earlier one
        if fragment["is_pr"]:
            is_pr = True
        source = fragment["source"]
        if source:
            sources.add(source)
        found = fragment["stars"]
        if found is not None and (stars is None or found > stars):
            stars = found
        comment = fragment["comment"]
        if comment is not None:
            comments[comment["id"]] = comment
    thread = {"repo": key[0], "number": key[1], "is_pr": is_pr, "sources": sorted(sources), "stars": stars,
              "observations": len(group)}
    for name in HEADER_FIELDS:  # the latest observation that has it
        found = None
        for i in range(len(group) - 1, -1, -1):
            value = (<dict>group[i])[name]
            if _present(value):
                found = value
                break
        thread[name] = found
    thread["comments"] = sorted(comments.values(), key=_comment_order)
    return thread


cdef dict _single(tuple key, dict fragment):
    """_thread of one observation (most threads of an hour), without the sorting and merging."""
    source, comment = fragment["source"], fragment["comment"]
    cdef dict thread = {"repo": key[0], "number": key[1], "is_pr": fragment["is_pr"],
                        "sources": [source] if source else [], "stars": fragment["stars"], "observations": 1}
    for name in HEADER_FIELDS:
        value = fragment[name]
        thread[name] = value if _present(value) else None
    thread["comments"] = [] if comment is None else [comment]
    return thread


def _observed(fragment: dict) -> tuple:
    return fragment["seen_at"] or "", fragment["source"] or ""


def _comment_order(comment: dict) -> tuple:
    return comment["created_at"] or "", comment["id"]
