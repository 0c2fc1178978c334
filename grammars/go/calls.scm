; Calls of Go: `f()`, `pkg.F()` and `s.m()` name the last identifier.
(call_expression function: (identifier) @name) @reference.call
(call_expression function: (selector_expression field: (field_identifier) @name)) @reference.call
; Generic instantiation: `f[int]()`, `pkg.F[T]()`.
(call_expression function: (index_expression operand: (identifier) @name)) @reference.call
(call_expression function: (index_expression operand: (selector_expression field: (field_identifier) @name))) @reference.call
