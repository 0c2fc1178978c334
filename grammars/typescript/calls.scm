; Calls: `f()`, `a.b.c()` -> `c`, `this.#m()` -> `#m`, `new Foo()` -> `Foo`.
(call_expression function: (identifier) @name) @reference.call
(call_expression
  function: (member_expression
    property: [(property_identifier) (private_property_identifier)] @name)) @reference.call
(new_expression constructor: (identifier) @name) @reference.call
(new_expression
  constructor: (member_expression property: (property_identifier) @name)) @reference.call
