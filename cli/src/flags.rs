//! `agentdeck run <deployment> -- --name Ada --count 3`: an agent's input
//! from flags made from its input schema. Each top-level property is a
//! flag (`max_items` and `maxItems` are also `--max-items`), its value read
//! as the property's type: text as it is, numbers and booleans parsed
//! (`--flag` alone is true, `--no-flag` false), arrays by repeating the
//! flag (or one JSON array), objects as JSON.

use serde_json::{Map, Value};

/// A property of the schema, as a flag.
struct Flag<'a> {
    name: String,
    property: &'a str,
    schema: &'a Value,
    required: bool,
}

/// `maxItems` or `max_items` as `max-items`.
fn kebab(property: &str) -> String {
    let mut name = String::new();
    for (i, c) in property.chars().enumerate() {
        if c == '_' || c == ' ' {
            name.push('-');
        } else if c.is_uppercase() {
            if i > 0 && !name.ends_with('-') {
                name.push('-');
            }
            name.extend(c.to_lowercase());
        } else {
            name.push(c);
        }
    }
    name
}

fn flags(schema: &Value) -> Result<Vec<Flag<'_>>, String> {
    let properties = schema["properties"]
        .as_object()
        .filter(|properties| !properties.is_empty())
        .ok_or("the agent's input schema names no properties to make flags from; use --input")?;
    let required: Vec<&str> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    Ok(properties
        .iter()
        .map(|(property, schema)| Flag {
            name: kebab(property),
            property,
            schema,
            required: required.contains(&property.as_str()),
        })
        .collect())
}

/// The property's type, the first that is not `null`.
fn kind(schema: &Value) -> Option<&str> {
    match &schema["type"] {
        Value::String(kind) => Some(kind),
        Value::Array(kinds) => kinds
            .iter()
            .filter_map(Value::as_str)
            .find(|k| *k != "null"),
        _ => None,
    }
}

fn read(flag: &Flag<'_>, schema: &Value, text: &str) -> Result<Value, String> {
    let bad = |what: &str| format!("--{}: {text:?} is not {what}", flag.name);
    match kind(schema) {
        Some("string") => Ok(Value::from(text)),
        Some("integer") => text
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| bad("a whole number")),
        Some("number") => text
            .parse::<f64>()
            .ok()
            .and_then(|n| serde_json::Number::from_f64(n).map(Value::Number))
            .ok_or_else(|| bad("a number")),
        Some("boolean") => match text {
            "true" | "yes" | "1" => Ok(Value::Bool(true)),
            "false" | "no" | "0" => Ok(Value::Bool(false)),
            _ => Err(bad("true or false")),
        },
        Some("object") => serde_json::from_str(text).map_err(|_| bad("a JSON object")),
        // No type named: JSON when it reads as JSON, else the text.
        _ => Ok(serde_json::from_str(text).unwrap_or_else(|_| Value::from(text))),
    }
}

/// The input made from `args` over `base` (an object from --input, or an
/// empty one).
pub fn input(schema: &Value, base: Value, args: &[String]) -> Result<Value, String> {
    let flags = flags(schema)?;
    let mut input = match base {
        Value::Object(fields) => fields,
        Value::Null => Map::new(),
        _ => return Err("flags add fields to an object; --input is not one".to_owned()),
    };
    let mut arrays: Map<String, Value> = Map::new();
    let mut args = args.iter().peekable();
    while let Some(arg) = args.next() {
        let word = arg
            .strip_prefix("--")
            .ok_or_else(|| format!("{arg:?} is not a flag; flags look like --name value"))?;
        let (word, inline) = match word.split_once('=') {
            Some((word, value)) => (word, Some(value.to_owned())),
            None => (word, None),
        };
        let (flag, negated) = match flags.iter().find(|flag| flag.name == word) {
            Some(flag) => (flag, false),
            None => match word
                .strip_prefix("no-")
                .and_then(|word| flags.iter().find(|flag| flag.name == word))
            {
                Some(flag) if kind(flag.schema) == Some("boolean") && inline.is_none() => {
                    (flag, true)
                }
                _ => {
                    let known: Vec<String> = flags
                        .iter()
                        .map(|flag| format!("--{}", flag.name))
                        .collect();
                    return Err(format!(
                        "--{word} is not in the agent's input schema; its flags: {}",
                        known.join(", ")
                    ));
                }
            },
        };
        if negated {
            input.insert(flag.property.to_owned(), Value::Bool(false));
            continue;
        }
        let boolean = kind(flag.schema) == Some("boolean");
        let text = match inline {
            Some(text) => text,
            None if boolean && args.peek().is_none_or(|next| next.starts_with("--")) => {
                "true".to_owned()
            }
            None => args
                .next()
                .cloned()
                .ok_or_else(|| format!("--{} needs a value", flag.name))?,
        };
        if kind(flag.schema) == Some("array") {
            let items = arrays
                .entry(flag.property.to_owned())
                .or_insert_with(|| Value::Array(Vec::new()));
            let Value::Array(items) = items else {
                continue;
            };
            match serde_json::from_str::<Value>(&text) {
                Ok(Value::Array(many)) if text.trim_start().starts_with('[') => items.extend(many),
                _ => items.push(read(flag, &flag.schema["items"], &text)?),
            }
        } else {
            input.insert(flag.property.to_owned(), read(flag, flag.schema, &text)?);
        }
    }
    input.extend(arrays);
    Ok(Value::Object(input))
}

