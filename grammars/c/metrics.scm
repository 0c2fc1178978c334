; Cyclomatic complexity of C: decision points (each adds 1).  `else if` is
; an if_statement inside an else_clause and counts once; `default:` is a
; case_statement without a value and does not count.
[
  (if_statement)
  (for_statement)
  (while_statement)
  (do_statement)
  (conditional_expression)
] @decision

(case_statement value: (_)) @decision

(binary_expression operator: "&&") @decision
(binary_expression operator: "||") @decision

; Nesting: the bodies of compound statements, so that an `else if` chain
; stays at the level of its first `if` instead of nesting one deeper per
; branch.
(if_statement consequence: (_) @nesting)
(else_clause
  [
    (compound_statement)
    (expression_statement)
    (return_statement)
    (for_statement)
    (while_statement)
    (do_statement)
    (switch_statement)
  ] @nesting)
(for_statement body: (_) @nesting)
(while_statement body: (_) @nesting)
(do_statement body: (_) @nesting)
(switch_statement body: (_) @nesting)

; Parameters: the direct children of the unit's parameter list.  `(void)`
; is a lone unnamed parameter of a primitive type and counts 0; an unnamed
; primitive parameter among others (`int f(int, char *p)`) still counts.
(parameter_list (parameter_declaration declarator: (_)) @parameter)
(parameter_list
  (parameter_declaration
    type: [
      (type_identifier)
      (sized_type_specifier)
      (struct_specifier)
      (union_specifier)
      (enum_specifier)
      (macro_type_specifier)
    ]
    !declarator) @parameter)
(parameter_list
  (_)
  .
  (parameter_declaration type: (primitive_type) !declarator) @parameter)
(parameter_list
  .
  (parameter_declaration type: (primitive_type) !declarator) @parameter
  .
  (_))
(parameter_list (variadic_parameter) @parameter)
; K&R: int f(a, b) int a; char *b; { ... }
(parameter_list (identifier) @parameter)
