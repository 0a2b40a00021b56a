#!/usr/bin/env python3
"""The device side of scripts/gpu-check.sh (python3 and ctypes only, plus
torch when the machine has it).

Given the bundle the CPU side wrote (BUNDLE/<model>/kernels.cu and its
CUBINs/PTX from bathyc --target=cuda), on the first CUDA device:

  1. every CUBIN for the device's architecture is loaded by the driver
     (cuModuleLoadData), or the PTX JIT-compiled when none matches, and every
     __global__ function the source defines is looked up in it;
  2. torch eager and torch.compile are timed on the suite models on the same
     GPU (the peers bathy's CUDA executor will be measured against), when
     torch with CUDA and the exporter's models are importable.

Writes SUMMARY (markdown). Exits 3, after saying why, when there is no
driver or device; 1 when a module does not load; else 0.
"""
import argparse
import ctypes
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class NoDevice(Exception):
    pass


class Driver:
    def __init__(self):
        try:
            self.lib = ctypes.CDLL("libcuda.so.1")
        except OSError as e:
            raise NoDevice(f"the CUDA driver is not installed ({e})")
        self.check(self.lib.cuInit(0), "cuInit")
        count = ctypes.c_int()
        self.check(self.lib.cuDeviceGetCount(ctypes.byref(count)), "cuDeviceGetCount")
        if count.value == 0:
            raise NoDevice("the driver sees no CUDA device")
        self.device = ctypes.c_int()
        self.check(self.lib.cuDeviceGet(ctypes.byref(self.device), 0), "cuDeviceGet")
        name = ctypes.create_string_buffer(256)
        self.lib.cuDeviceGetName(name, 255, self.device)
        self.name = name.value.decode()
        major, minor = ctypes.c_int(), ctypes.c_int()
        self.lib.cuDeviceGetAttribute(ctypes.byref(major), 75, self.device)
        self.lib.cuDeviceGetAttribute(ctypes.byref(minor), 76, self.device)
        self.arch = f"sm_{major.value}{minor.value}"
        version = ctypes.c_int()
        self.lib.cuDriverGetVersion(ctypes.byref(version))
        self.version = f"{version.value // 1000}.{version.value % 1000 // 10}"
        self.context = ctypes.c_void_p()
        # cuDevicePrimaryCtxRetain: the context torch uses too.
        self.check(self.lib.cuDevicePrimaryCtxRetain(ctypes.byref(self.context), self.device),
                   "cuDevicePrimaryCtxRetain")
        self.check(self.lib.cuCtxSetCurrent(self.context), "cuCtxSetCurrent")

    def error(self, code):
        name = ctypes.c_char_p()
        self.lib.cuGetErrorName(code, ctypes.byref(name))
        return (name.value or b"CUDA error %d" % code).decode()

    def check(self, code, what):
        if code == 0:
            return
        message = f"{what} failed with {self.error(code)}"
        if what == "cuInit":
            raise NoDevice(message)
        raise RuntimeError(message)

    def load(self, image: bytes, kernels):
        module = ctypes.c_void_p()
        self.check(self.lib.cuModuleLoadData(ctypes.byref(module), image), "cuModuleLoadData")
        missing = []
        for k in kernels:
            fn = ctypes.c_void_p()
            if self.lib.cuModuleGetFunction(ctypes.byref(fn), module, k.encode()) != 0:
                missing.append(k)
        self.lib.cuModuleUnload(module)
        return missing


def kernels_of(source: Path):
    return sorted(set(re.findall(r'extern "C" __global__ void (\w+)\(',
                                 source.read_text())))


def time_torch(models, runs, lines):
    try:
        import torch
        sys.path.insert(0, str(ROOT / "test" / "models"))
        import export_torch
    except Exception as e:  # torch or torchvision missing on this machine
        lines.append(f"\ntorch peers not timed: {type(e).__name__}: {e}\n")
        return
    if not torch.cuda.is_available():
        lines.append("\ntorch peers not timed: torch has no CUDA device\n")
        return
    lines += ["\n| model | torch eager ms (median) | torch.compile ms (median) |",
              "|---|---|---|"]
    for name in models:
        if name not in export_torch.MODELS:
            continue
        model, args, *_ = export_torch.MODELS[name]()
        model = model.cuda().eval()
        args = tuple(a.cuda() for a in args)
        row = [name]
        for compiled in (False, True):
            try:
                m = torch.compile(model) if compiled else model
                with torch.no_grad():
                    for _ in range(3):
                        m(*args)
                    torch.cuda.synchronize()
                    times = []
                    for _ in range(runs):
                        t = time.perf_counter()
                        m(*args)
                        torch.cuda.synchronize()
                        times.append((time.perf_counter() - t) * 1e3)
                row.append(f"{statistics.median(times):.3f}")
            except Exception as e:
                row.append(f"failed: {type(e).__name__}")
        lines.append("| " + " | ".join(row) + " |")


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bundle", required=True, type=Path)
    p.add_argument("--summary", type=Path)
    p.add_argument("--runs", type=int, default=20)
    args = p.parse_args(argv)
    summary = args.summary or args.bundle / "summary.md"
    lines = ["# bathy GPU check", ""]
    models = sorted(d.name for d in args.bundle.iterdir() if (d / "kernels.cu").exists()) \
        if args.bundle.is_dir() else []
    try:
        driver = Driver()
    except NoDevice as e:
        message = f"no CUDA device found: {e}"
        print(f"gpu-check: {message}", file=sys.stderr)
        lines.append(f"{message}. The CPU-side parts ran: {len(models)} models compiled "
                     "by NVRTC (see their reports).")
        summary.write_text("\n".join(lines) + "\n")
        return 3
    lines.append(f"Device 0: {driver.name} ({driver.arch}), CUDA driver {driver.version}.\n")
    lines += ["| model | kernels | image | loaded |", "|---|---|---|---|"]
    failures = 0
    for name in models:
        d = args.bundle / name
        kernels = kernels_of(d / "kernels.cu")
        cubin = d / f"kernels.{driver.arch}.cubin"
        ptx = sorted(d.glob("kernels.compute_*.ptx"))
        if cubin.exists():
            image, what = cubin.read_bytes(), cubin.name
        elif ptx:
            image, what = ptx[-1].read_bytes() + b"\0", ptx[-1].name + " (JIT)"
        else:
            lines.append(f"| {name} | {len(kernels)} | none for {driver.arch} | no |")
            failures += 1
            continue
        try:
            missing = driver.load(image, kernels)
            ok = "yes" if not missing else f"missing {', '.join(missing[:5])}"
            failures += bool(missing)
        except RuntimeError as e:
            ok, failures = f"no: {e}", failures + 1
        lines.append(f"| {name} | {len(kernels)} | {what} | {ok} |")
    lines.append("\nbathy's CUDA executor is not built yet: bathy kernels are loaded, "
                 "not run or timed.")
    time_torch(models, args.runs, lines)
    summary.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
