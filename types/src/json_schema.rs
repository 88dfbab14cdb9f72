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
use serde_json::{Map, Value};

/// The largest schema, as JSON text.
pub const MAX_SCHEMA_BYTES: usize = 32 << 10;
/// The deepest nesting of schemas in a schema.
pub const MAX_DEPTH: usize = 32;
/// The longest `pattern`.
pub const MAX_PATTERN_CHARS: usize = 1_000;
/// The most violations one check reports.
pub const MAX_VIOLATIONS: usize = 20;
/// The most (value, schema) pairs one check visits: alternatives that each
/// walk a large input would otherwise multiply its size by their number.
pub const MAX_STEPS: usize = 1_000_000;

/// Drafts whose meaning of this subset is the same.
const DRAFTS: &[&str] = &[
    "https://json-schema.org/draft/2020-12/schema",
    "http://json-schema.org/draft-07/schema#",
    "http://json-schema.org/draft-07/schema",
];

/// A value that does not meet a schema: where, and what it must be.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    minimum: Option<f64>,
    maximum: Option<f64>,
    exclusive_minimum: Option<f64>,
    exclusive_maximum: Option<f64>,
    multiple_of: Option<f64>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    pattern: Option<(String, regex_lite::Regex)>,
    items: Option<Node>,
    min_items: Option<u64>,
    max_items: Option<u64>,
    unique_items: bool,
    properties: Vec<(String, Node)>,
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
            root: compile(schema, "", 0)?,
        })
    }

    /// Checks `value`, naming it `root` in the violations' paths; at most
    /// `MAX_VIOLATIONS` are reported.
    pub fn check(&self, value: &Value, root: &str) -> Result<(), Vec<Violation>> {
        let mut check = Check {
            violations: Vec::new(),
            steps: 0,
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

fn schema_error(path: &str, message: impl Into<String>) -> SchemaError {
    SchemaError {
        path: path.to_owned(),
        message: message.into(),
    }
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn compile(schema: &Value, path: &str, depth: usize) -> Result<Node, SchemaError> {
    if depth > MAX_DEPTH {
        return Err(schema_error(
            path,
            format!("schemas nest at most {MAX_DEPTH} deep"),
        ));
    }
    let object = match schema {
        Value::Bool(true) => return Ok(Node::Any),
        Value::Bool(false) => return Ok(Node::Never),
        Value::Object(object) => object,
        _ => return Err(schema_error(path, "a schema is an object, true or false")),
    };
    let mut rules = Rules::default();
    let mut constrained = false;
    for (key, value) in object {
        let at = child(path, key);
        constrained |= !is_annotation(key);
        match key.as_str() {
            "$schema" | "$id" | "$comment" | "title" | "description" | "format" => {
                if !value.is_string() {
                    return Err(schema_error(&at, "must be a string"));
                }
            }
            "default" => {}
            "examples" => {
                if !value.is_array() {
                    return Err(schema_error(&at, "must be an array"));
                }
            }
            "deprecated" | "readOnly" | "writeOnly" => {
                if !value.is_boolean() {
                    return Err(schema_error(&at, "must be true or false"));
                }
            }
            "type" => rules.types = Some(types(value, &at)?),
            "enum" => match value {
                Value::Array(values) if !values.is_empty() => {
                    rules.one_value_of = Some(values.clone());
                }
                _ => return Err(schema_error(&at, "must be an array of at least one value")),
            },
            "const" => rules.constant = Some(value.clone()),
            "minimum" => rules.minimum = Some(number(value, &at)?),
            "maximum" => rules.maximum = Some(number(value, &at)?),
            "exclusiveMinimum" => rules.exclusive_minimum = Some(number(value, &at)?),
            "exclusiveMaximum" => rules.exclusive_maximum = Some(number(value, &at)?),
            "multipleOf" => {
                let step = number(value, &at)?;
                if step <= 0.0 {
                    return Err(schema_error(&at, "must be greater than 0"));
                }
                rules.multiple_of = Some(step);
            }
            "minLength" => rules.min_length = Some(count(value, &at)?),
            "maxLength" => rules.max_length = Some(count(value, &at)?),
            "pattern" => {
                let Some(text) = value.as_str() else {
                    return Err(schema_error(&at, "must be a string"));
                };
                if text.chars().count() > MAX_PATTERN_CHARS {
                    return Err(schema_error(
                        &at,
                        format!("must be at most {MAX_PATTERN_CHARS} characters"),
                    ));
                }
                let regex = regex_lite::Regex::new(text).map_err(|error| {
                    schema_error(&at, format!("is not a regular expression: {error}"))
                })?;
                rules.pattern = Some((text.to_owned(), regex));
            }
            "items" => {
                if value.is_array() {
                    return Err(schema_error(
                        &at,
                        "must be one schema for every item (a list of schemas per position \
                         is not supported)",
                    ));
                }
                rules.items = Some(compile(value, &at, depth + 1)?);
            }
            "minItems" => rules.min_items = Some(count(value, &at)?),
            "maxItems" => rules.max_items = Some(count(value, &at)?),
            "uniqueItems" => {
                rules.unique_items = value
                    .as_bool()
                    .ok_or_else(|| schema_error(&at, "must be true or false"))?;
            }
            "properties" => {
                let Value::Object(properties) = value else {
                    return Err(schema_error(&at, "must be an object of schemas"));
                };
                for (name, property) in properties {
                    let property_path = child(&at, name);
                    rules
                        .properties
                        .push((name.clone(), compile(property, &property_path, depth + 1)?));
                }
            }
            "required" => {
                let names = value
                    .as_array()
                    .filter(|names| names.iter().all(Value::is_string))
                    .ok_or_else(|| schema_error(&at, "must be an array of property names"))?;
                rules.required = names
                    .iter()
                    .filter_map(|name| name.as_str().map(str::to_owned))
                    .collect();
            }
            "additionalProperties" => {
                rules.additional = Some(compile(value, &at, depth + 1)?);
            }
            "minProperties" => rules.min_properties = Some(count(value, &at)?),
            "maxProperties" => rules.max_properties = Some(count(value, &at)?),
            "allOf" => rules.all_of = schemas(value, &at, depth)?,
            "anyOf" => rules.any_of = schemas(value, &at, depth)?,
            "oneOf" => rules.one_of = schemas(value, &at, depth)?,
            "$ref"
            | "$defs"
            | "definitions"
            | "not"
            | "if"
            | "then"
            | "else"
            | "prefixItems"
            | "contains"
            | "minContains"
            | "maxContains"
            | "patternProperties"
            | "dependentRequired"
            | "dependentSchemas"
            | "propertyNames"
            | "unevaluatedItems"
            | "unevaluatedProperties"
            | "additionalItems"
            | "dependencies"
            | "$anchor"
            | "$dynamicRef"
            | "$dynamicAnchor"
            | "$vocabulary" => {
                return Err(schema_error(
                    &at,
                    format!("`{key}` is not in the supported subset of JSON Schema"),
                ));
            }
            other => {
                return Err(schema_error(
                    &at,
                    format!("`{other}` is not a keyword of the supported subset of JSON Schema"),
                ));
            }
        }
    }
    Ok(if constrained {
        Node::Rules(Box::new(rules))
    } else {
        Node::Any
    })
}

fn is_annotation(key: &str) -> bool {
    matches!(
        key,
        "$schema"
            | "$id"
            | "$comment"
            | "title"
            | "description"
            | "format"
            | "default"
            | "examples"
            | "deprecated"
            | "readOnly"
            | "writeOnly"
    )
}

fn types(value: &Value, at: &str) -> Result<Vec<Kind>, SchemaError> {
    let names: Vec<&Value> = match value {
        Value::String(_) => vec![value],
        Value::Array(names) if !names.is_empty() => names.iter().collect(),
        _ => return Err(schema_error(at, "must be a type name or a list of them")),
    };
    names
        .into_iter()
        .map(|name| {
            name.as_str().and_then(Kind::parse).ok_or_else(|| {
                schema_error(
                    at,
                    "each type is one of null, boolean, object, array, number, integer, string",
                )
            })
        })
        .collect()
}

fn number(value: &Value, at: &str) -> Result<f64, SchemaError> {
    value
        .as_f64()
        .ok_or_else(|| schema_error(at, "must be a number"))
}

fn count(value: &Value, at: &str) -> Result<u64, SchemaError> {
    value
        .as_u64()
        .ok_or_else(|| schema_error(at, "must be a whole number, 0 or more"))
}

fn schemas(value: &Value, at: &str, depth: usize) -> Result<Vec<Node>, SchemaError> {
    let Value::Array(list) = value else {
        return Err(schema_error(at, "must be an array of schemas"));
    };
    if list.is_empty() {
        return Err(schema_error(at, "must be an array of at least one schema"));
    }
    list.iter()
        .enumerate()
        .map(|(n, schema)| compile(schema, &format!("{at}[{n}]"), depth + 1))
        .collect()
}

/// JSON equality as JSON Schema means it: numbers by value (`1` is `1.0`).
pub fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => match (x.as_u64(), y.as_u64()) {
                (Some(x), Some(y)) => x == y,
                _ => x.as_f64() == y.as_f64(),
            },
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_equal(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(key, x)| y.get(key).is_some_and(|y| json_equal(x, y)))
        }
        _ => a == b,
    }
}

