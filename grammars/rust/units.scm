; Units of Rust: every function_item with a body: free functions (top level
; or inside `mod`, which is a namespace scope), methods of `impl` blocks
; (named `Type::name`; a trait impl `impl Display for Point` names its methods
; `Point::fmt` after the implementing type) and default methods of traits
; (`Trait::name`).  An impl's scope name is the bare type: `impl<T> Stack<T>`
; and `impl a::Stack<T>` both give `Stack`; other self types (references,
; tuples, slices) keep their text, and a reference self type is named after
; what it refers to (`impl Iterator for &mut Stack<u8>` gives `Stack`).
;
; Deliberately not units: closures and nested fn items (they belong to the
; enclosing function), trait method signatures and extern fn declarations
; (function_signature_item has no body), macro_rules! definitions.

(function_item
  name: (identifier) @name
  parameters: (parameters) @params
  body: (block) @body) @definition.function

(mod_item
  name: (identifier) @name
  body: (declaration_list)) @scope.namespace

(trait_item
  name: (type_identifier) @name) @scope.class

(impl_item
  type: (type_identifier) @name) @scope.class

(impl_item
  type: (generic_type
    type: (type_identifier) @name)) @scope.class

(impl_item
  type: (generic_type
    type: (scoped_type_identifier
      name: (type_identifier) @name))) @scope.class

(impl_item
  type: (scoped_type_identifier
    name: (type_identifier) @name)) @scope.class

(impl_item
  type: [
    (primitive_type)
    (pointer_type)
    (tuple_type)
    (array_type)
    (function_type)
    (dynamic_type)
    (unit_type)
  ] @name) @scope.class

(impl_item
  type: (reference_type
    type: (type_identifier) @name)) @scope.class

(impl_item
  type: (reference_type
    type: (generic_type
      type: (type_identifier) @name))) @scope.class

(impl_item
  type: (reference_type
    type: (generic_type
      type: (scoped_type_identifier
        name: (type_identifier) @name)))) @scope.class

(impl_item
  type: (reference_type
    type: (scoped_type_identifier
      name: (type_identifier) @name))) @scope.class

(impl_item
  type: (reference_type
    type: [
      (primitive_type)
      (pointer_type)
      (tuple_type)
      (array_type)
      (function_type)
      (dynamic_type)
      (unit_type)
    ] @name)) @scope.class
