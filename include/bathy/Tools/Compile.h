//===- Compile.h - bathyc as a library ------------------------------------===//
//
// Ahead-of-time compilation: an ONNX model (or bathy IR) in, a .bathy
// artifact out (runtime/artifact/artifact.h), compiled by the same code as
// the JIT (bathy/Codegen/CPU/SharedObject.h). bathyc's main parses nothing
// itself; this is the tool.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_TOOLS_COMPILE_H
#define BATHY_TOOLS_COMPILE_H

namespace bathy {

/// Parses bathyc's command line, then compiles the model it names into an
/// artifact (or prints the IR of a phase). Returns the process exit code;
/// errors go to stderr.
int compileFromFlags(int argc, char **argv);

} // namespace bathy

#endif // BATHY_TOOLS_COMPILE_H
