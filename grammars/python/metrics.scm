; Cyclomatic complexity: decision points (each adds 1).
[
  (if_statement)
  (elif_clause)
  (for_statement)
  (while_statement)
  (except_clause)
  (with_statement)
  (conditional_expression)
  (case_clause)
  (for_in_clause)
  (if_clause)
] @decision

(boolean_operator) @decision

; Nesting: statements whose body is a level deeper.
[
  (if_statement)
  (for_statement)
  (while_statement)
  (try_statement)
  (with_statement)
  (match_statement)
] @nesting

; Parameters: direct children of a parameter list (the scanner counts those
; whose parent or grandparent is the unit's @params node).
(parameters
  [
    (identifier)
    (typed_parameter)
    (default_parameter)
    (typed_default_parameter)
    (list_splat_pattern)
    (dictionary_splat_pattern)
  ] @parameter)
