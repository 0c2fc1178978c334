; Cyclomatic complexity of C++: decision points (each adds 1).  `else if`
; is an if_statement inside an else_clause and counts once; `default:` is a
; case_statement without a value and does not count; each catch counts.
[
  (if_statement)
  (for_statement)
  (for_range_loop)
  (while_statement)
  (do_statement)
  (catch_clause)
  (conditional_expression)
] @decision

(case_statement value: (_)) @decision

(binary_expression operator: "&&") @decision
(binary_expression operator: "||") @decision
(binary_expression operator: "and") @decision
(binary_expression operator: "or") @decision

; Nesting: the bodies of compound statements, so that an `else if` chain
; stays at the level of its first `if`, and a try and its catches are one
; level.
(if_statement consequence: (_) @nesting)
(else_clause
  [
    (compound_statement)
    (expression_statement)
    (return_statement)
    (for_statement)
    (for_range_loop)
    (while_statement)
    (do_statement)
    (switch_statement)
    (try_statement)
  ] @nesting)
(for_statement body: (_) @nesting)
(for_range_loop body: (_) @nesting)
(while_statement body: (_) @nesting)
(do_statement body: (_) @nesting)
(switch_statement body: (_) @nesting)
(try_statement body: (_) @nesting)
(catch_clause body: (_) @nesting)

; Parameters: the direct children of the unit's parameter list.  `(void)`
; is a lone unnamed parameter of a primitive type and counts 0; an unnamed
; parameter among others (`int f(int, char *p)`) still counts, and so do a
; lone unnamed parameter of a class type (`A(const A &)`) and `...`.
(parameter_list (parameter_declaration declarator: (_)) @parameter)
(parameter_list
  (parameter_declaration
    type: [
      (type_identifier)
      (qualified_identifier)
      (template_type)
      (sized_type_specifier)
      (struct_specifier)
      (union_specifier)
      (enum_specifier)
      (class_specifier)
      (placeholder_type_specifier)
      (decltype)
      (dependent_type)
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
(parameter_list
  [
    (optional_parameter_declaration)
    (variadic_parameter_declaration)
    "..."
  ] @parameter)
