; Cyclomatic complexity: decision points (each adds 1).  `else if` is an
; if_statement of its own; `default:` and optional chaining `?.` do not count.
[
  (if_statement)
  (for_statement)
  (for_in_statement)
  (while_statement)
  (do_statement)
  (switch_case)
  (catch_clause)
  (ternary_expression)
] @decision

(binary_expression operator: ["&&" "||" "??"]) @decision

; Nesting: the bodies that are a level deeper.  Bodies rather than
; statements, so an `else if` chain stays at one level.
(if_statement consequence: (_) @nesting)
(else_clause (statement_block) @nesting)
(for_statement body: (_) @nesting)
(for_in_statement body: (_) @nesting)
(while_statement body: (_) @nesting)
(do_statement body: (_) @nesting)
(with_statement body: (_) @nesting)
(switch_statement body: (switch_body) @nesting)
(try_statement body: (statement_block) @nesting)
(catch_clause body: (statement_block) @nesting)
(finally_clause body: (statement_block) @nesting)

; Parameters: direct children of the parameter list (a `this: T` parameter
; is a type annotation, not a parameter); a lone arrow parameter (`x => x`,
; whose @params is the node holding the arrow function).
(formal_parameters
  [
    (required_parameter pattern: [(identifier) (rest_pattern) (object_pattern) (array_pattern)])
    (optional_parameter)
  ] @parameter)
(arrow_function parameter: (identifier) @parameter)
