; Cyclomatic complexity of Rust: decision points (each adds 1).  `else if`
; is an if_expression of its own; `if let` / `while let` count like their
; plain forms; `loop` has no condition and does not count.  A match arm
; counts unless it is a bare `_` wildcard (a guarded `_ if c` still counts);
; the anchor makes an arm with a pattern and a guard count once.  The `?`
; operator is deliberately not counted: it is Rust's ordinary error
; propagation, and counting it would rate idiomatic code as complex.
[
  (if_expression)
  (while_expression)
  (for_expression)
] @decision

(match_arm
  pattern: (match_pattern . (_))) @decision

(binary_expression operator: ["&&" "||"]) @decision

; Nesting: the branches of an if (an `else if` chain stays at one level, as
; the consequence of each link is not inside the previous link's block),
; loops and match.
(if_expression consequence: (block) @nesting)
(else_clause (block) @nesting)
[
  (while_expression)
  (loop_expression)
  (for_expression)
  (match_expression)
] @nesting

; Parameters: direct children of the parameter list, `self` included (as
; Python counts `self`); attributes on parameters are not parameters.
(parameters
  [
    (self_parameter)
    (parameter)
    (variadic_parameter)
  ] @parameter)
