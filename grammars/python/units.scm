; Units of Python: functions and methods; decorated definitions take their
; decorators along.  Classes are scopes, not units.

(decorated_definition
  definition: (function_definition
    name: (identifier) @name
    parameters: (parameters) @params
    body: (block) @body) @decl) @definition.function

(function_definition
  name: (identifier) @name
  parameters: (parameters) @params
  body: (block) @body) @definition.function

(class_definition
  name: (identifier) @name) @scope.class
