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
use serde_json::{Map, Number, Value};

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

fn compile(
    schema: &Value,
    path: &str,
    depth: usize,
    patterns: &mut usize,
) -> Result<Node, SchemaError> {
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
                if step.as_f64().is_none_or(|step| step <= 0.0) {
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
                *patterns += 1;
                if *patterns > MAX_PATTERNS {
                    return Err(schema_error(
                        &at,
                        format!("a schema has at most {MAX_PATTERNS} patterns"),
                    ));
                }
                let (weight, regex) = weighed(text).map_err(|error| {
                    schema_error(&at, format!("is not a regular expression: {error}"))
                })?;
                rules.pattern = Some((text.to_owned(), weight, regex));
            }
            "items" => {
                if value.is_array() {
                    return Err(schema_error(
                        &at,
                        "must be one schema for every item (a list of schemas per position \
                         is not supported)",
                    ));
                }
                rules.items = Some(compile(value, &at, depth + 1, patterns)?);
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
                    let node = compile(property, &property_path, depth + 1, patterns)?;
                    rules.properties.insert(name.clone(), node);
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
                rules.additional = Some(compile(value, &at, depth + 1, patterns)?);
            }
            "minProperties" => rules.min_properties = Some(count(value, &at)?),
            "maxProperties" => rules.max_properties = Some(count(value, &at)?),
            "allOf" => rules.all_of = schemas(value, &at, depth, patterns)?,
            "anyOf" => rules.any_of = schemas(value, &at, depth, patterns)?,
            "oneOf" => rules.one_of = schemas(value, &at, depth, patterns)?,
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

fn number(value: &Value, at: &str) -> Result<Number, SchemaError> {
    match value {
        Value::Number(number) => Ok(number.clone()),
        _ => Err(schema_error(at, "must be a number")),
    }
}

/// A count: a whole number, 0 or more (`2.0` is one, as JSON Schema says).
fn count(value: &Value, at: &str) -> Result<u64, SchemaError> {
    let whole = value.as_u64().or_else(|| {
        value
            .as_f64()
            .filter(|n| *n >= 0.0 && n.fract() == 0.0 && *n < 1.8e19)
            .map(|n| n as u64)
    });
    whole.ok_or_else(|| schema_error(at, "must be a whole number, 0 or more"))
}

/// A pattern compiled, with what matching it costs per byte of text, in
/// steps: one per 16 characters of a small pattern, more for one whose
/// compiled program is large (a counted repetition like `(a{200}){1000}`
/// makes a short pattern large), which it learns by compiling within ever
/// larger limits.
fn weighed(pattern: &str) -> Result<(usize, regex_lite::Regex), regex_lite::Error> {
    let small = (pattern.len() / PATTERN_CHARS_PER_STEP).max(1);
    for (limit, weight) in [(1 << 10, small), (8 << 10, 16)] {
        if let Ok(regex) = regex_lite::RegexBuilder::new(pattern)
            .size_limit(limit)
            .build()
        {
            return Ok((weight.max(small), regex));
        }
    }
    let regex = regex_lite::RegexBuilder::new(pattern)
        .size_limit(MAX_PATTERN_BYTES)
        .build()?;
    Ok((64.max(small), regex))
}

fn schemas(
    value: &Value,
    at: &str,
    depth: usize,
    patterns: &mut usize,
) -> Result<Vec<Node>, SchemaError> {
    let Value::Array(list) = value else {
        return Err(schema_error(at, "must be an array of schemas"));
    };
    if list.is_empty() {
        return Err(schema_error(at, "must be an array of at least one schema"));
    }
    list.iter()
        .enumerate()
        .map(|(n, schema)| compile(schema, &format!("{at}[{n}]"), depth + 1, patterns))
        .collect()
}

/// JSON equality as JSON Schema means it: numbers by value (`1` is `1.0`).
pub fn json_equal(a: &Value, b: &Value) -> bool {
    equal(a, b, &mut 0)
}

/// `json_equal`, counting the values it compares in `steps`.
fn equal(a: &Value, b: &Value, steps: &mut usize) -> bool {
    *steps += 1;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => compare(x, y) == Some(std::cmp::Ordering::Equal),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| equal(x, y, steps))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(key, x)| y.get(key).is_some_and(|y| equal(x, y, steps)))
        }
        _ => a == b,
    }
}

/// A number as an exact integer, if it is one within i128.
fn exact(number: &Number) -> Option<i128> {
    number
        .as_i64()
        .map(i128::from)
        .or_else(|| number.as_u64().map(i128::from))
}

