#!/usr/bin/env python3
"""Formats the JSON rows of bench_table.sh's `slmkit bench` runs as docs/bench.md."""
import argparse
import glob
import json
import platform
import subprocess


def load(path):
    with open(path) as f:
        return json.load(f)


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def llc_mib():
    """The largest cache level's size in MiB (sysfs), 0 when unknown."""
    best = 0
    for path in glob.glob("/sys/devices/system/cpu/cpu0/cache/index*/size"):
        try:
            text = open(path).read().strip()
        except OSError:
            continue
        scale = {"K": 1 / 1024, "M": 1, "G": 1024}.get(text[-1:], 1 / 2**20)
        digits = text.rstrip("KMG")
        if digits.isdigit():
            best = max(best, int(digits) * scale)
    return best


def fmt_ts(row):
    return f"{row['avg_ts']:.2f} ± {row['stddev_ts']:.2f}" if row else "—"


def ratio(a, b):
    return f"{a['avg_ts'] / b['avg_ts']:.2f}x" if a and b and b["avg_ts"] > 0 else "—"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--threads", type=int)
    p.add_argument("--pp", type=int)
    p.add_argument("--tg", type=int)
    p.add_argument("--reps", type=int)
    p.add_argument("--bandwidth")
    p.add_argument("--notes", help="markdown appended as is (what a run's numbers mean)")
    p.add_argument("--int8-vs-fp32")
    p.add_argument("--kv-vs-recompute")
    p.add_argument("--prep-seconds", type=int)
    p.add_argument("--bench-seconds", type=int)
    p.add_argument("--total-seconds", type=int)
    p.add_argument("--command")
    p.add_argument("--load", help="/proc/loadavg's 1, 5, 15-minute averages before / after")
    p.add_argument("--commit", help="the slmkit commit measured (default: git HEAD)")
    p.add_argument("--env")
    p.add_argument("results", nargs="*", help="shape:type:file.json")
    a = p.parse_args()

    bandwidth = 0.0
    if a.bandwidth:
        bw_rows = load(a.bandwidth)
        if bw_rows and "copy_bandwidth" in bw_rows[0]:
            bandwidth = bw_rows[0]["copy_bandwidth"]

    main_rows, ort_rows, bound_rows, holes = [], [], [], []
    llc = llc_mib()
    in_cache = []  # shapes whose decode reads fit the last-level cache
    llama_builds = []  # the llama.cpp build(s) the rows measured, as `slmkit bench` names them
    for item in a.results:
        shape, type_, path = item.split(":", 2)
        data = load(path)
        if isinstance(data, dict):
            holes.append(f"| {shape} | {type_} | {' '.join(data.get('error', ['?']))} |")
            continue
        by = {}
        for r in data:
            by[(r["backend"], "pp" if r["n_prompt"] > 0 else "tg")] = r
            build = r.get("backend_build")
            if r["backend"] == "llama.cpp" and build and build not in llama_builds:
                llama_builds.append(build)
        s_pp, s_tg = by.get(("slmkit", "pp")), by.get(("slmkit", "tg"))
        l_pp, l_tg = by.get(("llama.cpp", "pp")), by.get(("llama.cpp", "tg"))
        o_pp, o_tg = by.get(("onnxruntime", "pp")), by.get(("onnxruntime", "tg"))
        any_row = s_pp or s_tg or l_pp or l_tg
        size = f"{any_row['model_size'] / 2**20:.1f}" if any_row else "?"
        rss = lambda r: f"{r['peak_rss_bytes'] / 2**20:.0f}" if r else "—"
        main_rows.append(
            f"| {shape} | {type_} | {size} | {fmt_ts(s_pp)} | {fmt_ts(l_pp)} | **{ratio(s_pp, l_pp)}** "
            f"| {fmt_ts(s_tg)} | {fmt_ts(l_tg)} | **{ratio(s_tg, l_tg)}** "
            f"| {s_tg['ms_per_token'] if s_tg else 0:.1f} | {s_pp['ttft_ms'] if s_pp else 0:.0f} "
            f"| {rss(s_tg)} / {rss(l_tg)} |")
        if o_pp or o_tg:
            export = (o_tg or o_pp)["model_type"]
            ort_rows.append(
                f"| {shape} | {type_} | {export} | {fmt_ts(s_pp)} | {fmt_ts(o_pp)} | **{ratio(s_pp, o_pp)}** "
                f"| {fmt_ts(s_tg)} | {fmt_ts(o_tg)} | **{ratio(s_tg, o_tg)}** | {rss(o_tg)} |")
        if bandwidth > 0 and s_tg and s_tg.get("bytes_per_token"):
            bound = bandwidth / s_tg["bytes_per_token"]
            if llc and s_tg["bytes_per_token"] / 2**20 < llc and shape not in in_cache:
                in_cache.append(shape)
            bound_rows.append(
                f"| {shape} | {type_} | {s_tg['bytes_per_token'] / 2**20:.1f} | {bound:.2f} "
                f"| {s_tg['avg_ts']:.2f} | {100 * s_tg['avg_ts'] / bound:.0f}% |"
                + (f" {100 * l_tg['avg_ts'] / bound:.0f}% |" if l_tg else " — |"))

    commit = a.commit
    if not commit:
        try:
            commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                    text=True).stdout.strip()
        except OSError:
            commit = "?"
    out = []
    out.append("# Benchmarks: slmkit vs llama.cpp and ONNX Runtime\n")
    out.append("Generated by `bench/bench_table.sh` (do not edit by hand). Command:\n")
    out.append(f"```sh\n{a.env} {a.command}\n```\n")
    out.append(
        f"Machine: {cpu_name()}, {a.threads} threads; slmkit commit {commit}. Every model is a "
        "synthetic one (`slmkit synth`, random weights, real shapes); the quantized files are "
        "`slmkit quantize` outputs (byte-identical to llama-quantize), and the same file is given "
        "to llama.cpp (the build named below). Tests as llama-bench: "
        f"pp{a.pp} = one pass over {a.pp} random tokens from an empty cache, tg{a.tg} = {a.tg} "
        f"single-token decode steps; mean ± sample std of tokens/s over {a.reps} repetitions after "
        "one untimed warm-up; each backend in its own child process (peak RSS = its VmHWM). "
        "The machine is shared with other jobs, so single numbers are noisy: read the ratios.\n")
    out.append(
        f"Run time: {a.total_seconds} s in all ({a.prep_seconds} s writing models and exports "
        f"that did not exist yet, {a.bench_seconds} s measuring)."
        + (f" Load average (1, 5, 15 min) before / after: {a.load}." if a.load else "") + "\n")
    out.append("## slmkit vs llama.cpp (same GGUF, same threads)\n")
    if llama_builds:
        out.append("llama.cpp measured: " + "; ".join(f"`{b}`" for b in llama_builds) + "\n")
    else:
        out.append("llama.cpp measured: not recorded (rows from a slmkit without `backend_build`)\n")
    out.append(
        "\"int8 per-channel\" and \"int4\" of the issue are GGUF Q8_0 (one f16 scale per 32 "
        "weights) and Q4_0 (one scale per 32 4-bit weights) for both engines.\n")
    out.append(
        f"| shape | type | MiB | slmkit pp{a.pp} t/s | llama.cpp pp{a.pp} t/s | pp ratio "
        f"| slmkit tg{a.tg} t/s | llama.cpp tg{a.tg} t/s | tg ratio | slmkit ms/token "
        "| slmkit TTFT ms (pp) | peak RSS MiB slmkit / llama.cpp |")
    out.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    out += main_rows
    out.append("")
    if holes:
        out.append("Not measured (the error each run gave):\n")
        out.append("| shape | type | error |\n| --- | --- | --- |")
        out += holes
        out.append("")
    if ort_rows:
        out.append("## slmkit vs ONNX Runtime (our ONNX export of the same weights)\n")
        out.append(
            "ONNX Runtime 1.30 (npm onnxruntime-node) runs `onnx/model.onnx` (with past) of `slmkit "
            "export onnx` in a node child process: fp32 beside our F16 GGUF, int8 (MatMulInteger, "
            "per-channel weight scales) beside Q8_0, q4 (MatMulNBits, 32-weight blocks) beside "
            "Q4_0. Timed inside node around session.run (process start and model load excluded).\n")
        out.append(
            f"| shape | slmkit type | ORT export | slmkit pp{a.pp} | ORT pp{a.pp} | pp ratio | "
            f"slmkit tg{a.tg} | ORT tg{a.tg} | tg ratio | ORT peak RSS MiB |")
        out.append("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        out += ort_rows
        out.append("")
    if bound_rows:
        out.append("## Decode against the memory-bandwidth bound\n")
        out.append(
            f"Memory-copy bandwidth measured in the same run: **{bandwidth / 1e9:.2f} GB/s** "
            "(256 MiB memcpy on every thread, bytes read + written, median of 7). Bound = "
            "bandwidth / weight bytes one decode step reads (every matrix except the embedding "
            "table, which is read one row per token unless it is also the output head). "
            + (f"The {', '.join(in_cache)} weights fit the {llc:.0f} MiB last-level cache, so "
               "decode reads them from cache and memory does not bound it.\n" if in_cache else
               f"Every model here is larger than the {llc:.0f} MiB last-level cache.\n"
               if llc else "\n"))
        out.append("| shape | type | MiB read / token | bound t/s | slmkit t/s | slmkit % of bound | llama.cpp % of bound |")
        out.append("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
        out += bound_rows
        out.append("")
    if a.int8_vs_fp32 or a.kv_vs_recompute:
        out.append("## The reference distilgpt2 study's speedups, on our engine\n")
        out.append("| measurement | reference (ONNX Runtime) | slmkit | detail |")
        out.append("| --- | ---: | ---: | --- |")
    if a.int8_vs_fp32:
        rows = load(a.int8_vs_fp32)
        by = {}
        for r in rows:
            kind = "F32" if " F32" in r["model_type"] else "Q8_0"
            by[(kind, "pp" if r["n_prompt"] > 0 else "tg")] = r
        for test in ("tg", "pp"):
            f, q = by.get(("F32", test)), by.get(("Q8_0", test))
            if f and q:
                out.append(
                    f"| INT8 vs FP32, {q['test']} | 1.69x | **{q['avg_ts'] / f['avg_ts']:.2f}x** "
                    f"| Q8_0 {q['avg_ts']:.2f} t/s vs F32 {f['avg_ts']:.2f} t/s (synthetic distilgpt2) |")
    if a.kv_vs_recompute:
        kv = load(a.kv_vs_recompute)
        out.append(
            f"| KV cache vs recomputing the prefix | 6.8x | **{kv['speedup']:.2f}x** | "
            f"{kv['n_gen']} tokens after a {kv['n_prompt']}-token prompt: "
            f"{kv['cached_ns'] / 1e6:.0f} ms with the cache, {kv['recompute_ns'] / 1e6:.0f} ms "
            f"recomputing (F16 distilgpt2, median of {a.reps}) |")
    out.append("")
    if a.notes:
        with open(a.notes) as f:
            out.append(f.read())
    with open(a.out + ".tmp", "w") as f:
        f.write("\n".join(out) + "\n")
    import os
    os.replace(a.out + ".tmp", a.out)


if __name__ == "__main__":
    main()
