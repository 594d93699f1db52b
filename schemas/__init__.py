"""Arrow schemas of every stage's output, versioned; writers validate against them."""
