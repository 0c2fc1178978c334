; Units of Go: top-level functions and methods.
;
; Captures function_declaration (@definition.function) and method_declaration
; (@definition.method) with @receiver = the receiver's type node, so the
; scanner names methods `(*Server).Close` (pointer receiver) or `Server.Len`
; (value receiver); generic receivers keep their text (`(*List[T]).Push`).
;
; Deliberately not units: func literals (closures) belong to the enclosing
; function; interface method specs and function types have no body; there
; are no scopes (a Go method's qualification comes from its receiver alone).

(function_declaration
  name: (identifier) @name
  parameters: (parameter_list) @params
  body: (block) @body) @definition.function

(method_declaration
  receiver: (parameter_list
    (parameter_declaration
      type: (_) @receiver))
  name: (field_identifier) @name
  parameters: (parameter_list) @params
  body: (block) @body) @definition.method
