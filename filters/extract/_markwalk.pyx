# cython: language_level=3
"""fast_xpaths.mark's walk over the page in C (lxml's public C API): elements without one of the
marked attributes cost a pointer comparison instead of a Python proxy and an `items()` list.

Same walk as `for elem in tree.iter(etree.Element)` (document order, elements only, the root
included), the same key per element (its marked attributes as (name, value) in source order),
the same cache and the same markers set; fast_xpaths.mark keeps a Python walk beside it, and a
test compares the two on real pages. Built by `make setup` (filters/extract/build_markwalk.py).
"""

cimport lxml.includes.etreepublic as cetree
from libc.string cimport strcmp
from lxml.includes cimport tree

cetree.import_lxml__etree()


cdef tuple _key(tree.xmlNode* c_node, list names, list c_names):
    """The element's marked attributes as ((name, value), ...); () when it has none."""
    cdef tree.xmlAttr* c_attr = c_node.properties
    cdef list found = None
    cdef Py_ssize_t i, n = len(names)
    cdef bytes c_name
    while c_attr is not NULL:
        if c_attr.ns is NULL:
            for i in range(n):
                c_name = c_names[i]
                if strcmp(<const char*> c_attr.name, <const char*> c_name) == 0:
                    if found is None:
                        found = []
                    found.append((names[i], cetree.attributeValue(c_node, c_attr)))
                    break
        c_attr = c_attr.next
    return tuple(found) if found is not None else ()


def walk(cetree._Element root, list names, dict cache, compute, hidden_bit):
    """Set the markers `cache[key]` (computed by `compute(key)` when missing) on every element
    of `root` with marked attributes; (the bits of the conditions matched, the hidden elements)."""
    cdef list c_names = [name.encode() for name in names]
    cdef tree.xmlNode* top = root._c_node
    cdef tree.xmlNode* c_node = top
    cdef tuple key, entry
    cdef list hidden = []
    cdef cetree._Element element
    active = 0
    while c_node is not NULL:
        if c_node.type == tree.XML_ELEMENT_NODE and c_node.properties is not NULL:
            key = _key(c_node, names, c_names)
            if key:
                entry = cache.get(key)
                if entry is None:
                    entry = compute(key)
                    cache[key] = entry
                markers, conditions = entry
                if conditions & hidden_bit:
                    hidden.append(cetree.elementFactory(root._doc, c_node))
                else:
                    active |= conditions
                    if markers:
                        element = cetree.elementFactory(root._doc, c_node)
                        for attribute, marks in markers:
                            cetree.setAttributeValue(element, attribute, marks)
        # next node in document order: first child (of an element), else the next sibling of
        # the nearest node that has one, without leaving `top`
        if c_node.type == tree.XML_ELEMENT_NODE and c_node.children is not NULL:
            c_node = c_node.children
            continue
        while c_node is not top and c_node.next is NULL:
            c_node = c_node.parent
        if c_node is top:
            break
        c_node = c_node.next
    return active, hidden
