//! Checking a value against a compiled schema: each violation with its
//! JSON path, the work counted against `MAX_STEPS`.

use serde_json::{Map, Number, Value};

use super::{Kind, MAX_STEPS, MAX_VIOLATIONS, Node, Rules, Violation};

/// JSON equality as JSON Schema means it (numbers by value: `1` is
/// `1.0`), counting the values it compares in `steps`.
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

pub(super) struct Check {
    pub(super) violations: Vec<Violation>,
    pub(super) steps: usize,
    /// Only whether the value meets the schema matters (inside `anyOf`,
    /// `oneOf`): no messages or paths are made.
    pub(super) quiet: bool,
}

impl Check {
    pub(super) fn over_budget(&self) -> bool {
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

    pub(super) fn node(&mut self, node: &Node, value: &Value, path: &str) {
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
