; Units of C: every function_definition the grammar gives, named by the
; identifier inside its declarator.  The declarator may be wrapped in
; pointer declarators (`char **f(void)`), be parenthesized (`int (f)(int)`),
; or return a function pointer (`int (*getfn(void))(int)`: the name and the
; parameters are the inner ones).  K&R definitions parse as ordinary
; function_definitions (their parameter list holds bare identifiers).
; Macro forms where the grammar still gives a function_definition:
;   EXPORT int f(void)          the macro lands in an ERROR node; f is found
;   PHP_FUNCTION(strlen) {...}  named by the macro argument: strlen
;   int FUNC(name)(int x) {...} named by the macro's first argument: name
; Both alternatives of a function under #ifdef/#else are units (ordinals).
; Deliberately not captured: prototypes (declarations without a body), and
; macro invocations the grammar cannot read as a definition (e.g. the Linux
; SYSCALL_DEFINEn(...) { } forms, which parse as a call and a block).
; C has no scopes for functions: struct/union bodies hold no definitions.
;
; Each function_definition must match exactly one pattern below (two
; patterns on the same node would make the kind ambiguous).

(function_definition
  declarator: [
    (function_declarator
      declarator: [
        (identifier) @name
        (parenthesized_declarator (identifier) @name)
      ]
      parameters: (parameter_list) @params)
    (pointer_declarator
      declarator: (function_declarator
        declarator: [
          (identifier) @name
          (parenthesized_declarator (identifier) @name)
        ]
        parameters: (parameter_list) @params))
    (pointer_declarator
      declarator: (pointer_declarator
        declarator: (function_declarator
          declarator: (identifier) @name
          parameters: (parameter_list) @params)))
    (pointer_declarator
      declarator: (pointer_declarator
        declarator: (pointer_declarator
          declarator: (function_declarator
            declarator: (identifier) @name
            parameters: (parameter_list) @params))))
    ; int (*getfn(void))(int): a function returning a function pointer
    (function_declarator
      declarator: (parenthesized_declarator
        (pointer_declarator
          declarator: (function_declarator
            declarator: (identifier) @name
            parameters: (parameter_list) @params))))
    (pointer_declarator
      declarator: (function_declarator
        declarator: (parenthesized_declarator
          (pointer_declarator
            declarator: (function_declarator
              declarator: (identifier) @name
              parameters: (parameter_list) @params)))))
    ; PHP_FUNCTION(strlen) { ... }: the macro reads as the type
    (parenthesized_declarator (identifier) @name)
    ; int FUNC(name)(int x) { ... }: the macro reads as a function declarator
    (function_declarator
      declarator: (function_declarator
        declarator: (identifier)
        parameters: (parameter_list
          .
          (parameter_declaration type: (type_identifier) @name)))
      parameters: (parameter_list) @params)
    (pointer_declarator
      declarator: (function_declarator
        declarator: (function_declarator
          declarator: (identifier)
          parameters: (parameter_list
            .
            (parameter_declaration type: (type_identifier) @name)))
        parameters: (parameter_list) @params))
  ]
  body: (compound_statement) @body) @definition.function
