; Units of Java: methods with a body and constructors, in classes,
; interfaces (default and static methods), enums (methods, constructors, and
; methods of an enum constant's body, scoped by the constant:
; `Color.GREEN.code`), records (methods, canonical and compact
; constructors) and nested types (`Outer.Inner.method`).  Constructors have
; kind constructor and are named after their class (`Point.Point`);
; overloads are told apart by ordinals.
;
; Deliberately not units: abstract and interface methods without a body,
; anonymous classes and lambdas inside a method (they belong to the method),
; initializer blocks (`static { }`), annotation type elements.

(method_declaration
  name: (identifier) @name
  parameters: (formal_parameters) @params
  body: (block) @body) @definition.method

(constructor_declaration
  name: (identifier) @name
  parameters: (formal_parameters) @params
  body: (constructor_body) @body) @definition.constructor

(compact_constructor_declaration
  name: (identifier) @name
  body: (block) @body) @definition.constructor

(class_declaration
  name: (identifier) @name) @scope.class

(interface_declaration
  name: (identifier) @name) @scope.class

(enum_declaration
  name: (identifier) @name) @scope.class

(record_declaration
  name: (identifier) @name) @scope.class

(annotation_type_declaration
  name: (identifier) @name) @scope.class

(enum_constant
  name: (identifier) @name
  body: (class_body)) @scope.class