/// Two numbers in order: exactly when both are integers, else as f64.
fn compare(a: &Number, b: &Number) -> Option<std::cmp::Ordering> {
    match (exact(a), exact(b)) {
        (Some(a), Some(b)) => Some(a.cmp(&b)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

/// Whether `n` is a multiple of `step`: exactly for integers, else as
/// Python's `jsonschema` and ajv decide (the quotient has no fraction).
fn multiple(n: &Number, step: &Number) -> bool {
    if let (Some(n), Some(step)) = (exact(n), exact(step))
        && step != 0
    {
        return n % step == 0;
    }
    match (n.as_f64(), step.as_f64()) {
        (Some(n), Some(step)) => {
            let quotient = n / step;
            quotient.is_finite() && quotient.fract() == 0.0
        }
        _ => false,
    }
}

/// The longest property name shown whole in a path.
const MAX_NAME_CHARS: usize = 64;

/// The path of property `name` under `path`: `a.b`, or `a["b c"]` when the
/// name is not a plain identifier; a long name is cut.
fn property_path(path: &str, name: &str) -> String {
    let plain = !name.is_empty()
        && name.len() <= MAX_NAME_CHARS
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        format!("{path}.{name}")
    } else {
        let shown: String = name.chars().take(MAX_NAME_CHARS).collect();
        let cut = if shown.len() < name.len() { "…" } else { "" };
        format!(
            "{path}[{}{cut}]",
            serde_json::to_string(&shown).unwrap_or_default()
        )
    }
}

/// A writer that keeps at most its capacity and then refuses more.
struct Capped(Vec<u8>, usize);

impl std::io::Write for Capped {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let room = self.1.saturating_sub(self.0.len());
        if room == 0 {
            return Err(std::io::Error::other("full"));
        }
        let taken = bytes.len().min(room);
        self.0.extend_from_slice(&bytes[..taken]);
        Ok(taken)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A value as JSON, cut after 40 bytes (never written whole).
fn short(value: &Value) -> String {
    const SHOWN: usize = 40;
    let mut out = Capped(Vec::new(), SHOWN + 1);
    let _ = serde_json::to_writer(&mut out, value);
    let mut text = String::from_utf8_lossy(&out.0).into_owned();
    if out.0.len() > SHOWN {
        let mut end = SHOWN;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
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

fn plural(n: u64, one: &str) -> String {
    format!("{n} {one}{}", if n == 1 { "" } else { "s" })
}

struct Check {
    violations: Vec<Violation>,
    steps: usize,
    /// Only whether the value meets the schema matters (inside `anyOf`,
    /// `oneOf`): no messages or paths are made.
    quiet: bool,
}

impl Check {
    fn over_budget(&self) -> bool {
        self.steps > MAX_STEPS
    }

    /// Records a violation at `path`; the message is made only if it is
    /// kept.
    fn fail(&mut self, path: &str, message: impl FnOnce() -> String) {
        if self.quiet {
            if self.violations.is_empty() {
                self.violations.push(Violation {
                    path: String::new(),
                    message: String::new(),
                });
            }
        } else if self.violations.len() < MAX_VIOLATIONS {
            self.violations.push(Violation {
                path: path.to_owned(),
                message: message(),
            });
        }
    }

    /// A child's path (none while quiet).
    fn at(&self, path: &str, child: impl FnOnce(&str) -> String) -> String {
        if self.quiet {
            String::new()
        } else {
            child(path)
        }
    }

    /// Whether `value` meets `node`, without recording why not.
    fn meets(&mut self, node: &Node, value: &Value) -> bool {
        let mut quiet = Check {
            violations: Vec::new(),
            steps: self.steps,
            quiet: true,
        };
        quiet.node(node, value, "");
        self.steps = quiet.steps;
        quiet.violations.is_empty()
    }

    fn node(&mut self, node: &Node, value: &Value, path: &str) {
        self.steps += 1;
        if self.over_budget() {
            return;
        }
        match node {
            Node::Any => {}
            Node::Never => self.fail(path, || "is not allowed here".to_owned()),
            Node::Rules(rules) => self.rules(rules, value, path),
        }
    }

    fn rules(&mut self, rules: &Rules, value: &Value, path: &str) {
        if let Some(types) = &rules.types
            && !types.iter().any(|kind| kind.admits(value))
        {
            self.fail(path, || format!("must be {}", kinds(types)));
            return;
        }
        if let Some(values) = &rules.one_value_of {
            let mut steps = 0;
            let found = values
                .iter()
                .any(|allowed| equal(allowed, value, &mut steps));
            self.steps += steps;
            if !found {
                self.fail(path, || {
                    let listed: Vec<String> = values.iter().take(10).map(short).collect();
                    let more = if values.len() > 10 { ", …" } else { "" };
                    format!("must be one of {}{more}", listed.join(", "))
                });
            }
        }
        if let Some(constant) = &rules.constant {
            let mut steps = 0;
            let same = equal(constant, value, &mut steps);
            self.steps += steps;
            if !same {
                self.fail(path, || format!("must be {}", short(constant)));
            }
        }
        if self.over_budget() {
            return;
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
            let met = rules.any_of.iter().any(|node| self.meets(node, value));
            if !met {
                self.fail(path, || {
                    "must match at least one of the schemas in anyOf".to_owned()
                });
            }
        }
        if !rules.one_of.is_empty() {
            let met = rules
                .one_of
                .iter()
                .filter(|node| self.meets(node, value))
                .count();
            if met != 1 {
                self.fail(path, || {
                    format!("must match exactly one of the schemas in oneOf (matches {met})")
                });
            }
        }
    }

    fn number(&mut self, rules: &Rules, number: &Number, path: &str) {
        use std::cmp::Ordering::{Greater, Less};
        let order = |bound: &Option<Number>| bound.as_ref().and_then(|b| compare(number, b));
        if let Some(Less) = order(&rules.minimum) {
            self.fail(path, || {
                format!(
                    "must be at least {}",
                    rules
                        .minimum
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default()
                )
            });
        }
        if let Some(Greater) = order(&rules.maximum) {
            self.fail(path, || {
                format!(
                    "must be at most {}",
                    rules
                        .maximum
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default()
                )
            });
        }
        if order(&rules.exclusive_minimum).is_some_and(|o| o != Greater) {
            self.fail(path, || {
                format!(
                    "must be greater than {}",
                    rules
                        .exclusive_minimum
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default()
                )
            });
        }
        if order(&rules.exclusive_maximum).is_some_and(|o| o != Less) {
            self.fail(path, || {
                format!(
                    "must be less than {}",
                    rules
                        .exclusive_maximum
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default()
                )
            });
        }
        if let Some(step) = &rules.multiple_of
            && !multiple(number, step)
        {
            self.fail(path, || format!("must be a multiple of {step}"));
        }
    }

    fn string(&mut self, rules: &Rules, text: &str, path: &str) {
        if rules.min_length.is_some() || rules.max_length.is_some() {
            self.steps += text.len() / 64;
            let length = text.chars().count() as u64;
            if let Some(minimum) = rules.min_length
                && length < minimum
            {
                self.fail(path, || {
                    format!("must be at least {}", plural(minimum, "character"))
                });
            }
            if let Some(maximum) = rules.max_length
                && length > maximum
            {
                self.fail(path, || {
                    format!("must be at most {}", plural(maximum, "character"))
                });
            }
        }
        if let Some((pattern, weight, regex)) = &rules.pattern {
            // Matching takes time in the text's length times the
            // pattern's size: counted against the budget like visits.
            self.steps += text.len().saturating_mul(*weight);
            if self.over_budget() {
                return;
            }
            if !regex.is_match(text) {
                self.fail(path, || format!("must match the pattern {pattern}"));
            }
        }
    }

    fn array(&mut self, rules: &Rules, items: &[Value], path: &str) {
        let length = items.len() as u64;
        if let Some(minimum) = rules.min_items
            && length < minimum
        {
            self.fail(path, || {
                format!("must have at least {}", plural(minimum, "item"))
            });
        }
        if let Some(maximum) = rules.max_items
            && length > maximum
        {
            self.fail(path, || {
                format!("must have at most {}", plural(maximum, "item"))
            });
        }
        if rules.unique_items {
            'outer: for (i, a) in items.iter().enumerate() {
                for b in &items[..i] {
                    let mut steps = 0;
                    let same = equal(a, b, &mut steps);
                    self.steps += steps;
                    if self.over_budget() {
                        return;
                    }
                    if same {
                        let at = self.at(path, |path| format!("{path}[{i}]"));
                        self.fail(&at, || "repeats an earlier item".to_owned());
                        break 'outer;
                    }
                }
            }
        }
        if let Some(node) = &rules.items {
            for (i, item) in items.iter().enumerate() {
                let at = self.at(path, |path| format!("{path}[{i}]"));
                self.node(node, item, &at);
                if self.over_budget() {
                    return;
                }
            }
        }
    }

    fn object(&mut self, rules: &Rules, object: &Map<String, Value>, path: &str) {
        self.steps += rules.required.len();
        for name in &rules.required {
            if !object.contains_key(name) {
                let at = self.at(path, |path| property_path(path, name));
                self.fail(&at, || "is required".to_owned());
                if self.quiet {
                    return;
                }
            }
        }
        let length = object.len() as u64;
        if let Some(minimum) = rules.min_properties
            && length < minimum
        {
            self.fail(path, || {
                format!("must have at least {}", plural(minimum, "property"))
            });
        }
        if let Some(maximum) = rules.max_properties
            && length > maximum
        {
            self.fail(path, || {
                format!("must have at most {}", plural(maximum, "property"))
            });
        }
        if rules.properties.is_empty() && rules.additional.is_none() {
            return;
        }
        for (name, value) in object {
            self.steps += 1;
            if self.over_budget() {
                return;
            }
            let node = match rules.properties.get(name) {
                Some(node) => node,
                None => match &rules.additional {
                    Some(node) => node,
                    None => continue,
                },
            };
            let at = self.at(path, |path| property_path(path, name));
            if matches!(node, Node::Never) && !rules.properties.contains_key(name) {
                self.fail(&at, || "is not a property this schema allows".to_owned());
            } else {
                self.node(node, value, &at);
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