/// The path of property `name` under `path`: `a.b`, or `a["b c"]` when the
/// name is not a plain identifier.
fn property_path(path: &str, name: &str) -> String {
    let plain = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        format!("{path}.{name}")
    } else {
        format!(
            "{path}[{}]",
            serde_json::to_string(name).unwrap_or_default()
        )
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 40 {
        format!("{}…", text.chars().take(40).collect::<String>())
    } else {
        text
    }
}

fn kinds(types: &[Kind]) -> String {
    let names: Vec<&str> = types.iter().map(|kind| kind.name()).collect();
    match names.as_slice() {
        [one] => format!(
            "a{} {one}",
            if one.starts_with(['a', 'i', 'o']) {
                "n"
            } else {
                ""
            }
        ),
        _ => format!("one of {}", names.join(", ")),
    }
}

struct Check {
    violations: Vec<Violation>,
    steps: usize,
}

impl Check {
    fn fail(&mut self, path: &str, message: impl Into<String>) {
        if self.violations.len() < MAX_VIOLATIONS {
            self.violations.push(Violation {
                path: path.to_owned(),
                message: message.into(),
            });
        }
    }

    /// Whether `value` meets `node`, without recording why not.
    fn meets(&mut self, node: &Node, value: &Value, path: &str) -> bool {
        let mut quiet = Check {
            violations: Vec::new(),
            steps: self.steps,
        };
        quiet.node(node, value, path);
        self.steps = quiet.steps;
        quiet.violations.is_empty()
    }

