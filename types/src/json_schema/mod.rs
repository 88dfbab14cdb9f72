//! A stated subset of JSON Schema (draft 2020-12) for an agent's input and
//! output. A schema is compiled once, which refuses anything outside the
//! subset by name, then checks values and reports each violation with its
//! JSON path (`input.customer.email`, `input.items[2]`). One implementation
//! serves the editor (live, in the browser), the server (before any
//! sandbox work, on every way a run starts) and the forms made from it.
//!
//! The subset:
//! - `type` (one name or a list), `enum`, `const`;
//! - numbers: `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`,
//!   `multipleOf`;
//! - strings: `minLength`, `maxLength` (in characters), `pattern` (Rust
//!   regex syntax: ECMA-262's without look-around or back-references; it
//!   matches anywhere unless anchored, as JSON Schema says);
//! - arrays: `items` (one schema for every item), `minItems`, `maxItems`,
//!   `uniqueItems`;
//! - objects: `properties`, `required`, `additionalProperties` (`true`,
//!   `false` or a schema), `minProperties`, `maxProperties`;
//! - `allOf`, `anyOf`, `oneOf`; the schemas `true` and `false`;
//! - annotations, checked for shape but not enforced: `$schema` (draft
//!   2020-12 or draft-07), `$id`, `$comment`, `title`, `description`,
//!   `default`, `examples`, `format`, `deprecated`, `readOnly`,
//!   `writeOnly`. (`format` is an annotation by default in 2020-12; forms
//!   use it to pick an input.)
//!
//! Not in it, refused when compiling: `$ref` and `$defs`, `not`,
//! `if`/`then`/`else`, `prefixItems`, `contains`, `patternProperties`,
//! `dependentRequired`, `dependentSchemas`, `propertyNames`,
//! `unevaluatedItems`, `unevaluatedProperties` and any unknown keyword.

use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};

use check::Check;
use compile::compile;

mod check;
mod compile;

/// The largest schema, as JSON text.
pub const MAX_SCHEMA_BYTES: usize = 32 << 10;
/// The deepest nesting of schemas in a schema.
pub const MAX_DEPTH: usize = 32;
/// The longest `pattern`.
pub const MAX_PATTERN_CHARS: usize = 1_000;
/// The most patterns in one schema.
pub const MAX_PATTERNS: usize = 64;
/// The largest compiled pattern (regex-lite's own measure).
const MAX_PATTERN_BYTES: usize = 64 << 10;
/// The most violations one check reports.
pub const MAX_VIOLATIONS: usize = 20;
/// The most (value, schema) pairs one check visits: alternatives that each
/// walk a large input would otherwise multiply its size by their number.
pub const MAX_STEPS: usize = 4_000_000;
/// A pattern's cost per byte of text it is matched against, in steps: one
/// per this many characters of pattern (at least one).
const PATTERN_CHARS_PER_STEP: usize = 16;

/// Drafts whose meaning of this subset is the same.
const DRAFTS: &[&str] = &[
    "https://json-schema.org/draft/2020-12/schema",
    "http://json-schema.org/draft-07/schema#",
    "http://json-schema.org/draft-07/schema",
];

/// A value that does not meet a schema: where, and what it must be.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Violation {
    /// The JSON path of the value at fault, from the root's name:
    /// `input`, `input.customer.email`, `input.items[2]`, `input["a b"]`.
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// A schema outside the subset, or malformed: where in the schema, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaError {
    /// The path inside the schema: `properties.name.maxLength`.
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for SchemaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// The JSON types a schema names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Null,
    Boolean,
    Object,
    Array,
    Number,
    Integer,
    String,
}

impl Kind {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "null" => Self::Null,
            "boolean" => Self::Boolean,
            "object" => Self::Object,
            "array" => Self::Array,
            "number" => Self::Number,
            "integer" => Self::Integer,
            "string" => Self::String,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Boolean => "boolean",
            Self::Object => "object",
            Self::Array => "array",
            Self::Number => "number",
            Self::Integer => "integer",
            Self::String => "string",
        }
    }

    fn admits(self, value: &Value) -> bool {
        match (self, value) {
            (Self::Null, Value::Null)
            | (Self::Boolean, Value::Bool(_))
            | (Self::Object, Value::Object(_))
            | (Self::Array, Value::Array(_))
            | (Self::Number, Value::Number(_))
            | (Self::String, Value::String(_)) => true,
            (Self::Integer, Value::Number(number)) => is_integer(number),
            _ => false,
        }
    }
}

