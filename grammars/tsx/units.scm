; Units of TypeScript (grammars/tsx/units.scm is an identical copy: the
; TSX grammar has the same node types).
;
; Captured: as for JavaScript --
; - function and generator declarations with a body; an `export` /
;   `export default` in front stays OUTSIDE the unit;
; - class methods `Class.m` (also of abstract classes): constructor (kind
;   constructor), getters, setters, static, async, generator, private `#m`,
;   and class fields holding a function (`handler = (e: E) => {}`);
; - object-literal methods and function-valued properties of an object bound
;   to a variable: `const obj = { m() {} }` -> `obj.m`;
; - arrow functions and function expressions bound to a name: the whole
;   `const f = (x: T): U => ...` declaration is the unit (first declarator
;   only), type annotations and type parameters are part of the signature;
; - `obj.f = function () {}`, `module.exports.f = ...`,
;   `Foo.prototype.bar = ...`: the expression statement, named by the left side;
; - anonymous `export default function () {}`: the export statement, `default`.
; Scopes: classes and interfaces (@scope.class); `namespace N {}` /
; `module M {}` (internal_module / module, `N.f`, `A.B.f`) and enums
; (@scope.namespace).
;
; Not units: anything without a body -- interface method signatures,
; abstract methods, overload signatures (`function f(a: string): void;`,
; their implementation is the unit), `declare` functions; decorators of
; methods are siblings in the class body and stay outside the method's range.
; Nested functions and callbacks belong to the enclosing unit.

(function_declaration
  name: (identifier) @name
  parameters: (formal_parameters) @params
  body: (statement_block) @body) @definition.function

(generator_function_declaration
  name: (identifier) @name
  parameters: (formal_parameters) @params
  body: (statement_block) @body) @definition.function

; Class members.
(class_body
  (method_definition
    name: (property_identifier) @name
    parameters: (formal_parameters) @params
    body: (statement_block) @body) @definition.constructor
  (#eq? @name "constructor"))

(class_body
  (method_definition
    name: [(property_identifier) (private_property_identifier)
           (computed_property_name) (string) (number)] @name
    parameters: (formal_parameters) @params
    body: (statement_block) @body) @definition.method
  (#not-eq? @name "constructor"))

(public_field_definition
  name: [(property_identifier) (private_property_identifier)] @name
  value: [
    (arrow_function parameters: (formal_parameters) @params body: (_) @body)
    (function_expression parameters: (formal_parameters) @params body: (_) @body)
    (generator_function parameters: (formal_parameters) @params body: (_) @body)
  ]) @definition.method

(public_field_definition
  name: [(property_identifier) (private_property_identifier)] @name
  value: (arrow_function parameter: (identifier) body: (_) @body)) @params @definition.method

; Object literals.
(object
  (method_definition
    name: [(property_identifier) (computed_property_name) (string) (number)] @name
    parameters: (formal_parameters) @params
    body: (statement_block) @body) @definition.method)

(object
  (pair
    key: [(property_identifier) (string) (number)] @name
    value: [
      (arrow_function parameters: (formal_parameters) @params body: (_) @body)
      (function_expression parameters: (formal_parameters) @params body: (_) @body)
      (generator_function parameters: (formal_parameters) @params body: (_) @body)
    ]) @definition.method)

(object
  (pair
    key: [(property_identifier) (string) (number)] @name
    value: (arrow_function parameter: (identifier) body: (_) @body)) @params @definition.method)

; Functions bound to a name by a declaration (the first declarator).
(lexical_declaration
  .
  (variable_declarator
    name: (identifier) @name
    value: [
      (arrow_function parameters: (formal_parameters) @params body: (_) @body)
      (function_expression parameters: (formal_parameters) @params body: (_) @body)
      (generator_function parameters: (formal_parameters) @params body: (_) @body)
    ])) @definition.function

(lexical_declaration
  .
  (variable_declarator
    name: (identifier) @name
    value: (arrow_function parameter: (identifier) body: (_) @body)) @params) @definition.function

(variable_declaration
  .
  (variable_declarator
    name: (identifier) @name
    value: [
      (arrow_function parameters: (formal_parameters) @params body: (_) @body)
      (function_expression parameters: (formal_parameters) @params body: (_) @body)
      (generator_function parameters: (formal_parameters) @params body: (_) @body)
    ])) @definition.function

(variable_declaration
  .
  (variable_declarator
    name: (identifier) @name
    value: (arrow_function parameter: (identifier) body: (_) @body)) @params) @definition.function

; Functions bound by assignment: `a.b.c = function () {}`.
(expression_statement
  (assignment_expression
    left: [(member_expression) (identifier)] @name
    right: [
      (arrow_function parameters: (formal_parameters) @params body: (_) @body)
      (function_expression parameters: (formal_parameters) @params body: (_) @body)
      (generator_function parameters: (formal_parameters) @params body: (_) @body)
    ])) @definition.function

(expression_statement
  (assignment_expression
    left: [(member_expression) (identifier)] @name
    right: (arrow_function parameter: (identifier) body: (_) @body)) @params) @definition.function

; Anonymous default export.
(export_statement
  "default" @name
  value: [
    (arrow_function parameters: (formal_parameters) @params body: (_) @body)
    (function_expression parameters: (formal_parameters) @params body: (_) @body)
    (generator_function parameters: (formal_parameters) @params body: (_) @body)
  ] @decl) @definition.function

(export_statement
  "default" @name
  value: (arrow_function parameter: (identifier) body: (_) @body) @decl) @params @definition.function

; Scopes.
(class_declaration name: (type_identifier) @name) @scope.class
(abstract_class_declaration name: (type_identifier) @name) @scope.class
(class name: (type_identifier) @name) @scope.class
(interface_declaration name: (type_identifier) @name) @scope.class
(variable_declarator
  name: (identifier) @name
  value: (class !name)) @scope.class
(variable_declarator
  name: (identifier) @name
  value: (object)) @scope.namespace
(assignment_expression
  left: [(member_expression) (identifier)] @name
  right: (object)) @scope.namespace
(internal_module name: [(identifier) (nested_identifier)] @name) @scope.namespace
(module name: [(identifier) (nested_identifier)] @name) @scope.namespace
(enum_declaration name: (identifier) @name) @scope.namespace
