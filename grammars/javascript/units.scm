; Units of JavaScript.
;
; Captured:
; - function and generator declarations (`function f`, `function* g`,
;   `async function h`); an `export` / `export default` in front stays
;   OUTSIDE the unit (the unit is the declaration itself);
; - class methods `Class.m`: constructor (kind constructor), getters,
;   setters, static, async, generator and private `#m` methods, and class
;   fields holding a function (`handler = (e) => {}` -> `Class.handler`);
; - object-literal methods and function-valued properties of an object bound
;   to a variable: `const obj = { m() {}, n: () => 1 }` -> `obj.m`, `obj.n`
;   (the declarator is a namespace scope; other object literals give `m`);
; - arrow functions and function expressions bound to a name: the whole
;   `const f = () => ...` / `let g = function () {}` / `var h = ...`
;   declaration is the unit (so a rewrite keeps the keyword); only the FIRST
;   declarator of a declaration is looked at;
; - assignments of a function: `obj.f = function () {}`,
;   `module.exports.f = () => {}`, `Foo.prototype.bar = function () {}`:
;   the unit is the expression statement, the name the left side's text;
; - `export default function () {}` / `export default () => {}` (anonymous):
;   the unit is the whole export statement, named `default`.
;
; Not units: classes (scopes), anonymous callbacks and IIFEs (they belong to
; the enclosing unit, or to none at top level), functions nested in a unit.

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

(field_definition
  property: [(property_identifier) (private_property_identifier)] @name
  value: [
    (arrow_function parameters: (formal_parameters) @params body: (_) @body)
    (function_expression parameters: (formal_parameters) @params body: (_) @body)
    (generator_function parameters: (formal_parameters) @params body: (_) @body)
  ]) @definition.method

(field_definition
  property: [(property_identifier) (private_property_identifier)] @name
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
(class_declaration name: (identifier) @name) @scope.class
(class name: (identifier) @name) @scope.class
(variable_declarator
  name: (identifier) @name
  value: (class !name)) @scope.class
(variable_declarator
  name: (identifier) @name
  value: (object)) @scope.namespace
(assignment_expression
  left: [(member_expression) (identifier)] @name
  right: (object)) @scope.namespace