/// Whether a JSON number is a whole number (`1.0` is, as JSON Schema says).
fn is_integer(number: &serde_json::Number) -> bool {
    number.is_i64()
        || number.is_u64()
        || number
            .as_f64()
            .is_some_and(|n| n.is_finite() && n.fract() == 0.0)
}

/// A compiled schema.
#[derive(Clone, Debug)]
pub struct Schema {
    root: Node,
}

#[derive(Clone, Debug)]
enum Node {
    /// `true` or `{}`: anything.
    Any,
    /// `false`: nothing.
    Never,
    Rules(Box<Rules>),
}

#[derive(Clone, Debug, Default)]
struct Rules {
    types: Option<Vec<Kind>>,
    one_value_of: Option<Vec<Value>>,
    constant: Option<Value>,
    minimum: Option<Number>,
    maximum: Option<Number>,
    exclusive_minimum: Option<Number>,
    exclusive_maximum: Option<Number>,
    multiple_of: Option<Number>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    /// The pattern, its cost per byte of text (see `pattern_weight`) and
    /// its regex.
    pattern: Option<(String, usize, regex_lite::Regex)>,
    items: Option<Node>,
    min_items: Option<u64>,
    max_items: Option<u64>,
    unique_items: bool,
    properties: std::collections::BTreeMap<String, Node>,
    required: Vec<String>,
    additional: Option<Node>,
    min_properties: Option<u64>,
    max_properties: Option<u64>,
    all_of: Vec<Node>,
    any_of: Vec<Node>,
    one_of: Vec<Node>,
}

impl Schema {
    /// Compiles `schema`, refusing anything outside the subset (by name,
    /// with its path in the schema), a schema larger than
    /// `MAX_SCHEMA_BYTES` or nested deeper than `MAX_DEPTH`.
    pub fn compile(schema: &Value) -> Result<Self, SchemaError> {
        let size = serde_json::to_string(schema).map_or(usize::MAX, |text| text.len());
        if size > MAX_SCHEMA_BYTES {
            return Err(SchemaError {
                path: String::new(),
                message: format!("must be at most {} KiB of JSON", MAX_SCHEMA_BYTES >> 10),
            });
        }
        if let Some(Value::String(draft)) = schema.get("$schema")
            && !DRAFTS.contains(&draft.as_str())
        {
            return Err(SchemaError {
                path: "$schema".to_owned(),
                message: format!("must be {} (or draft-07's)", DRAFTS[0]),
            });
        }
        Ok(Self {
            root: compile(schema, "", 0, &mut 0)?,
        })
    }

    /// Whether `value` meets the schema (within the budget), without
    /// making any message.
    pub fn accepts(&self, value: &Value) -> bool {
        let mut check = Check {
            violations: Vec::new(),
            steps: 0,
            quiet: true,
        };
        check.node(&self.root, value, "");
        check.violations.is_empty() && !check.over_budget()
    }

