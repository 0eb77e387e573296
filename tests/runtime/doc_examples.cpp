// The per-area test executables share no objects: the runtime tests compile
// the documented examples (tests/kernel/doc_examples.cpp) once more here.
#include "kernel/doc_examples.cpp"  // NOLINT(bugprone-suspicious-include)
