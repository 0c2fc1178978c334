; Calls of C: plain calls and calls through a struct field (`s->fn(x)`,
; `ops.open()`: the field name).  Calls through a pointer expression
; (`(*fp)(x)`) name nothing and are not captured.
(call_expression function: (identifier) @name) @reference.call
(call_expression
  function: (field_expression field: (field_identifier) @name)) @reference.call
(call_expression
  function: (parenthesized_expression (identifier) @name)) @reference.call