    /// Checks `value`, naming it `root` in the violations' paths; at most
    /// `MAX_VIOLATIONS` are reported.
    pub fn check(&self, value: &Value, root: &str) -> Result<(), Vec<Violation>> {
        let mut check = Check {
            violations: Vec::new(),
            steps: 0,
            quiet: false,
        };
        check.node(&self.root, value, root);
        if check.steps > MAX_STEPS {
            return Err(vec![Violation {
                path: root.to_owned(),
                message: "is too complex to check against the schema".to_owned(),
            }]);
        }
        if check.violations.is_empty() {
            Ok(())
        } else {
            check.violations.truncate(MAX_VIOLATIONS);
            Err(check.violations)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn problems(schema: Value, value: Value) -> Vec<String> {
        let schema = Schema::compile(&schema).expect("a schema of the subset");
        match schema.check(&value, "input") {
            Ok(()) => Vec::new(),
            Err(violations) => violations.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn objects_name_each_bad_field_by_its_path() {
        let schema = json!({
            "type": "object",
            "properties": {
                "customer": {
                    "type": "object",
                    "properties": {
                        "email": {"type": "string", "format": "email", "minLength": 3},
                        "age": {"type": "integer", "minimum": 0}
                    },
                    "required": ["email"],
                    "additionalProperties": false
                },
                "items": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
                "odd name": {"type": "boolean"}
            },
            "required": ["customer"]
        });
        assert!(problems(schema.clone(), json!({"customer": {"email": "a@b.c"}})).is_empty());
        assert_eq!(
            problems(
                schema.clone(),
                json!({"customer": {"age": 1.5, "x": 1}, "items": ["a", 2, "c"], "odd name": 1})
            ),
            vec![
                "input.customer.email: is required",
                "input.customer.age: must be an integer",
                "input.customer.x: is not a property this schema allows",
                "input.items: must have at most 2 items",
                "input.items[1]: must be a string",
                "input[\"odd name\"]: must be a boolean",
            ]
        );
        assert_eq!(
            problems(schema, json!([])),
            vec!["input: must be an object"]
        );
    }

    #[test]
    fn numbers_strings_and_values() {
        let number =
            json!({"type": "number", "minimum": 1, "exclusiveMaximum": 10, "multipleOf": 0.1});
        assert!(problems(number.clone(), json!(0.3 + 1.0)).is_empty());
        assert_eq!(
            problems(number.clone(), json!(10)),
            vec!["input: must be less than 10"]
        );
        assert_eq!(
            problems(number, json!(1.05)),
            vec!["input: must be a multiple of 0.1"]
        );
        assert!(problems(json!({"type": "integer"}), json!(2.0)).is_empty());
        let text = json!({"type": "string", "maxLength": 3, "pattern": "^[a-z]+$"});
        assert!(
            problems(json!({"maxLength": 3}), json!("héé")).is_empty(),
            "characters, not bytes"
        );
        assert_eq!(
            problems(text, json!("ABCD")),
            vec![
                "input: must be at most 3 characters",
                "input: must match the pattern ^[a-z]+$"
            ]
        );
        assert!(
            problems(json!({"pattern": "b"}), json!("abc")).is_empty(),
            "unanchored"
        );
        assert!(problems(json!({"enum": [1, "a"]}), json!(1.0)).is_empty());
        assert_eq!(
            problems(json!({"enum": [1, "a"]}), json!("b")),
            vec!["input: must be one of 1, \"a\""]
        );
        assert_eq!(
            problems(json!({"const": {"a": 1}}), json!({"a": 2})),
            vec!["input: must be {\"a\":1}"]
        );
        assert_eq!(
            problems(json!({"uniqueItems": true}), json!([1, 2, 1.0])),
            vec!["input[2]: repeats an earlier item"]
        );
        assert!(problems(json!({"type": ["string", "null"]}), json!(null)).is_empty());
    }

    #[test]
    fn compositions() {
        let any = json!({"anyOf": [{"type": "string"}, {"type": "integer"}]});
        assert!(problems(any.clone(), json!(3)).is_empty());
        assert_eq!(
            problems(any, json!(3.5)),
            vec!["input: must match at least one of the schemas in anyOf"]
        );
        let one = json!({"oneOf": [{"type": "number"}, {"type": "integer"}]});
        assert_eq!(
            problems(one, json!(3)),
            vec!["input: must match exactly one of the schemas in oneOf (matches 2)"]
        );
        let all = json!({"allOf": [{"minLength": 2}, {"maxLength": 3}]});
        assert_eq!(
            problems(all, json!("abcd")),
            vec!["input: must be at most 3 characters"]
        );
        assert_eq!(
            problems(json!(false), json!(1)),
            vec!["input: is not allowed here"]
        );
        assert!(problems(json!(true), json!({"anything": [1]})).is_empty());
        assert!(problems(json!({"title": "Anything"}), json!(1)).is_empty());
    }

    #[test]
    fn work_stops_at_the_budget() {
        // A small schema can make much work of a large input: each of 400
        // alternatives walks 20,000 items (8 million visits).
        let branch = json!({"type": "array", "items": {"type": "integer"}, "minItems": 30_000});
        let schema = json!({"anyOf": vec![branch; 400]});
        let value = json!(vec![1; 20_000]);
        let compiled = Schema::compile(&schema).expect("compiles");
        assert!(!compiled.accepts(&value));
        let violations = compiled.check(&value, "input").expect_err("fails");
        assert_eq!(
            violations,
            vec![Violation {
                path: "input".into(),
                message: "is too complex to check against the schema".into()
            }]
        );
        // The same input against one alternative is checked in full.
        let one = Schema::compile(&json!({"type": "array", "items": {"type": "integer"}}))
            .expect("compiles");
        assert_eq!(one.check(&value, "input"), Ok(()));
    }

    #[test]
    fn long_patterns_over_long_texts_count_against_the_budget() {
        let pattern = format!("^(a|b|{})*$", "c".repeat(MAX_PATTERN_CHARS - 20));
        let schema =
            Schema::compile(&json!({"type": "string", "pattern": pattern})).expect("compiles");
        let long = "ab".repeat(100_000);
        assert_eq!(
            schema
                .check(&json!(long), "input")
                .expect_err("over budget")[0]
                .message,
            "is too complex to check against the schema"
        );
        assert!(schema.check(&json!("abab"), "input").is_ok());
    }

    #[test]
    fn numbers_compare_as_python_jsonschema_does() {
        let most = json!({"maximum": 9_223_372_036_854_775_807_i64});
        assert_eq!(
            problems(most, json!(9_223_372_036_854_775_808_u64)),
            vec!["input: must be at most 9223372036854775807"]
        );
        assert_eq!(
            problems(json!({"multipleOf": 2}), json!(u64::MAX)),
            vec!["input: must be a multiple of 2"]
        );
        assert_eq!(
            problems(json!({"multipleOf": 0.1}), json!(0.3)),
            vec!["input: must be a multiple of 0.1"],
            "0.3 / 0.1 is 2.9999999999999996, as Python and ajv find"
        );
        assert!(problems(json!({"multipleOf": 0.5}), json!(2.5)).is_empty());
        assert!(problems(json!({"maxLength": 2.0}), json!("ab")).is_empty());
        assert!(problems(json!({"exclusiveMinimum": 0}), json!(0)).len() == 1);
    }

    #[test]
    fn messages_and_paths_stay_short() {
        let big = json!({"text": "x".repeat(20_000)});
        let message = &problems(json!({"const": big}), json!(1))[0];
        assert!(message.len() < 80, "{message}");
        let name = "k".repeat(1_000);
        let schema = json!({"additionalProperties": false});
        let path = &problems(schema, json!({ name: 1 }))[0];
        assert!(path.len() < 120, "{path}");
    }

    #[test]
    fn patterns_are_bounded_in_size_and_number() {
        let huge = json!({"pattern": "(?:a{200}){1000}"});
        assert!(
            Schema::compile(&huge)
                .expect_err("too big")
                .to_string()
                .starts_with("pattern:")
        );
        let many: Vec<Value> = (0..=MAX_PATTERNS)
            .map(|_| json!({"pattern": "a"}))
            .collect();
        assert!(
            Schema::compile(&json!({"allOf": many}))
                .expect_err("too many")
                .to_string()
                .contains("at most 64 patterns")
        );
    }

    #[test]
    fn outside_the_subset_is_refused_by_name() {
        let refused = |schema: Value| Schema::compile(&schema).expect_err("refused").to_string();
        assert_eq!(
            refused(json!({"properties": {"a": {"$ref": "#/$defs/a"}}})),
            "properties.a.$ref: `$ref` is not in the supported subset of JSON Schema"
        );
        assert_eq!(
            refused(json!({"tpye": "string"})),
            "tpye: `tpye` is not a keyword of the supported subset of JSON Schema"
        );
        assert_eq!(
            refused(json!({"type": "text"})),
            "type: each type is one of null, boolean, object, array, number, integer, string"
        );
        assert_eq!(
            refused(json!({"pattern": "(a"})).split(':').next(),
            Some("pattern")
        );
        assert_eq!(
            refused(json!({"items": [{"type": "string"}]}))
                .split(':')
                .next(),
            Some("items")
        );
        assert_eq!(
            refused(json!({"$schema": "http://json-schema.org/draft-04/schema#"})),
            "$schema: must be https://json-schema.org/draft/2020-12/schema (or draft-07's)"
        );
        assert_eq!(refused(json!(3)), "a schema is an object, true or false");
        let mut deep = json!({});
        for _ in 0..=MAX_DEPTH {
            deep = json!({"items": deep});
        }
        assert!(refused(deep).contains("nest at most"));
        let big = json!({"description": "x".repeat(MAX_SCHEMA_BYTES)});
        assert!(refused(big).contains("KiB"));
    }
}
