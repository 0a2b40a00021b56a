//===- Diagnostics.cpp - Printing diagnostics for command-line tools ------===//
#include "bathy/Support/Diagnostics.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Location.h"

using namespace mlir;

namespace bathy {

std::string describeLocation(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc)) {
    std::string out = "node '" + name.getName().str() + "'";
    if (auto type = dyn_cast<NameLoc>(name.getChildLoc()))
      out += " (" + type.getName().str() + ")";
    return out;
  }
  if (auto file = dyn_cast<FileLineColLoc>(loc)) {
    std::string out = file.getFilename().str();
    if (file.getLine() != 0)
      out += ":" + std::to_string(file.getLine()) + ":" +
             std::to_string(file.getColumn());
    return out;
  }
  if (auto fused = dyn_cast<FusedLoc>(loc)) {
    std::string out;
    for (Location part : fused.getLocations()) {
      std::string d = describeLocation(part);
      if (d.empty())
        continue;
      out += out.empty() ? d : ", " + d;
    }
    return out;
  }
  if (auto callsite = dyn_cast<CallSiteLoc>(loc))
    return describeLocation(callsite.getCallee());
  return "";
}

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
