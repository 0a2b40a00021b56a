//===- RunModule.h - bathy-run as a library -------------------------------===//
//
// Everything bathy-run does, so that its main is a thin wrapper (and other
// front ends can reuse it): the flags, importing and compiling the model in
// process, inputs from .npy files or seeded random data, outputs written as
// .npy, benchmarking and the line protocol bench/ uses.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_TOOLS_RUNMODULE_H
#define BATHY_TOOLS_RUNMODULE_H

namespace bathy {

/// Parses bathy-run's command line, then imports, compiles and runs the
/// model it names. Returns the process exit code; errors go to stderr.
int runModuleFromFlags(int argc, char **argv);

} // namespace bathy

#endif // BATHY_TOOLS_RUNMODULE_H
