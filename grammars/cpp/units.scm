;; Units of C++: function definitions, with their template<...> header when
;; they have one (the template_declaration is the unit, the signature starts
;; at the function itself, @decl).
;;
;; - free functions and in-class methods (`int f()`, `T *g()`, `A &h()`,
;;   `int (*getfn())(int)`, operators, explicit specializations `f<int>`:
;;   named `f`); a method defined in a class gets the class (and namespace)
;;   names from the scopes below: `ns::Widget::get`
;; - out-of-class definitions: the name is the qualified identifier as
;;   written (`Widget::get`, `ns::Widget::get`, `Box<T>::put`) under the
;;   enclosing namespaces; they are methods (a namespace-qualified free
;;   function `void ns::f() {}` is reported as a method too: the grammar
;;   cannot tell a namespace from a class there)
;; - constructors (no return type and named by a plain identifier: in a class
;;   body, or `A::A` out of class) are kind constructor; destructors `~A` and
;;   conversion operators `operator bool() const` (named by that text) are
;;   methods
;; - a definition without a return type outside a class (a macro such as
;;   gtest's `TEST(Suite, Name) { }`) is a function named by the macro
;; - lambdas and local classes belong to the function that contains them
;;
;; Deliberately not captured: declarations without a body (prototypes,
;; `= default`, `= delete`, pure virtuals), and macro invocations the grammar
;; does not read as a function definition.
;;
;; Each function_definition / template_declaration must match exactly one
;; pattern below (two patterns on the same node would make the kind
;; ambiguous): hence `type: (_)` / `!type` and the parent of the no-type
;; forms.

; Functions and in-class methods with a return type; the declarator may
; return a pointer, a reference or a function pointer.
(function_definition
  type: (_)
  declarator: [
    (function_declarator
      declarator: [
        (identifier) @name
        (field_identifier) @name
        (operator_name) @name
        (template_function name: (identifier) @name)
      ]
      parameters: (parameter_list) @params)
    (pointer_declarator
      declarator: (function_declarator
        declarator: [
          (identifier) @name
          (field_identifier) @name
          (operator_name) @name
          (template_function name: (identifier) @name)
        ]
        parameters: (parameter_list) @params))
    (pointer_declarator
      declarator: (pointer_declarator
        declarator: (function_declarator
          declarator: [
            (identifier) @name
            (field_identifier) @name
            (operator_name) @name
            (template_function name: (identifier) @name)
          ]
          parameters: (parameter_list) @params)))
    (reference_declarator
      (function_declarator
        declarator: [
          (identifier) @name
          (field_identifier) @name
          (operator_name) @name
          (template_function name: (identifier) @name)
        ]
        parameters: (parameter_list) @params))
    (pointer_declarator
      declarator: (reference_declarator
        (function_declarator
          declarator: [
            (identifier) @name
            (field_identifier) @name
            (operator_name) @name
            (template_function name: (identifier) @name)
          ]
          parameters: (parameter_list) @params)))
    (function_declarator
      declarator: (parenthesized_declarator
        (pointer_declarator
          declarator: (function_declarator
            declarator: [
              (identifier) @name
              (field_identifier) @name
              (operator_name) @name
              (template_function name: (identifier) @name)
            ]
            parameters: (parameter_list) @params))))
  ]
  body: (_) @body) @definition.function

(template_declaration
  (function_definition
    type: (_)
    declarator: [
      (function_declarator
        declarator: [
          (identifier) @name
          (field_identifier) @name
          (operator_name) @name
          (template_function name: (identifier) @name)
        ]
        parameters: (parameter_list) @params)
      (pointer_declarator
        declarator: (function_declarator
          declarator: [
            (identifier) @name
            (field_identifier) @name
            (operator_name) @name
            (template_function name: (identifier) @name)
          ]
          parameters: (parameter_list) @params))
      (pointer_declarator
        declarator: (pointer_declarator
          declarator: (function_declarator
            declarator: [
              (identifier) @name
              (field_identifier) @name
              (operator_name) @name
              (template_function name: (identifier) @name)
            ]
            parameters: (parameter_list) @params)))
      (reference_declarator
        (function_declarator
          declarator: [
            (identifier) @name
            (field_identifier) @name
            (operator_name) @name
            (template_function name: (identifier) @name)
          ]
          parameters: (parameter_list) @params))
      (pointer_declarator
        declarator: (reference_declarator
          (function_declarator
            declarator: [
              (identifier) @name
              (field_identifier) @name
              (operator_name) @name
              (template_function name: (identifier) @name)
            ]
            parameters: (parameter_list) @params)))
      (function_declarator
        declarator: (parenthesized_declarator
          (pointer_declarator
            declarator: (function_declarator
              declarator: [
                (identifier) @name
                (field_identifier) @name
                (operator_name) @name
                (template_function name: (identifier) @name)
              ]
              parameters: (parameter_list) @params))))
    ]
    body: (_) @body) @decl) @definition.function

; Out-of-class definitions: Class::method, ns::Class::method, Box<T>::put
; (also under two template headers: a member template of a class template).
(function_definition
  type: (_)
  declarator: [
    (function_declarator
      declarator: (qualified_identifier) @name
      parameters: (parameter_list) @params)
    (pointer_declarator
      declarator: (function_declarator
        declarator: (qualified_identifier) @name
        parameters: (parameter_list) @params))
    (pointer_declarator
      declarator: (pointer_declarator
        declarator: (function_declarator
          declarator: (qualified_identifier) @name
          parameters: (parameter_list) @params)))
    (reference_declarator
      (function_declarator
        declarator: (qualified_identifier) @name
        parameters: (parameter_list) @params))
    (pointer_declarator
      declarator: (reference_declarator
        (function_declarator
          declarator: (qualified_identifier) @name
          parameters: (parameter_list) @params)))
    (function_declarator
      declarator: (parenthesized_declarator
        (pointer_declarator
          declarator: (function_declarator
            declarator: (qualified_identifier) @name
            parameters: (parameter_list) @params))))
  ]
  body: (_) @body) @definition.method

(template_declaration
  (function_definition
    type: (_)
    declarator: [
      (function_declarator
        declarator: (qualified_identifier) @name
        parameters: (parameter_list) @params)
      (pointer_declarator
        declarator: (function_declarator
          declarator: (qualified_identifier) @name
          parameters: (parameter_list) @params))
      (pointer_declarator
        declarator: (pointer_declarator
          declarator: (function_declarator
            declarator: (qualified_identifier) @name
            parameters: (parameter_list) @params)))
      (reference_declarator
        (function_declarator
          declarator: (qualified_identifier) @name
          parameters: (parameter_list) @params))
      (pointer_declarator
        declarator: (reference_declarator
          (function_declarator
            declarator: (qualified_identifier) @name
            parameters: (parameter_list) @params)))
      (function_declarator
        declarator: (parenthesized_declarator
          (pointer_declarator
            declarator: (function_declarator
              declarator: (qualified_identifier) @name
              parameters: (parameter_list) @params))))
    ]
    body: (_) @body) @decl) @definition.method

(template_declaration
  (template_declaration
    (function_definition
      type: (_)
      declarator: [
        (function_declarator
          declarator: (qualified_identifier) @name
          parameters: (parameter_list) @params)
        (pointer_declarator
          declarator: (function_declarator
            declarator: (qualified_identifier) @name
            parameters: (parameter_list) @params))
        (pointer_declarator
          declarator: (pointer_declarator
            declarator: (function_declarator
              declarator: (qualified_identifier) @name
              parameters: (parameter_list) @params)))
        (reference_declarator
          (function_declarator
            declarator: (qualified_identifier) @name
            parameters: (parameter_list) @params))
        (pointer_declarator
          declarator: (reference_declarator
            (function_declarator
              declarator: (qualified_identifier) @name
              parameters: (parameter_list) @params)))
        (function_declarator
          declarator: (parenthesized_declarator
            (pointer_declarator
              declarator: (function_declarator
                declarator: (qualified_identifier) @name
                parameters: (parameter_list) @params))))
      ]
      body: (_) @body) @decl)) @definition.method

; Constructors inside a class body.
(field_declaration_list
  (function_definition
    !type
    declarator: (function_declarator
      declarator: (identifier) @name
      parameters: (parameter_list) @params)
    body: (_) @body) @definition.constructor)

(field_declaration_list
  (template_declaration
    (function_definition
      !type
      declarator: (function_declarator
        declarator: (identifier) @name
        parameters: (parameter_list) @params)
      body: (_) @body) @decl) @definition.constructor)

; No return type outside a class: a macro such as TEST(Suite, Name) { }.
; (One pattern per parent: an alternation cannot stand for the parent.)
(translation_unit
  (function_definition
    !type
    declarator: (function_declarator
      declarator: (identifier) @name
      parameters: (parameter_list) @params)
    body: (_) @body) @definition.function)

(declaration_list
  (function_definition
    !type
    declarator: (function_declarator
      declarator: (identifier) @name
      parameters: (parameter_list) @params)
    body: (_) @body) @definition.function)

(preproc_if
  (function_definition
    !type
    declarator: (function_declarator
      declarator: (identifier) @name
      parameters: (parameter_list) @params)
    body: (_) @body) @definition.function)

(preproc_ifdef
  (function_definition
    !type
    declarator: (function_declarator
      declarator: (identifier) @name
      parameters: (parameter_list) @params)
    body: (_) @body) @definition.function)

(preproc_else
  (function_definition
    !type
    declarator: (function_declarator
      declarator: (identifier) @name
      parameters: (parameter_list) @params)
    body: (_) @body) @definition.function)

(preproc_elif
  (function_definition
    !type
    declarator: (function_declarator
      declarator: (identifier) @name
      parameters: (parameter_list) @params)
    body: (_) @body) @definition.function)

; Out-of-class constructors: A::A, ns::A::A, Box<T>::Box.
(function_definition
  !type
  declarator: (function_declarator
    declarator: [
      (qualified_identifier name: (identifier))
      (qualified_identifier name: (qualified_identifier name: (identifier)))
      (qualified_identifier
        name: (qualified_identifier name: (qualified_identifier name: (identifier))))
    ] @name
    parameters: (parameter_list) @params)
  body: (_) @body) @definition.constructor

(template_declaration
  (function_definition
    !type
    declarator: (function_declarator
    declarator: [
      (qualified_identifier name: (identifier))
      (qualified_identifier name: (qualified_identifier name: (identifier)))
      (qualified_identifier
        name: (qualified_identifier name: (qualified_identifier name: (identifier))))
    ] @name
    parameters: (parameter_list) @params)
    body: (_) @body) @decl) @definition.constructor

(template_declaration
  (template_declaration
    (function_definition
      !type
      declarator: (function_declarator
    declarator: [
      (qualified_identifier name: (identifier))
      (qualified_identifier name: (qualified_identifier name: (identifier)))
      (qualified_identifier
        name: (qualified_identifier name: (qualified_identifier name: (identifier))))
    ] @name
    parameters: (parameter_list) @params)
      body: (_) @body) @decl)) @definition.constructor

; Destructors: ~A in a class, A::~A out of it.
(function_definition
  !type
  declarator: (function_declarator
    declarator: [
      (destructor_name)
      (qualified_identifier name: (destructor_name))
      (qualified_identifier name: (qualified_identifier name: (destructor_name)))
      (qualified_identifier
        name: (qualified_identifier name: (qualified_identifier name: (destructor_name))))
    ] @name
    parameters: (parameter_list) @params)
  body: (_) @body) @definition.method

(template_declaration
  (function_definition
    !type
    declarator: (function_declarator
    declarator: [
      (destructor_name)
      (qualified_identifier name: (destructor_name))
      (qualified_identifier name: (qualified_identifier name: (destructor_name)))
      (qualified_identifier
        name: (qualified_identifier name: (qualified_identifier name: (destructor_name))))
    ] @name
    parameters: (parameter_list) @params)
    body: (_) @body) @decl) @definition.method

(template_declaration
  (template_declaration
    (function_definition
      !type
      declarator: (function_declarator
    declarator: [
      (destructor_name)
      (qualified_identifier name: (destructor_name))
      (qualified_identifier name: (qualified_identifier name: (destructor_name)))
      (qualified_identifier
        name: (qualified_identifier name: (qualified_identifier name: (destructor_name))))
    ] @name
    parameters: (parameter_list) @params)
      body: (_) @body) @decl)) @definition.method

; Conversion operators: operator bool() const, A::operator int() const.
(function_definition
  !type
  declarator: [
      (operator_cast declarator: (abstract_function_declarator parameters: (parameter_list) @params))
      (qualified_identifier
        name: (operator_cast declarator: (abstract_function_declarator parameters: (parameter_list) @params)))
      (qualified_identifier
        name: (qualified_identifier
          name: (operator_cast declarator: (abstract_function_declarator parameters: (parameter_list) @params))))
    ] @name
  body: (_) @body) @definition.method

(template_declaration
  (function_definition
    !type
    declarator: [
      (operator_cast declarator: (abstract_function_declarator parameters: (parameter_list) @params))
      (qualified_identifier
        name: (operator_cast declarator: (abstract_function_declarator parameters: (parameter_list) @params)))
      (qualified_identifier
        name: (qualified_identifier
          name: (operator_cast declarator: (abstract_function_declarator parameters: (parameter_list) @params))))
    ] @name
    body: (_) @body) @decl) @definition.method

; Scopes for qualified names.
(namespace_definition name: (_) @name) @scope.namespace
(class_specifier name: (_) @name body: (_)) @scope.class
(struct_specifier name: (_) @name body: (_)) @scope.class
(union_specifier name: (_) @name body: (_)) @scope.class
