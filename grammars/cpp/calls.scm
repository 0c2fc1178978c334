; Calls of C++: the called name only.  `f()`, `obj.m()` / `p->m()` (the
; member), `ns::f()` / `a::b::f()` (the last identifier), `f<T>()` and
; `std::make_unique<T>()` (the template's name), `obj.template get<T>()`.
; Constructions (`Widget w(1)`, `new Widget`) are not calls.
(call_expression function: (identifier) @name) @reference.call
(call_expression
  function: (field_expression field: (field_identifier) @name)) @reference.call
(call_expression
  function: (field_expression
    field: (template_method name: (field_identifier) @name))) @reference.call
(call_expression
  function: (template_function name: (identifier) @name)) @reference.call
(call_expression
  function: (qualified_identifier
    name: [
      (identifier) @name
      (template_function name: (identifier) @name)
      (qualified_identifier
        name: [
          (identifier) @name
          (template_function name: (identifier) @name)
          (qualified_identifier
            name: [
              (identifier) @name
              (template_function name: (identifier) @name)
            ])
        ])
    ])) @reference.call
