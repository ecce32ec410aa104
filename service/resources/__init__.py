"""HTTP resources: one module per resource family. Thin: parse, call one statement, shape the answer."""
