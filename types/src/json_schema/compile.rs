//! Compiling a schema: each keyword of the subset read and checked for
//! shape, anything else refused by name with its path in the schema.

use serde_json::{Number, Value};

use super::{
    Kind, MAX_DEPTH, MAX_PATTERN_BYTES, MAX_PATTERN_CHARS, MAX_PATTERNS, Node,
    PATTERN_CHARS_PER_STEP, Rules, SchemaError,
};

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

pub(super) fn compile(
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
