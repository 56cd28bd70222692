# Turns the C++ code blocks of README.md into one program, so the README's
# examples are compiled and run as a test (tests/CMakeLists.txt).
#
# Every ```cpp block must be preceded by one of these HTML comments:
#   <!-- snippet: file -->   code at file scope (includes, structs, functions)
#   <!-- snippet: run -->    statements: wrapped in a function that main() calls in order
#   <!-- snippet: skip -->   not compiled (say why next to it)
# A block without one fails the build, so no example goes unchecked.
BEGIN { kind = ""; n = 0; in_block = 0; line_no = 0; print "#include <cstdio>" }
{ line_no++ }
/^<!-- snippet: (file|run|skip) -->/ {
  kind = $3
  next
}
/^```cpp/ {
  if (kind == "") {
    printf "#error \"README.md:%d: a cpp block has no <!-- snippet: file|run|skip --> marker\"\n", line_no
  }
  in_block = 1
  block_kind = kind
  kind = ""
  if (block_kind == "run") { n++; printf "static void readme_snippet_%d() {\n", n }
  if (block_kind != "skip") printf "#line %d \"README.md\"\n", line_no + 1
  next
}
/^```/ && in_block {
  in_block = 0
  if (block_kind == "run") printf "}\n"
  next
}
in_block && block_kind != "skip" { print }
END {
  printf "int main() {\n"
  for (i = 1; i <= n; i++) printf "  readme_snippet_%d();\n", i
  printf "  std::printf(\"README snippets: %d passed, 0 failed\\n\");\n  return 0;\n}\n", n
}
