# lit configuration for bathy's FileCheck tests.
import os

import lit.formats
from lit.llvm import llvm_config

config.name = "bathy"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".onnxtext", ".test"]
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "fuzz",
                   "python", "models"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.bathy_obj_root, "test")

# Captured variables are scoped to their CHECK-LABEL block.
config.environment["FILECHECK_OPTS"] = "--enable-var-scope"
# bathy-run's compile cache lives in the build tree, not the user's home.
config.environment["BATHY_CACHE_DIR"] = os.path.join(config.test_exec_root,
                                                     "bathy-cache")

llvm_config.with_system_environment(["HOME", "TMPDIR"])
llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

tool_dirs = [config.bathy_tools_dir, config.llvm_tools_dir]
tools = ["bathy-opt", "bathy-import", "bathy-run", "bathyc", "bathy-meta", "bathy-translate",
         "bathy-cache"]
llvm_config.add_tool_substitutions(tools, tool_dirs)
config.substitutions.append(("%python", config.python_executable))
