"""The vector kernels of the evaluator (``kernels="vector"``, codes of at most 64 bits).

`simd` holds the compiled kernels, `vector_ir` the LLVM vector IR they call (numba intrinsics). They compute
exactly what the scalar kernels of `zshbench.evaluate.kernels` compute, faster; `zshbench.evaluate.kernels`
decides when they run, checks them on first use and falls back to the scalar kernels. ``README.md`` in this
folder explains the algorithm and how to change it safely. Nothing here is public API.
"""
