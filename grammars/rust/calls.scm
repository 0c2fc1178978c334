; Calls of Rust: `f()`, `a::b()` and `x.m()` name the last identifier;
; turbofish calls (`f::<T>()`, `x.m::<T>()`) too.  Macro invocations
; (`println!`, `vec!`) are not calls.
(call_expression function: (identifier) @name) @reference.call
(call_expression function: (scoped_identifier name: (identifier) @name)) @reference.call
(call_expression function: (field_expression field: (field_identifier) @name)) @reference.call
(call_expression function: (generic_function function: (identifier) @name)) @reference.call
(call_expression function: (generic_function function: (scoped_identifier name: (identifier) @name))) @reference.call
(call_expression function: (generic_function function: (field_expression field: (field_identifier) @name))) @reference.call
