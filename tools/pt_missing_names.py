"""The PyTorch names compgraph's PyTorch dialect does not have, written to
docs/pytorch-missing-names.md (needs torch installed):

    python tools/pt_missing_names.py

Four namespaces are compared by name: torch's public callables (its __all__), torch.nn's
classes, torch.nn.functional's functions and torch.Tensor's attributes.  Each missing name
is put in a group that says why it is missing; everything not in an out-of-scope group is
"not built yet"."""
import inspect
import pathlib
import re

import torch
import torch.nn.functional as TF

import compgraph as cg
import compgraph.nn.functional as CF

OUT = pathlib.Path(__file__).resolve().parent.parent / "docs" / "pytorch-missing-names.md"

# why a name is out of scope: the first pattern that matches (name, lower case) decides
GROUPS = [
    ("TorchScript, JIT, dispatch and C++ types: compgraph has no compiler of Python code to a "
     "graph IR or a C++ runtime (a capitalised name of the torch namespace is one of these)",
     r"^(fork|wait|.*script.*|.*jit.*|import_ir_module.*|.*dispatch.*|.*torch_function.*|"
     r"assert_int_or_pair|callable|optional|dtype|tensor|swizzletype|scalingtype)$"),
    ("Complex numbers: compgraph's dtypes are real",
     r"^(angle|complex|conj.*|imag|real|polar|is_complex|is_conj|resolve_conj|resolve_neg|"
     r"is_neg|chalf|cfloat|cdouble|view_as_real|view_as_complex|h|mh|adjoint)$"),
    ("Sparse, quantized, nested and strided-storage layouts: compgraph has dense NumPy arrays",
     r"(sparse|quant|^q_|qscheme|int_repr|coalesce|indices|crow_|ccol_|to_dense|mkldnn|nested|"
     r"padded|storage|strided|^stride$|data_ptr|dim_order|^layout$|fbgemm|qparams|^values$|"
     r"^smm$|^hspmm$|^hsmm$|^dsmm$|^sspaddmm$|^is_set_to$|^set_$)"),
    ("Devices, streams, autocast and memory placement: compgraph runs on NumPy (CuPy "
     "optional), with no streams or mixed precision",
     r"(cuda|cudnn|^mps$|^is_mps$|xpu$|^ipu$|^is_ipu$|mtia|maia|xla|vulkan|autocast|stream|"
     r"pin_memory|is_pinned|share_memory|is_shared|^get_device|device_module|"
     r"interop_threads|num_threads|^is_cpu$|^is_meta$|^module_load$)"),
    ("Linear-algebra decompositions and solvers (compgraph.linalg has inv, logdet and the "
     "norms)",
     r"^(cholesky.*|lu|lu_solve|lu_unpack|qr|svd|eig|symeig|solve|lstsq|pinverse|geqrf|orgqr|"
     r"ormqr|lobpcg|matrix_exp|matrix_power|slogdet|triangular_solve)$"),
    ("Signal processing and windows", r"(stft|_window$)"),
]
NOT_YET = ("Not built yet: no program or op suite this project checks against asked for them; "
           "each is a composition of existing ops or one new op-table entry")


def _public(module):
    return {n for n in dir(module) if not n.startswith("_")}


def missing():
    names = {}
    top = set(getattr(torch, "__all__", _public(torch)))
    names["torch"] = sorted(n for n in top if callable(getattr(torch, n, None))
                            and not hasattr(cg, n))
    names["torch.nn"] = sorted(n for n in _public(torch.nn)
                               if inspect.isclass(getattr(torch.nn, n)) and not hasattr(cg.nn, n))
    names["torch.nn.functional"] = sorted(
        n for n in _public(TF) if callable(getattr(TF, n)) and not inspect.isclass(getattr(TF, n))
        and not hasattr(CF, n))
    names["torch.Tensor"] = sorted(n for n in _public(torch.Tensor) if not hasattr(cg.Tensor, n))
    return names


def group(space, name):
    if space == "torch" and name[:1].isupper():
        return GROUPS[0][0]
    for why, pattern in GROUPS:
        if re.search(pattern, name.lower()):
            return why
    return NOT_YET


def main():
    lines = ["# PyTorch names the PyTorch dialect does not have", "",
             f"Written by `tools/pt_missing_names.py` against torch {torch.__version__}; "
             "each name is grouped by why it is missing.", ""]
    for space, names in missing().items():
        by = {}
        for n in names:
            by.setdefault(group(space, n), []).append(n)
        lines += [f"## {space}: {len(names)} missing", ""]
        for why, _ in GROUPS + [(NOT_YET, None)]:
            if why in by:
                lines += [f"**{why}** ({len(by[why])}): " + ", ".join(f"`{n}`" for n in by[why]), ""]
    OUT.write_text("\n".join(lines))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
