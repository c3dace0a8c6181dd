"""s6lib: the library behind the S6 course site.

Part 1 (backpropagation by hand) lives in `s6lib.backprop`; Part 2 (the MNIST
CNN) in `s6lib.models`, `s6lib.data`, `s6lib.train` and friends. Submodules are
imported on demand so that `import s6lib` stays cheap (no torch import).
"""

__version__ = "0.1.0"
