//! Request validation, worded the way Stack words it. Stack validates each request against a
//! schema and reports every failing field at once, one line each (`body.email must not be
//! empty`, `query.user_id must be defined`); clients and tests compare those lines, so the core
//! builds them here, once, for every endpoint. Values are coerced as Stack's schemas coerce
//! them: a number where text is expected reads as its digits, `"true"` as a boolean.
//!
//! A [`Shape`] describes one JSON object (a body, a query, a nested config); [`Issues`]
//! collects the lines in Stack's order (auth, then body, then query; fields in declared order,
//! then unknown properties) and becomes `Error::Schema`.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// The failing fields of one request, in the order Stack reports them.
#[derive(Debug, Default)]
pub struct Issues(Vec<String>);

impl Issues {
    pub fn new() -> Issues {
        Issues::default()
    }

    pub fn push(&mut self, line: impl Into<String>) {
        self.0.push(line.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok` when nothing failed, else the `SCHEMA_ERROR` listing every line.
    pub fn finish(self) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::Schema(self.0))
        }
    }

    /// Checks `value` against `shape` at `location` (`body`, `query`) and, if every field
    /// passed, reads it as `T`. Serde errors that the shape did not foresee still come out as
    /// a line of this request's schema error, never as a 500.
    pub fn read<T: DeserializeOwned>(
        &mut self,
        location: &str,
        mut value: Value,
        shape: &Shape,
    ) -> Option<T> {
        let before = self.0.len();
        shape.check(location, &mut value, self);
        if self.0.len() > before {
            return None;
        }
        match serde_path_to_error::deserialize(value) {
            Ok(v) => Some(v),
            Err(e) => {
                let path = e.path().to_string();
                let inner = e.inner().to_string();
                let inner = inner.split(" at line ").next().unwrap_or(&inner);
                self.push(if path == "." {
                    format!("{location} is invalid: {inner}")
                } else {
                    format!("{location}.{path} is invalid: {inner}")
                });
                None
            }
        }
    }
}

/// A request body or query type with its schema: `server` is true for server and admin access,
/// which may send fields client access may not.
pub trait Input: DeserializeOwned {
    fn shape(server: bool) -> Shape;
}

/// Reads one JSON value as `T` against `shape`, for callers with nothing else to report.
pub fn read<T: DeserializeOwned>(location: &str, value: Value, shape: &Shape) -> Result<T> {
    let mut issues = Issues::new();
    let out = issues.read(location, value, shape);
    issues.finish()?;
    out.ok_or_else(|| Error::internal("validation passed without a value"))
}

/// One line of a schema error for a single field: `Error::Schema` with that line alone.
pub fn invalid(line: impl Into<String>) -> Error {
    Error::Schema(vec![line.into()])
}

/// The full text of a REST schema error: `Request validation failed on POST /api/v1/x:` and one
/// indented line per issue, as Stack sends it in both `error` and `details.message`.
pub fn schema_error_text(method: &str, path: &str, issues: &[String]) -> String {
    let mut text = format!("Request validation failed on {method} {path}:");
    for line in issues {
        text.push_str("\n  - ");
        text.push_str(&line.replace('\n', "\n    "));
    }
    text
}

/// The expected shape of a JSON object: its fields in order, and whether other keys are refused.
#[derive(Clone, Debug, Default)]
pub struct Shape {
    fields: Vec<(&'static str, Field)>,
    open: bool,
}

impl Shape {
    pub fn new() -> Shape {
        Shape::default()
    }

    pub fn field(mut self, name: &'static str, field: Field) -> Shape {
        self.fields.push((name, field));
        self
    }

    /// Accept keys the shape does not name (Stack refuses them in bodies and queries).
    pub fn open(mut self) -> Shape {
        self.open = true;
        self
    }

    /// The bot-challenge fields Stack's SDK adds to sign-up, emailed-code and OAuth requests
    /// (`bot_challenge_token`, `_phase`, `_unavailable`; Stack's `botChallengeFlowRequestSchemaFields`
    /// in `lib/turnstile.tsx`): accepted as Stack accepts them.
    pub fn bot_challenge(self) -> Shape {
        self.field("bot_challenge_token", string())
            .field(
                "bot_challenge_phase",
                string().one_of(&[Value::from("invisible"), Value::from("visible")]),
            )
            .field(
                "bot_challenge_unavailable",
                string().one_of(&[Value::from("true")]),
            )
    }

    pub fn has(&self, name: &str) -> bool {
        self.fields.iter().any(|(n, _)| *n == name)
    }

    /// Checks `value` in place (coercing what Stack coerces), pushing one line per failure.
    pub fn check(&self, path: &str, value: &mut Value, issues: &mut Issues) {
        let Value::Object(map) = value else {
            issues.push(type_error(path, "object", value, None));
            return;
        };
        for (name, field) in &self.fields {
            let at = format!("{path}.{name}");
            match map.get_mut(*name) {
                None => {
                    if field.defined {
                        issues.push(format!("{at} must be defined"));
                    }
                }
                Some(v) => field.check(&at, v, issues),
            }
        }
        if !self.open {
            let unknown: Vec<&str> = map
                .keys()
                .filter(|k| !self.has(k))
                .map(String::as_str)
                .collect();
            if !unknown.is_empty() {
                issues.push(format!(
                    "{path} contains unknown properties: {}",
                    unknown.join(", ")
                ));
            }
        }
    }
}

/// What one field must hold.
#[derive(Clone, Debug)]
pub struct Field {
    kind: Kind,
    defined: bool,
    nullable: bool,
    checks: Vec<Check>,
}

#[derive(Clone, Debug)]
enum Kind {
    String,
    Number,
    Boolean,
    /// Any JSON object (metadata); `Shape` when its keys are known.
    Object,
    Shape(Box<Shape>),
    Array(Box<Field>),
    Any,
}

#[derive(Clone, Debug)]
enum Check {
    NonEmpty,
    MaxChars(usize),
    Max(f64),
    Min(f64),
    Integer,
    OneOf(Vec<Value>),
    Email,
    /// Stack's sign-in email: an email whose domain has a dot and a two-letter-or-longer end.
    StrictEmail,
    Uuid,
    /// A user id or `me`.
    UserIdOrMe,
    NoSpaces,
    Url,
    /// A rule of the caller's, worded by it: `None` when the value passes.
    Custom(fn(&str, &Value) -> Option<String>),
}

/// The fields users and teams share, in Stack's order: a profile image URL (up to 1 MB, for
/// uploaded data URLs), client metadata, and for server access client read-only and server
/// metadata.
pub fn picture_and_metadata(shape: Shape, server: bool) -> Shape {
    let shape = shape
        .field(
            "profile_image_url",
            string().url().max_chars(1_000_000).nullable(),
        )
        .field("client_metadata", any());
    if server {
        shape
            .field("client_read_only_metadata", any())
            .field("server_metadata", any())
    } else {
        shape
    }
}

pub fn string() -> Field {
    Field::of(Kind::String)
}
pub fn number() -> Field {
    Field::of(Kind::Number)
}
pub fn integer() -> Field {
    Field::of(Kind::Number).with(Check::Integer)
}
pub fn boolean() -> Field {
    Field::of(Kind::Boolean)
}
/// A JSON object of any keys (metadata).
pub fn object() -> Field {
    Field::of(Kind::Object)
}
pub fn nested(shape: Shape) -> Field {
    Field::of(Kind::Shape(Box::new(shape)))
}
pub fn array(of: Field) -> Field {
    Field::of(Kind::Array(Box::new(of)))
}
/// Anything at all, `null` included (JSON metadata values).
pub fn any() -> Field {
    Field::of(Kind::Any).nullable()
}

impl Field {
    fn of(kind: Kind) -> Field {
        Field {
            kind,
            defined: false,
            nullable: false,
            checks: vec![],
        }
    }

    fn with(mut self, check: Check) -> Field {
        self.checks.push(check);
        self
    }

    /// Must be present (`… must be defined`).
    pub fn defined(mut self) -> Field {
        self.defined = true;
        self
    }
    /// May be `null`.
    pub fn nullable(mut self) -> Field {
        self.nullable = true;
        self
    }
    pub fn non_empty(self) -> Field {
        self.with(Check::NonEmpty)
    }
    pub fn max_chars(self, n: usize) -> Field {
        self.with(Check::MaxChars(n))
    }
    pub fn max(self, n: f64) -> Field {
        self.with(Check::Max(n))
    }
    pub fn min(self, n: f64) -> Field {
        self.with(Check::Min(n))
    }
    pub fn one_of(self, values: &[Value]) -> Field {
        self.with(Check::OneOf(values.to_vec()))
    }
    pub fn email(self) -> Field {
        self.with(Check::Email)
    }
    pub fn strict_email(self) -> Field {
        self.with(Check::Email)
            .with(Check::MaxChars(256))
            .with(Check::StrictEmail)
    }
    pub fn uuid(self) -> Field {
        self.with(Check::Uuid)
    }
    pub fn user_id_or_me(self) -> Field {
        self.with(Check::UserIdOrMe)
    }
    /// Stack's URL fields: no spaces, and a URL a browser would parse.
    pub fn url(self) -> Field {
        self.with(Check::NoSpaces).with(Check::Url)
    }
    pub fn custom(self, rule: fn(&str, &Value) -> Option<String>) -> Field {
        self.with(Check::Custom(rule))
    }

    fn check(&self, at: &str, value: &mut Value, issues: &mut Issues) {
        if value.is_null() {
            if !self.nullable {
                issues.push(format!("{at} cannot be null"));
            }
            return;
        }
        if !self.coerce(at, value, issues) {
            return;
        }
        // No text is stored or searched with a NUL in it (PostgreSQL refuses the character,
        // SQLite's full-text search ends a phrase at it).
        if value.as_str().is_some_and(|s| s.contains('\0')) {
            issues.push(format!("{at} must not contain the NUL character"));
            return;
        }
        for check in &self.checks {
            if let Some(line) = check.run(at, value) {
                issues.push(line);
            }
        }
    }

    /// Brings `value` to this field's type as Stack's schemas do; `false` (with the line
    /// pushed) when it cannot be.
    fn coerce(&self, at: &str, value: &mut Value, issues: &mut Issues) -> bool {
        match &self.kind {
            Kind::Any => true,
            Kind::String => match value {
                Value::String(_) => true,
                Value::Number(n) => {
                    *value = Value::String(js_number(n));
                    true
                }
                Value::Bool(b) => {
                    *value = Value::String(b.to_string());
                    true
                }
                _ => {
                    issues.push(type_error(at, "string", value, None));
                    false
                }
            },
            Kind::Number => match value {
                Value::Number(_) => true,
                Value::String(s) => {
                    let digits: String = s.chars().filter(|c| !c.is_whitespace()).collect();
                    match digits.parse::<f64>().ok().filter(|f| f.is_finite()) {
                        Some(f) if !digits.is_empty() => {
                            *value = number_value(f);
                            true
                        }
                        _ => {
                            issues.push(type_error(at, "number", &nan(), Some(value)));
                            false
                        }
                    }
                }
                _ => {
                    issues.push(type_error(at, "number", &nan(), Some(value)));
                    false
                }
            },
            Kind::Boolean => {
                let read = match &*value {
                    Value::Bool(b) => Some(*b),
                    Value::String(s) if s.eq_ignore_ascii_case("true") || s == "1" => Some(true),
                    Value::String(s) if s.eq_ignore_ascii_case("false") || s == "0" => Some(false),
                    Value::Number(n) if n.as_f64() == Some(1.0) => Some(true),
                    Value::Number(n) if n.as_f64() == Some(0.0) => Some(false),
                    _ => None,
                };
                match read {
                    Some(b) => {
                        *value = Value::Bool(b);
                        true
                    }
                    None => {
                        issues.push(type_error(at, "boolean", value, None));
                        // Stack goes on to check the value's allowed list, and says so too.
                        for check in &self.checks {
                            if let Check::OneOf(_) = check {
                                if let Some(line) = check.run(at, value) {
                                    issues.push(line);
                                }
                            }
                        }
                        false
                    }
                }
            }
            Kind::Object => {
                if value.is_object() {
                    true
                } else {
                    issues.push(type_error(at, "object", value, None));
                    false
                }
            }
            Kind::Shape(shape) => {
                let before = issues.0.len();
                shape.check(at, value, issues);
                issues.0.len() == before
            }
            Kind::Array(item) => {
                let Value::Array(items) = value else {
                    issues.push(type_error(at, "array", value, None));
                    return false;
                };
                let before = issues.0.len();
                for (i, v) in items.iter_mut().enumerate() {
                    item.check(&format!("{at}[{i}]"), v, issues);
                }
                issues.0.len() == before
            }
        }
    }
}

impl Check {
    fn run(&self, at: &str, value: &Value) -> Option<String> {
        let text = value.as_str();
        match self {
            Check::NonEmpty => (text == Some("")).then(|| format!("{at} must not be empty")),
            Check::MaxChars(n) => text
                .filter(|s| s.chars().count() > *n)
                .map(|_| format!("{at} must be at most {n} characters")),
            Check::Max(n) => value
                .as_f64()
                .filter(|v| v > n)
                .map(|_| format!("{at} must be less than or equal to {}", js_f64(*n))),
            Check::Min(n) => value
                .as_f64()
                .filter(|v| v < n)
                .map(|_| format!("{at} must be greater than or equal to {}", js_f64(*n))),
            Check::Integer => value
                .as_f64()
                .filter(|v| v.fract() != 0.0)
                .map(|_| format!("{at} must be an integer")),
            Check::OneOf(allowed) => (!allowed.contains(value)).then(|| {
                let list: Vec<String> = allowed
                    .iter()
                    .map(|v| match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect();
                format!(
                    "{at} must be one of the following values: {}",
                    list.join(", ")
                )
            }),
            Check::Email => text
                .filter(|s| !s.is_empty() && !looks_like_email(s))
                .map(|_| format!("{at} must be a valid email")),
            Check::StrictEmail => text.filter(|s| !strict_email(s)).map(|_| {
                format!(r#"{at} must match the following: "/^[^.]+(\.[^.]+)*@.*\.[^.][^.]+$/""#)
            }),
            Check::Uuid => text
                .filter(|s| !s.is_empty() && !crate::is_uuid(s))
                .map(|_| format!("{at} must be a valid UUID")),
            Check::UserIdOrMe => text
                .filter(|s| *s != "me" && !crate::is_uuid(s))
                .map(|_| format!("{at} must be a valid UUID")),
            Check::NoSpaces => text
                .filter(|s| s.contains(' '))
                .map(|_| format!("{at} contains spaces")),
            Check::Url => text
                .filter(|s| !url_ok(s))
                .map(|_| format!("{at} is not a valid URL")),
            Check::Custom(rule) => rule(at, value),
        }
    }
}

/// yup's "must be a `type` type" line, with the value as Stack prints it.
pub(crate) fn type_error(at: &str, kind: &str, shown: &Value, cast_from: Option<&Value>) -> String {
    let cast = match cast_from {
        Some(original) => format!(" (cast from the value `{}`).", print_value(original)),
        None => ".".into(),
    };
    format!(
        "{at} must be a `{kind}` type, but the final value was: `{}`{cast}",
        print_value(shown)
    )
}

/// Stack's printing of a value in messages: strings quoted, structures as indented JSON.
fn print_value(v: &Value) -> String {
    match v {
        Value::Object(_) | Value::Array(_) => serde_json::to_string_pretty(v).unwrap_or_default(),
        Value::String(s) if s == NAN => "NaN".into(),
        other => other.to_string(),
    }
}

const NAN: &str = "\u{0}NaN";
fn nan() -> Value {
    Value::String(NAN.into())
}

/// A number as JavaScript writes it: no `.0` on whole numbers.
fn js_number(n: &serde_json::Number) -> String {
    match n.as_f64() {
        Some(f) if n.is_f64() => js_f64(f),
        _ => n.to_string(),
    }
}

fn js_f64(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e21 {
        format!("{}", f as i128)
    } else {
        f.to_string()
    }
}

fn number_value(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        Value::from(f as i64)
    } else {
        serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

/// The email check Stack's schemas apply (the WHATWG form's pattern, in spirit): a local part,
/// `@`, and a domain of dot-separated labels (yup's `email()`).
pub(crate) fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    const LOCAL_OK: &str = ".!#$%&'*+/=?^_`{|}~-";
    !local.is_empty()
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || LOCAL_OK.contains(c))
        && !domain.is_empty()
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// `^[^.]+(\.[^.]+)*@.*\.[^.][^.]+$`: no empty dot-separated part before the `@`, and a domain
/// ending in a dot and at least two non-dot characters.
fn strict_email(s: &str) -> bool {
    let Some(at) = s.find('@') else {
        return false;
    };
    let (local, domain) = (&s[..at], &s[at + 1..]);
    if local.is_empty() || local.split('.').any(str::is_empty) {
        return false;
    }
    match domain.rfind('.') {
        Some(dot) => {
            let tail = &domain[dot + 1..];
            tail.chars().count() >= 2
        }
        None => false,
    }
}

/// What a browser's URL parser accepts, near enough: a scheme, and for web URLs a host.
fn url_ok(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    let web = ["http", "https", "ws", "wss", "ftp"].contains(&scheme.to_ascii_lowercase().as_str());
    let host_ok = !web
        || rest
            .trim_start_matches('/')
            .split(['/', '?', '#'])
            .next()
            .is_some_and(|h| !h.is_empty() && !h.contains(char::is_whitespace));
    scheme_ok && host_ok && !s.contains(char::is_whitespace)
}

/// Query strings are flat text; Stack validates them as an object of strings.
pub fn query_value(pairs: &[(String, String)]) -> Value {
    let mut map = Map::new();
    for (k, v) in pairs {
        map.insert(k.clone(), Value::String(v.clone()));
    }
    Value::Object(map)
}

/// The shapes as JSON Schema (2020-12, as OpenAPI 3.1 uses it): what the API reference shows and
/// what the fuzzer generates from, so the document says exactly what the checks accept.
impl Shape {
    pub fn json_schema(&self) -> Value {
        let properties: Map<String, Value> = self
            .fields
            .iter()
            .map(|(name, field)| (name.to_string(), field.json_schema()))
            .collect();
        let required: Vec<&str> = self
            .fields
            .iter()
            .filter(|(_, f)| f.defined)
            .map(|(n, _)| *n)
            .collect();
        let mut schema = serde_json::json!({ "type": "object", "properties": properties });
        if !required.is_empty() {
            schema["required"] = Value::from(required);
        }
        if !self.open {
            schema["additionalProperties"] = Value::Bool(false);
        }
        schema
    }

    /// The fields one by one (a query's parameters), with whether each is required.
    pub fn fields_json_schema(&self) -> Vec<(&'static str, bool, Value)> {
        self.fields
            .iter()
            .map(|(name, f)| (*name, f.defined, f.json_schema()))
            .collect()
    }
}

impl Field {
    fn json_schema(&self) -> Value {
        let (mut schema, kind) = match &self.kind {
            Kind::Any => return serde_json::json!({}),
            Kind::String => (Map::new(), "string"),
            Kind::Number if self.checks.iter().any(|c| matches!(c, Check::Integer)) => {
                (Map::new(), "integer")
            }
            Kind::Number => (Map::new(), "number"),
            Kind::Boolean => (Map::new(), "boolean"),
            Kind::Object => (Map::new(), "object"),
            Kind::Shape(shape) => match shape.json_schema() {
                Value::Object(mut m) => {
                    m.remove("type");
                    (m, "object")
                }
                _ => (Map::new(), "object"),
            },
            Kind::Array(item) => {
                let mut m = Map::new();
                m.insert("items".into(), item.json_schema());
                (m, "array")
            }
        };
        schema.insert(
            "type".into(),
            if self.nullable {
                serde_json::json!([kind, "null"])
            } else {
                Value::from(kind)
            },
        );
        let mut all_of = vec![];
        let mut pattern = |schema: &mut Map<String, Value>, p: &str| {
            if schema.contains_key("pattern") {
                all_of.push(serde_json::json!({ "pattern": p }));
            } else {
                schema.insert("pattern".into(), Value::from(p));
            }
        };
        for check in &self.checks {
            match check {
                Check::NonEmpty => {
                    schema.insert("minLength".into(), Value::from(1));
                }
                Check::MaxChars(n) => {
                    schema.insert("maxLength".into(), Value::from(*n));
                }
                Check::Max(n) => {
                    schema.insert("maximum".into(), number_value(*n));
                }
                Check::Min(n) => {
                    schema.insert("minimum".into(), number_value(*n));
                }
                Check::Integer => {}
                Check::OneOf(values) => {
                    let mut values = values.clone();
                    if self.nullable {
                        values.push(Value::Null);
                    }
                    schema.insert("enum".into(), Value::from(values));
                }
                Check::Email => {
                    schema.insert("format".into(), Value::from("email"));
                }
                Check::StrictEmail => pattern(&mut schema, r"^[^.]+(\.[^.]+)*@.*\.[^.][^.]+$"),
                Check::Uuid => {
                    schema.insert("format".into(), Value::from("uuid"));
                }
                Check::UserIdOrMe => {
                    schema.insert(
                        "anyOf".into(),
                        serde_json::json!([{ "format": "uuid" }, { "const": "me" }]),
                    );
                }
                Check::NoSpaces => pattern(&mut schema, "^[^ ]*$"),
                Check::Url => {
                    schema.insert("format".into(), Value::from("uri"));
                }
                Check::Custom(_) => {}
            }
        }
        if !all_of.is_empty() {
            schema.insert("allOf".into(), Value::from(all_of));
        }
        Value::Object(schema)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lines(shape: &Shape, body: Value) -> Vec<String> {
        let mut issues = Issues::new();
        let mut body = body;
        shape.check("body", &mut body, &mut issues);
        issues.0
    }

    #[test]
    fn every_failing_field_is_reported_in_declared_order_then_unknown_keys() {
        let shape = Shape::new()
            .field("email", string().defined().non_empty())
            .field("password", string().defined().max_chars(70))
            .field("expires_in_millis", number().max(31708800000.0))
            .field("is_anonymous", boolean().one_of(&[json!(false)]));
        assert_eq!(
            lines(
                &shape,
                json!({ "zeta": 1, "is_anonymous": true, "expires_in_millis": 31708800001i64, "email": "", "alpha": 2 })
            ),
            [
                "body.email must not be empty",
                "body.password must be defined",
                "body.expires_in_millis must be less than or equal to 31708800000",
                "body.is_anonymous must be one of the following values: false",
                "body contains unknown properties: zeta, alpha",
            ]
        );
    }

    #[test]
    fn text_with_a_nul_character_is_refused() {
        let shape = Shape::new().field("query", string());
        assert_eq!(
            lines(&shape, json!({ "query": "00\u{0}" })),
            ["body.query must not contain the NUL character"]
        );
    }

    #[test]
    fn shapes_describe_themselves_as_json_schema() {
        let shape = Shape::new()
            .field("email", string().strict_email().defined())
            .field("limit", integer().min(1.0).max(200.0))
            .field("user_id", string().user_id_or_me())
            .field("name", string().non_empty().nullable())
            .field("kind", string().one_of(&[json!("a"), json!("b")]));
        assert_eq!(
            shape.json_schema(),
            json!({
                "type": "object",
                "properties": {
                    "email": { "type": "string", "format": "email", "maxLength": 256, "pattern": r"^[^.]+(\.[^.]+)*@.*\.[^.][^.]+$" },
                    "limit": { "type": "integer", "minimum": 1, "maximum": 200 },
                    "user_id": { "type": "string", "anyOf": [{ "format": "uuid" }, { "const": "me" }] },
                    "name": { "type": ["string", "null"], "minLength": 1 },
                    "kind": { "type": "string", "enum": ["a", "b"] },
                },
                "required": ["email"],
                "additionalProperties": false,
            })
        );
    }

    #[test]
    fn values_are_coerced_as_stack_coerces_them_and_type_errors_print_the_value() {
        let shape = Shape::new()
            .field("a", string())
            .field("b", number())
            .field("c", boolean())
            .field("d", string())
            .field("e", number());
        let mut body = json!({ "a": 12, "b": " 42 ", "c": "TRUE", "d": {}, "e": "x" });
        let mut issues = Issues::new();
        shape.check("body", &mut body, &mut issues);
        assert_eq!(body["a"], "12");
        assert_eq!(body["b"], 42);
        assert_eq!(body["c"], true);
        assert_eq!(
            issues.0,
            [
                "body.d must be a `string` type, but the final value was: `{}`.",
                "body.e must be a `number` type, but the final value was: `NaN` (cast from the value `\"x\"`).",
            ]
        );
    }

    #[test]
    fn null_is_refused_unless_the_field_is_nullable() {
        let shape = Shape::new()
            .field("a", string().defined())
            .field("b", string().nullable());
        assert_eq!(
            lines(&shape, json!({ "a": null, "b": null })),
            ["body.a cannot be null"]
        );
    }

    #[test]
    fn the_rest_text_names_method_and_path_and_indents_each_line() {
        assert_eq!(
            schema_error_text(
                "POST",
                "/api/v1/auth/sessions",
                &["body.user_id must be defined".into(), "body contains unknown properties: x".into()]
            ),
            "Request validation failed on POST /api/v1/auth/sessions:\n  - body.user_id must be defined\n  - body contains unknown properties: x"
        );
    }

    #[test]
    fn strict_email_follows_stacks_pattern() {
        assert!(strict_email("ada@example.com"));
        assert!(!strict_email("ada@example"));
        assert!(!strict_email("a..b@example.com"));
        assert!(!strict_email(""));
        assert!(looks_like_email("ada+x@mail.example.com"));
        assert!(!looks_like_email("not-an-email"));
    }
}
