; Imports: `import ... from "x"`, `export ... from "x"`, `require("x")`,
; dynamic `import("x")`, `import x = require("x")`.
(import_statement source: (string) @import)
(export_statement source: (string) @import)
(call_expression
  function: (identifier) @_fn
  arguments: (arguments . (string) @import)
  (#eq? @_fn "require"))
(call_expression
  function: (import)
  arguments: (arguments . (string) @import))
(import_require_clause source: (string) @import)
