//===- Diagnostics.cpp - Printing diagnostics for command-line tools ------===//
#include "bathy/Support/Diagnostics.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Location.h"

using namespace mlir;

namespace bathy {

static StringRef severityName(DiagnosticSeverity severity) {
  switch (severity) {
  case DiagnosticSeverity::Error:
    return "error";
  case DiagnosticSeverity::Warning:
    return "warning";
  case DiagnosticSeverity::Note:
    return "note";
  case DiagnosticSeverity::Remark:
    return "remark";
  }
  return "error";
}

static void print(Diagnostic &diag, llvm::raw_ostream &os, int indent,
                  std::optional<Location> parent = std::nullopt) {
  std::string message = diag.str();
  os.indent(indent) << severityName(diag.getSeverity()) << ": " << message;
  std::string where = describeLocation(diag.getLocation());
  // Say where, unless the message (or the diagnostic a note belongs to)
  // already names it.
  if (!where.empty() && message.find(where) == std::string::npos &&
      parent != diag.getLocation() &&
      !(isa<NameLoc>(diag.getLocation()) &&
        message.find("node '") != std::string::npos))
    os << " [at " << where << "]";
  os << "\n";
  for (Diagnostic &note : diag.getNotes())
    print(note, os, indent + 2, diag.getLocation());
}

ToolDiagnosticHandler::ToolDiagnosticHandler(MLIRContext *context,
                                             llvm::raw_ostream &os)
    : ScopedDiagnosticHandler(context, [&os](Diagnostic &diag) {
        print(diag, os, 0);
        os.flush();
        return success();
      }) {}

} // namespace bathy
