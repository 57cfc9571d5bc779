"""Compatibility layers for programs written against other libraries' names.

`import rtensor.compat.theano` makes `import theano` (and every
`theano.<submodule>`) give rtensor's modules, so a Theano program runs
unmodified. `python -m rtensor.run script.py` does the same for a script.
"""
