; Cyclomatic complexity of Java: decision points (each adds 1): if (each
; `else if` is an if of its own), every loop form, catch clauses, ternaries,
; && and ||, and switch case labels of both the statement and the arrow
; form; `default` has no named child and does not count (the anchor makes
; `case A, B:` or a guarded pattern count once per label).
[
  (if_statement)
  (for_statement)
  (enhanced_for_statement)
  (while_statement)
  (do_statement)
  (catch_clause)
  (ternary_expression)
] @decision

(switch_label . (_)) @decision

(binary_expression operator: ["&&" "||"]) @decision

; Nesting: the branches of an if (an `else if` chain stays at one level),
; loops, switch, try and synchronized.
(if_statement consequence: (_) @nesting)
(if_statement alternative: (block) @nesting)
[
  (for_statement)
  (enhanced_for_statement)
  (while_statement)
  (do_statement)
  (switch_expression)
  (try_statement)
  (try_with_resources_statement)
  (synchronized_statement)
] @nesting

; Parameters: direct children of the parameter list; varargs count one; the
; explicit receiver parameter (`Foo this`) is not a parameter.
(formal_parameters
  [
    (formal_parameter)
    (spread_parameter)
  ] @parameter)