    fn node(&mut self, node: &Node, value: &Value, path: &str) {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return;
        }
        match node {
            Node::Any => {}
            Node::Never => self.fail(path, "is not allowed here"),
            Node::Rules(rules) => self.rules(rules, value, path),
        }
    }

    fn rules(&mut self, rules: &Rules, value: &Value, path: &str) {
        if let Some(types) = &rules.types
            && !types.iter().any(|kind| kind.admits(value))
        {
            self.fail(path, format!("must be {}", kinds(types)));
            return;
        }
        if let Some(values) = &rules.one_value_of
            && !values.iter().any(|allowed| json_equal(allowed, value))
        {
            let listed: Vec<String> = values.iter().take(10).map(short).collect();
            let more = if values.len() > 10 { ", …" } else { "" };
            self.fail(path, format!("must be one of {}{more}", listed.join(", ")));
        }
        if let Some(constant) = &rules.constant
            && !json_equal(constant, value)
        {
            self.fail(path, format!("must be {}", short(constant)));
        }
        match value {
            Value::Number(number) => self.number(rules, number, path),
            Value::String(text) => self.string(rules, text, path),
            Value::Array(items) => self.array(rules, items, path),
            Value::Object(object) => self.object(rules, object, path),
            Value::Null | Value::Bool(_) => {}
        }
        for node in &rules.all_of {
            self.node(node, value, path);
        }
        if !rules.any_of.is_empty() {
            let met = rules
                .any_of
                .iter()
                .any(|node| self.meets(node, value, path));
            if !met {
                self.fail(path, "must match at least one of the schemas in anyOf");
            }
        }
        if !rules.one_of.is_empty() {
            let met = rules
                .one_of
                .iter()
                .filter(|node| self.meets(node, value, path))
                .count();
            if met != 1 {
                self.fail(
                    path,
                    format!("must match exactly one of the schemas in oneOf (matches {met})"),
                );
            }
        }
    }

    fn number(&mut self, rules: &Rules, number: &serde_json::Number, path: &str) {
        let Some(n) = number.as_f64() else {
            return;
        };
        if let Some(minimum) = rules.minimum
            && n < minimum
        {
            self.fail(path, format!("must be at least {minimum}"));
        }
        if let Some(maximum) = rules.maximum
            && n > maximum
        {
            self.fail(path, format!("must be at most {maximum}"));
        }
        if let Some(minimum) = rules.exclusive_minimum
            && n <= minimum
        {
            self.fail(path, format!("must be greater than {minimum}"));
        }
        if let Some(maximum) = rules.exclusive_maximum
            && n >= maximum
        {
            self.fail(path, format!("must be less than {maximum}"));
        }
        if let Some(step) = rules.multiple_of {
            let quotient = n / step;
            // Within rounding: 0.3 is a multiple of 0.1.
            if !quotient.is_finite() || (quotient - quotient.round()).abs() > 1e-9 {
                self.fail(path, format!("must be a multiple of {step}"));
            }
        }
    }

    fn string(&mut self, rules: &Rules, text: &str, path: &str) {
        let length = text.chars().count() as u64;
        if let Some(minimum) = rules.min_length
            && length < minimum
        {
            self.fail(
                path,
                format!(
                    "must be at least {minimum} character{}",
                    if minimum == 1 { "" } else { "s" }
                ),
            );
        }
        if let Some(maximum) = rules.max_length
            && length > maximum
        {
            self.fail(
                path,
                format!(
                    "must be at most {maximum} character{}",
                    if maximum == 1 { "" } else { "s" }
                ),
            );
        }
        if let Some((pattern, regex)) = &rules.pattern
            && !regex.is_match(text)
        {
            self.fail(path, format!("must match the pattern {pattern}"));
        }
    }

    fn array(&mut self, rules: &Rules, items: &[Value], path: &str) {
        let length = items.len() as u64;
        if let Some(minimum) = rules.min_items
            && length < minimum
        {
            self.fail(
                path,
                format!(
                    "must have at least {minimum} item{}",
                    if minimum == 1 { "" } else { "s" }
                ),
            );
        }
        if let Some(maximum) = rules.max_items
            && length > maximum
        {
            self.fail(
                path,
                format!(
                    "must have at most {maximum} item{}",
                    if maximum == 1 { "" } else { "s" }
                ),
            );
        }
        if rules.unique_items {
            'outer: for (i, a) in items.iter().enumerate() {
                for b in &items[..i] {
                    self.steps += 1;
                    if self.steps > MAX_STEPS {
                        return;
                    }
                    if json_equal(a, b) {
                        self.fail(&format!("{path}[{i}]"), "repeats an earlier item");
                        break 'outer;
                    }
                }
            }
        }
        if let Some(node) = &rules.items {
            for (i, item) in items.iter().enumerate() {
                self.node(node, item, &format!("{path}[{i}]"));
            }
        }
    }

    fn object(&mut self, rules: &Rules, object: &Map<String, Value>, path: &str) {
        for name in &rules.required {
            if !object.contains_key(name) {
                self.fail(&property_path(path, name), "is required");
            }
        }
        let length = object.len() as u64;
        if let Some(minimum) = rules.min_properties
            && length < minimum
        {
            self.fail(path, format!("must have at least {minimum} properties"));
        }
        if let Some(maximum) = rules.max_properties
            && length > maximum
        {
            self.fail(path, format!("must have at most {maximum} properties"));
        }
        for (name, value) in object {
            let at = property_path(path, name);
            match rules.properties.iter().find(|(known, _)| known == name) {
                Some((_, node)) => self.node(node, value, &at),
                None => match &rules.additional {
                    Some(Node::Never) => self.fail(&at, "is not a property this schema allows"),
                    Some(node) => self.node(node, value, &at),
                    None => {}
                },
            }
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
        // alternatives walks 5,000 items (2 million visits).
        let branch = json!({"type": "array", "items": {"type": "integer"}, "minItems": 6000});
        let schema = json!({"anyOf": vec![branch; 400]});
        let value = json!(vec![1; 5000]);
        let compiled = Schema::compile(&schema).expect("compiles");
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