/// `text` without control characters: a schema's words come from its
/// agent's author and must not drive the terminal.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The flags, one per line, for `agentdeck run <deployment> --flags`.
pub fn describe(schema: &Value) -> Result<String, String> {
    let mut lines = Vec::new();
    for flag in flags(schema)? {
        let kind = match kind(flag.schema) {
            Some("array") => format!(
                "{}, repeatable",
                kind(&flag.schema["items"]).unwrap_or("value")
            ),
            Some(kind) => kind.to_owned(),
            None => "JSON".to_owned(),
        };
        let mut line = format!("  --{} <{kind}>", printable(&flag.name));
        if let Some(choices) = flag.schema["enum"].as_array() {
            let choices: Vec<String> = choices.iter().map(ToString::to_string).collect();
            line.push_str(&format!(" one of {}", printable(&choices.join(", "))));
        }
        if let Some(text) = flag.schema["description"].as_str() {
            line.push_str(&format!("  {}", printable(text)));
        }
        if flag.required {
            line.push_str(" (required)");
        }
        lines.push(line);
    }
    Ok(lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "name": { "type": "string", "description": "Who to greet" },
                "count": { "type": "integer" },
                "ratio": { "type": "number" },
                "loud": { "type": "boolean" },
                "tags": { "type": "array", "items": { "type": "string" } },
                "sizes": { "type": "array", "items": { "type": "integer" } },
                "options": { "type": "object" },
                "maxItems": { "type": ["integer", "null"] },
                "free_form": {}
            },
            "required": ["name"]
        })
    }

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|word| (*word).to_owned()).collect()
    }

    #[test]
    fn flags_are_read_as_their_properties_types() {
        let made = input(
            &schema(),
            Value::Null,
            &args(&[
                "--name",
                "Ada",
                "--count",
                "3",
                "--ratio=0.5",
                "--loud",
                "--tags",
                "a",
                "--tags",
                "b",
                "--sizes",
                "[1, 2]",
                "--options",
                r#"{"x":1}"#,
                "--max-items",
                "7",
                "--free-form",
                "[true]",
            ]),
        )
        .expect("input");
        assert_eq!(
            made,
            json!({
                "name": "Ada", "count": 3, "ratio": 0.5, "loud": true, "tags": ["a", "b"],
                "sizes": [1, 2], "options": {"x": 1}, "maxItems": 7, "free_form": [true]
            })
        );
    }

    #[test]
    fn booleans_take_no_and_explicit_values_and_flags_override_the_base() {
        let base = json!({ "name": "Grace", "loud": true, "kept": 1 });
        let made = input(&schema(), base, &args(&["--no-loud", "--name", "Ada"])).expect("input");
        assert_eq!(made, json!({ "name": "Ada", "loud": false, "kept": 1 }));
        let made = input(&schema(), Value::Null, &args(&["--loud", "false"])).expect("input");
        assert_eq!(made, json!({ "loud": false }));
    }

    #[test]
    fn mistakes_name_the_flag_and_what_was_expected() {
        let error = input(&schema(), Value::Null, &args(&["--count", "three"])).unwrap_err();
        assert!(
            error.contains("--count") && error.contains("whole number"),
            "{error}"
        );
        let error = input(&schema(), Value::Null, &args(&["--colour", "red"])).unwrap_err();
        assert!(
            error.contains("--colour") && error.contains("--name"),
            "{error}"
        );
        let error = input(&schema(), Value::Null, &args(&["--name"])).unwrap_err();
        assert!(error.contains("needs a value"), "{error}");
        let error = input(&schema(), Value::Null, &args(&["Ada"])).unwrap_err();
        assert!(error.contains("not a flag"), "{error}");
        let error = input(
            &json!({ "type": "string" }),
            Value::Null,
            &args(&["--x", "1"]),
        )
        .unwrap_err();
        assert!(error.contains("no properties"), "{error}");
    }

    #[test]
    fn the_description_lists_each_flag() {
        let text = describe(&schema()).expect("described");
        assert!(
            text.contains("--name <string>  Who to greet (required)"),
            "{text}"
        );
        assert!(text.contains("--tags <string, repeatable>"), "{text}");
        assert!(text.contains("--max-items <integer>"), "{text}");
        let hostile = json!({
            "type": "object",
            "properties": { "x\u{1b}[2J": { "type": "string", "description": "\u{1b}]52;c;bad\u{7}" } }
        });
        let text = describe(&hostile).expect("described");
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "{text:?}"
        );
    }
}
