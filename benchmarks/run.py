"""Run every implementation of every selected workload side by side.

    python benchmarks/run.py [--workloads xor,mlp-single,mlp-batch,rnn-tagger,cnn]
                             [--repeats 3] [--threads 2] [--quick] [--markdown]

All implementations run in this one process, interleaved by repeat (A, B, C,
then A, B, C again) so that machine noise hits them alike.  The table gives
each one's median rate over the repeats, the min and max, and the ratio of
its median to the reference implementation's (PyTorch).  See README.md.
"""

import argparse
import importlib
import os
import platform
import statistics
import sys
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

IMPL_MODULES = ["impl_pytorch", "impl_numpy", "impl_compgraph", "impl_jax", "impl_dynet",
                "impl_models"]
OPTIONAL_MODULES = {"impl_compgraph"}     # silently absent if the file is
_KEEP_ALIVE = []                          # the threadpoolctl limiter


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", default="xor,mlp-single,mlp-batch,rnn-tagger,cnn",
                        help="comma-separated workloads (default: all)")
    parser.add_argument("--impls", default=None,
                        help="comma-separated implementation names to run "
                             "(default: all that import)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2,
                        help="threads for every library (torch, BLAS, OpenMP)")
    parser.add_argument("--quick", action="store_true",
                        help="shrink every workload (smoke test)")
    parser.add_argument("--markdown", action="store_true",
                        help="print the results as Markdown (for RESULTS.md)")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="time with the wall clock (perf_counter) or this process's CPU "
                             "time, which other jobs on a shared machine disturb far less "
                             "(with one thread the two agree on an idle machine)")
    return parser.parse_args(argv)


