#!/usr/bin/env python3
"""One system under benchmark, in its own process (so peak memory is its own).

Loads and compiles the model, runs it once on the inputs, saves the outputs,
prints `ready <compile seconds>`, then answers each stdin line `run N` with
`times <ms> ...` until `quit`. bathy-run speaks the same protocol itself
(--bench-stdin), so the harness drives every system alike.

    runner.py --system NAME --model M.onnx --inputs DIR --outputs DIR --threads T
              [--torch-model NAME]
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def load_inputs(directory, names):
    return {n: np.load(Path(directory) / f"{n}.npy") for n in names}


def onnxruntime_system(model, feeds, threads):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return lambda: dict(zip(names, session.run(None, feeds)))


def openvino_system(model, feeds, threads):
    import openvino as ov
    core = ov.Core()
    compiled = core.compile_model(str(model), "CPU", {
        "INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"})
    request = compiled.create_infer_request()
    names = [o.get_any_name() for o in compiled.outputs]

    def run():
        result = request.infer(feeds)
        return {n: np.asarray(result[compiled.outputs[i]]) for i, n in enumerate(names)}
    return run


def iree_system(model, feeds, threads):
    import subprocess
    import tempfile
    import iree.compiler as ireec
    import iree.runtime as ireert
    work = Path(tempfile.mkdtemp(prefix="bench-iree-"))
    mlir = work / "model.mlir"
    subprocess.run([str(Path(sys.executable).parent / "iree-import-onnx"), str(model),
                    "-o", str(mlir)], check=True, capture_output=True)
    vmfb = ireec.compile_file(str(mlir), target_backends=["llvm-cpu"],
                              extra_args=["--iree-llvmcpu-target-cpu=host"])
    ireert.flags.parse_flags(f"--task_topology_max_group_count={threads}")
    config = ireert.Config("local-task")
    ctx = ireert.SystemContext(config=config)
    ctx.add_vm_module(ireert.VmModule.copy_buffer(ctx.instance, vmfb))
    import onnx
    # iree-import-onnx names the entry function after the ONNX graph.
    graph_name = onnx.load(str(model), load_external_data=False).graph.name
    fn = ctx.modules.module[graph_name]
    args = list(feeds.values())

    def run():
        out = fn(*args)
        if not isinstance(out, (list, tuple)):
            out = [out]
        return {f"output{i}": np.asarray(o.to_host() if hasattr(o, "to_host") else o)
                for i, o in enumerate(out)}
    return run


def tvm_system(model, feeds, threads):
    import os
    os.environ["TVM_NUM_THREADS"] = str(threads)
    import onnx
    import tvm
    from tvm import relax
    from tvm.relax.frontend.onnx import from_onnx
    proto = onnx.load(str(model))
    shapes = {k: v.shape for k, v in feeds.items()}
    dtypes = {k: str(v.dtype) for k, v in feeds.items()}
    mod = from_onnx(proto, shape_dict=shapes, dtype_dict=dtypes, keep_params_in_input=False)
    from tvm.target import codegen
    target = tvm.target.Target({"kind": "llvm", "mcpu": codegen.llvm_get_system_cpu(),
                                "num-cores": threads})
    mod = relax.get_pipeline("zero")(mod)
    ex = tvm.compile(mod, target=target)
    vm = relax.VirtualMachine(ex, tvm.cpu())
    args = [tvm.runtime.tensor(v) if hasattr(tvm.runtime, "tensor") else tvm.nd.array(v)
            for v in feeds.values()]

    def run():
        out = vm["main"](*args)
        items = list(out) if isinstance(out, (list, tuple)) or hasattr(out, "__len__") and not hasattr(out, "numpy") else [out]
        return {f"output{i}": o.numpy() for i, o in enumerate(items)}
    return run


def torch_system(name, feeds, threads, compiled=False):
    import torch
    sys.path.insert(0, str(ROOT / "bench"))
    import models
    torch.set_num_threads(threads)
    module = models.build_torch(name)
    if compiled:
        # Inductor, CPU: generated C++ kernels, compiled on the first call
        # (counted in the compile time, since run() is called once before
        # `ready`). Shapes are fixed per case, so no dynamic-shape guards.
        module = torch.compile(module, dynamic=False)
    args = [torch.from_numpy(feeds[k]) for k in models.input_names(name)]

    def run():
        with torch.inference_mode():
            out = module(*args)
        if not isinstance(out, (list, tuple)):
            out = [out]
        return {f"output{i}": o.numpy() for i, o in enumerate(out)}
    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--system", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--inputs", required=True)
    parser.add_argument("--input-names", required=True)
    parser.add_argument("--outputs", required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--torch-model", default="")
    args = parser.parse_args()
    feeds = load_inputs(args.inputs, args.input_names.split(","))
    start = time.perf_counter()
    if args.system == "onnxruntime":
        run = onnxruntime_system(args.model, feeds, args.threads)
    elif args.system == "openvino":
        run = openvino_system(args.model, feeds, args.threads)
    elif args.system == "iree":
        run = iree_system(args.model, feeds, args.threads)
    elif args.system == "tvm":
        run = tvm_system(args.model, feeds, args.threads)
    elif args.system == "torch":
        run = torch_system(args.torch_model, feeds, args.threads)
    elif args.system == "torch_compile":
        run = torch_system(args.torch_model, feeds, args.threads, compiled=True)
    else:
        print(f"unknown system '{args.system}'", file=sys.stderr)
        return 2
    outputs = run()
    compile_s = time.perf_counter() - start
    out_dir = Path(args.outputs)
    out_dir.mkdir(parents=True, exist_ok=True)
    for i, (name, value) in enumerate(outputs.items()):
        np.save(out_dir / f"{i}.npy", value)
    print(f"ready {compile_s:.6f}", flush=True)
    for line in sys.stdin:
        line = line.strip()
        if line == "quit":
            break
        n = int(line.split()[1])
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            run()
            times.append((time.perf_counter() - t0) * 1e3)
        print("times " + " ".join(f"{t:.6f}" for t in times), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
