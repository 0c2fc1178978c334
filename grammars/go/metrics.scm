; Cyclomatic complexity of Go: decision points (each adds 1).  `for` covers
; every loop form (three-clause, condition-only, range, bare); each case of
; an expression, type or select switch adds one, `default` does not.
[
  (if_statement)
  (for_statement)
  (expression_case)
  (type_case)
  (communication_case)
] @decision

(binary_expression operator: ["&&" "||"]) @decision

; Nesting: the branches of an if (an `else if` chain stays at one level, as
; each link's consequence is not inside the previous link's block), loops,
; switches and select.
(if_statement consequence: (block) @nesting)
(if_statement alternative: (block) @nesting)
[
  (for_statement)
  (expression_switch_statement)
  (type_switch_statement)
  (select_statement)
] @nesting

; Parameters: every name of a parameter_declaration (`a, b int` is two; the
; name's grandparent is the parameter list), a variadic parameter counts one,
; and an unnamed parameter (`func(int, string)`) counts one.
(parameter_declaration name: (identifier) @parameter)
(variadic_parameter_declaration) @parameter
(parameter_declaration !name) @parameter