def limit_threads_before_imports(threads):
    """Thread-count variables must be set before NumPy (OpenBLAS) and torch
    load; threadpoolctl, when available, enforces the same limit later."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)


def use_clock(clock):
    """--clock cpu: the implementations time themselves with time.perf_counter(), so that
    name is pointed at time.process_time for the whole run (before they are imported), and
    child processes (impl_dynet.py) are told through BENCH_CLOCK."""
    import time
    os.environ["BENCH_CLOCK"] = clock
    if clock == "cpu":
        time.perf_counter = time.process_time


def setup_import_path():
    """benchmarks/ for the flat module names, the repository root for
    compgraph itself (so it runs from a checkout without installing)."""
    for path in (ROOT, HERE):
        if path in sys.path:
            sys.path.remove(path)
        sys.path.insert(0, path)


def import_implementations(log):
    """Import the implementation modules; one that fails is skipped."""
    import registry
    import workloads
    # one registry whichever way a module spells the import
    sys.modules.setdefault("benchmarks.registry", registry)
    sys.modules.setdefault("benchmarks.workloads", workloads)
    skipped = {}
    for name in IMPL_MODULES:
        if name in OPTIONAL_MODULES and not os.path.exists(os.path.join(HERE, name + ".py")):
            continue
        try:
            importlib.import_module(name)
        except Exception as exc:
            skipped[name] = f"{type(exc).__name__}: {exc}"
            log(f"skipping {name}: import failed: {skipped[name]}")
    return skipped


def set_threads(threads):
    """Apply the thread limit to every library that is loaded now."""
    limiter = None
    try:
        from threadpoolctl import threadpool_limits
        limiter = threadpool_limits(limits=threads)   # kept alive by caller
    except ImportError:
        pass
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    # compgraph the same way, through its torch-dialect call: its intra-op pool gets the
    # threads, and it holds the BLAS library at one (it splits its products itself)
    if "compgraph" in sys.modules:
        sys.modules["compgraph"].set_num_threads(threads)
    return limiter


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def environment_lines(args):
    """What to print above the table: machine, versions, BLAS, threads."""
    import numpy as np
    import workloads
    lines = [
        f"machine: {cpu_model()}, {os.cpu_count()} logical cores, {platform.system()} {platform.release()}",
        f"python {platform.python_version()}, numpy {np.__version__}",
    ]
    try:
        from threadpoolctl import threadpool_info
        pools = []
        for pool in threadpool_info():
            desc = f"{pool['internal_api']} {pool.get('version') or ''}".strip()
            if pool.get("architecture"):
                desc += f" (kernel {pool['architecture']})"
            desc += f", {pool['num_threads']} threads, {os.path.basename(pool['filepath'])}"
            pools.append(desc)
        lines.append("thread pools (threadpoolctl): " + "; ".join(pools))
    except ImportError:
        lines.append("numpy BLAS: " + numpy_blas_name() + " (threadpoolctl not installed; "
                     "threads set through OMP/OPENBLAS/MKL_NUM_THREADS)")
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        config = torch.__config__.show()
        blas = next((part.split("=", 1)[1] for part in config.replace(",", " ").split()
                     if part.startswith("BLAS_INFO=")), "?")
        cap = next((line.split(":", 1)[1].strip() for line in config.splitlines()
                    if "CPU capability usage" in line), "?")
        lines.append(f"torch {torch.__version__} (BLAS {blas}, CPU capability {cap}, "
                     f"{torch.get_num_threads()} threads)")
    if "compgraph" in sys.modules:
        lines.append(f"compgraph: {sys.modules['compgraph'].get_num_threads()} intra-op threads")
    blas_env = {var: os.environ.get(var) for var in
                ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_VERBOSE")}
    lines.append("OpenBLAS environment: " + ", ".join(
        f"{k}={v if v is not None else '(unset)'}" for k, v in blas_env.items()))
    lines.append(f"clock: {args.clock} ({'process CPU time' if args.clock == 'cpu' else 'perf_counter'})")
    lines.append(f"threads requested: {args.threads}; repeats: {args.repeats}"
                 + ("; QUICK sizes" if args.quick else ""))
    lines.append(f"data: {workloads.data_source()}")
    return lines


def numpy_blas_name():
    import numpy as np
    try:
        config = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version')}"
    except Exception:
        return "unknown"


def run_all(selected, impl_filter, repeats, quick, log):
    """Run each workload's implementations interleaved by repeat.  Returns
    {(workload, impl): {"rates": [...], "checks": [...], "units": n,
    "error": str or None}}."""
    from registry import impls_for
    results = {}
    for workload in selected:
        impls = [impl for impl in impls_for(workload)
                 if impl_filter is None or impl.name in impl_filter]
        if not impls:
            log(f"{workload}: no implementations")
        for impl in impls:
            results[(workload, impl.name)] = {"rates": [], "checks": [], "units": None,
                                              "error": None, "impl": impl, "extra": {}}
        for repeat in range(repeats):
            for impl in impls:
                record = results[(workload, impl.name)]
                if record["error"]:
                    continue
                try:
                    out = impl.fn(quick)
                    units, seconds = out[0], out[1]
                    check = out[2] if len(out) > 2 else None
                    # a 4th element: {column: text} for the table (a compile time, say)
                    for column, text in (out[3] if len(out) > 3 and out[3] else {}).items():
                        record["extra"].setdefault(column, text)
                except Exception as exc:
                    record["error"] = f"{type(exc).__name__}: {exc}"
                    log(f"{workload} / {impl.name}: FAILED: {record['error']}")
                    log(traceback.format_exc())
                    continue
                rate = units / seconds
                record["rates"].append(rate)
                record["checks"].append(check)
                record["units"] = units
                log(f"[{repeat + 1}/{repeats}] {workload:<11} {impl.name:<20} "
                    f"{units:>6} units in {seconds:7.3f} s = {rate:11,.1f}/s  "
                    f"check {_fmt_check(check)}")
    return results


def _fmt_rate(rate):
    # the real-model workloads run a few steps a second: whole numbers would hide them
    return f"{rate:,.0f}" if rate >= 100 else f"{rate:.2f}"


def _fmt_check(value):
    return "-" if value is None else f"{value:.6g}"


def consistency_warnings(results, selected):
    """Implementations of a workload in the same check group start from the
    same weights and data, so their check values must agree."""
    import workloads
    from registry import impls_for
    warnings = []
    for workload in selected:
        rtol = workloads.WORKLOADS[workload].rtol if workload in workloads.WORKLOADS else 1e-3
        groups = {}
        for impl in impls_for(workload):
            record = results.get((workload, impl.name))
            if not record or not record["checks"]:
                continue
            checks = [c for c in record["checks"] if c is not None]
            if not checks:
                continue
            # repeat-to-repeat: the same implementation should be deterministic
            if max(checks) - min(checks) > rtol * max(abs(c) for c in checks):
                warnings.append(f"{workload} / {impl.name}: check value varies between "
                                f"repeats: {', '.join(_fmt_check(c) for c in checks)}")
            groups.setdefault(impl.check_group, []).append((impl.name, checks[0]))
        for group, members in groups.items():
            base_name, base = members[0]           # the reference when it is in the group
            for name, value in members[1:]:
                if abs(value - base) > rtol * max(abs(base), abs(value), 1e-12):
                    warnings.append(
                        f"{workload}: {name} check {_fmt_check(value)} disagrees with "
                        f"{base_name} {_fmt_check(base)} (relative difference "
                        f"{abs(value - base) / max(abs(base), 1e-12):.2e} > {rtol:g})")
    return warnings


def noise_notes(results, limit=1.5):
    """Runs of one implementation whose fastest and slowest repeat differ by
    more than ``limit``x: the machine was noisy, the median is less sure."""
    notes = []
    for (workload, name), record in results.items():
        rates = record["rates"]
        if len(rates) > 1 and max(rates) > limit * min(rates):
            notes.append(f"{workload} / {name}: repeats range {min(rates):,.0f} to "
                         f"{max(rates):,.0f}/s ({max(rates) / min(rates):.1f}x): noisy "
                         f"machine, consider more --repeats")
    return notes


def extra_columns(results):
    """The extra columns some implementations report (first call, ...), in first-seen order."""
    columns = []
    for record in results.values():
        for column in record.get("extra", {}):
            if column not in columns:
                columns.append(column)
    return columns


def table_rows(results, selected):
    import workloads
    from registry import impls_for, reference_for
    extras = extra_columns(results)
    rows = []
    for workload in selected:
        unit = workloads.WORKLOADS[workload].unit if workload in workloads.WORKLOADS else "units"
        ref = reference_for(workload)
        ref_record = results.get((workload, ref.name)) if ref else None
        ref_median = (statistics.median(ref_record["rates"])
                      if ref_record and ref_record["rates"] else None)
        for impl in impls_for(workload):
            record = results.get((workload, impl.name))
            if record is None:
                continue
            if not record["rates"]:
                rows.append([workload, impl.name, unit, "failed", "", "", "", "",
                             record["error"] or ""] + [""] * len(extras))
                continue
            rates = record["rates"]
            median = statistics.median(rates)
            ratio = f"{median / ref_median:.2f}x" if ref_median else "-"
            group = "" if impl.check_group == "default" else f" [{impl.check_group}]"
            rows.append([workload, impl.name + (" (ref)" if impl.reference else ""),
                         unit, _fmt_rate(median), _fmt_rate(min(rates)), _fmt_rate(max(rates)),
                         ratio, _fmt_check(record["checks"][0]) + group,
                         f"{record['units']} units x {len(rates)}"]
                        + [record["extra"].get(column, "") for column in extras])
    return rows


HEADER = ["workload", "implementation", "unit", "median/s", "min/s", "max/s",
          "vs ref", "check", "runs"]
RIGHT = {3, 4, 5, 6}


def format_plain(rows, header=HEADER):
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    def line(cells):
        return "  ".join(str(c).rjust(w) if i in RIGHT else str(c).ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    out = [line(header), line(["-" * w for w in widths])]
    previous = None
    for row in rows:
        if previous is not None and row[0] != previous:
            out.append("")
        out.append(line(row))
        previous = row[0]
    return "\n".join(out)


def format_markdown(rows, header=HEADER):
    align = ["---:" if i in RIGHT else "---" for i in range(len(header))]
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    for row in rows:
        out.append("| " + " | ".join(str(c) for c in row) + " |")
    return "\n".join(out)


def main(argv=None):
    args = parse_args(argv)
    limit_threads_before_imports(args.threads)
    use_clock(args.clock)
    setup_import_path()

    def log(message):
        print(message, file=sys.stderr, flush=True)

    skipped = import_implementations(log)
    _KEEP_ALIVE.append(set_threads(args.threads))

    import workloads
    selected = [w.strip() for w in args.workloads.split(",") if w.strip()]
    for workload in selected:
        if workload not in workloads.WORKLOADS:
            log(f"note: {workload!r} is not one of {', '.join(workloads.WORKLOADS)}")
    impl_filter = set(args.impls.split(",")) if args.impls else None

    env = environment_lines(args)       # loads the data too, untimed
    if args.markdown:                   # stdout is the Markdown document
        for line in env:
            log(line)
    else:
        print("\n".join(env), flush=True)
        for name, reason in skipped.items():
            print(f"skipped {name}: {reason}", flush=True)
    results = run_all(selected, impl_filter, args.repeats, args.quick, log)
    rows = table_rows(results, selected)
    header = HEADER + extra_columns(results)
    warnings = consistency_warnings(results, selected)
    notes = noise_notes(results)

    if args.markdown:
        print("\n".join(f"- {line}" for line in env))
        for name, reason in skipped.items():
            print(f"- skipped {name}: {reason}")
        print()
        print(format_markdown(rows, header))
        print()
        print("Rates are medians over the repeats; `vs ref` is the median rate divided "
              "by the reference (PyTorch) implementation's; `check` is the final loss "
              "computed from each implementation's final weights.")
        for warning in warnings:
            print(f"\n**WARNING:** {warning}")
        for note in notes:
            print(f"\nNote: {note}")
    else:
        print()
        print(format_plain(rows, header))
        for warning in warnings:
            print(f"WARNING: {warning}")
        if not warnings:
            print("\ncheck values agree within tolerance.")
        for note in notes:
            print(f"note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
