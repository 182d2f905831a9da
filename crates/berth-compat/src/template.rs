//! Go templates (`inspect -f`, `ls -f`) through the gtmpl crate, with the two functions
//! docker-machine registered itself: `json` and `prettyjson`.
//!
//! Data arrives as JSON. docker-machine ran `inspect -f` over its host decoded into a
//! `map[string]interface{}` (a missing key prints `<no value>`), and `ls -f` over a struct (a
//! missing field is an error); [`Shape`] picks which.

use std::collections::HashMap;

use anyhow::anyhow;
use gtmpl::{Context, FuncError, Template, Value};

/// How field lookups behave on the data's objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Go maps: an unknown key is `<no value>`.
    Map,
    /// Go structs: an unknown field is an error.
    Struct,
}

/// A parsed template, ready for many data items (one per `ls` row).
pub struct GoTemplate {
    template: Template,
}

impl GoTemplate {
    /// Parses `text` once, with `json` and `prettyjson` available; a syntax error is reported
    /// as docker-machine reported it (`template parsing error: …`).
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let mut template = Template::default();
        template.add_func("json", json);
        template.add_func("prettyjson", prettyjson);
        template
            .parse(text)
            .map_err(|e| anyhow!("template parsing error: {e}"))?;
        Ok(GoTemplate { template })
    }

    /// Runs the template over one data item; `shape` says whether an unknown field is
    /// `<no value>` (`inspect -f`) or an error (`ls -f`).
    pub fn render(&self, data: &serde_json::Value, shape: Shape) -> anyhow::Result<String> {
        self.template
            .render(&Context::from(to_gtmpl(data, shape)))
            .map_err(|e| {
                // gtmpl appends the whole receiver (`no field X for {…}`), in no stable order.
                let text = e.to_string();
                let short = text.split(" for {").next().unwrap_or(&text).to_owned();
                anyhow!("the template cannot be applied: {short}")
            })
    }
}

fn to_gtmpl(value: &serde_json::Value, shape: Shape) -> Value {
    match value {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                Value::from(n.as_f64().unwrap_or_default())
            }
        }
        serde_json::Value::String(s) => Value::String(s.clone()),
        serde_json::Value::Array(items) => {
            Value::Array(items.iter().map(|v| to_gtmpl(v, shape)).collect())
        }
        serde_json::Value::Object(map) => {
            let fields: HashMap<String, Value> = map
                .iter()
                .map(|(k, v)| (k.clone(), to_gtmpl(v, shape)))
                .collect();
            match shape {
                Shape::Map => Value::Map(fields),
                Shape::Struct => Value::Object(fields),
            }
        }
    }
}

/// Back to JSON for `json`/`prettyjson`. Keys come out sorted, as Go's encoding/json writes
/// maps (serde_json's map is ordered by key).
fn to_json(value: &Value) -> serde_json::Value {
    match value {
        Value::NoValue | Value::Nil | Value::Function(_) => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into()
            } else if let Some(u) = n.as_u64() {
                u.into()
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(serde_json::Value::Null, serde_json::Value::Number)
            }
        }
        Value::Array(items) => serde_json::Value::Array(items.iter().map(to_json).collect()),
        Value::Object(map) | Value::Map(map) => {
            serde_json::Value::Object(map.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
    }
}

fn one_arg<'a>(name: &str, args: &'a [Value]) -> Result<&'a Value, FuncError> {
    match args {
        [one] => Ok(one),
        _ => Err(FuncError::ExactlyXArgs(name.to_owned(), 1)),
    }
}

fn json(args: &[Value]) -> Result<Value, FuncError> {
    let value = to_json(one_arg("json", args)?);
    serde_json::to_string(&value)
        .map(Value::String)
        .map_err(|e| FuncError::Generic(e.to_string()))
}

/// docker-machine indents with four spaces (`json.MarshalIndent(v, "", "    ")`).
fn prettyjson(args: &[Value]) -> Result<Value, FuncError> {
    let value = to_json(one_arg("prettyjson", args)?);
    pretty4(&value)
        .map(Value::String)
        .map_err(|e| FuncError::Generic(e.to_string()))
}

/// JSON indented with four spaces, as Go's `json.MarshalIndent(v, "", "    ")`.
pub fn pretty4<T: serde::Serialize>(value: &T) -> Result<String, serde_json::Error> {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    value.serialize(&mut serializer)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn render(text: &str, data: serde_json::Value, shape: Shape) -> String {
        GoTemplate::parse(text)
            .unwrap()
            .render(&data, shape)
            .unwrap()
    }

    #[test]
    fn fields_nested_fields_and_the_json_functions() {
        let data = serde_json::json!({"DriverName": "generic", "Driver": {"IPAddress": "1.2.3.4", "SSHPort": 22}});
        assert_eq!(
            render("{{.DriverName}}", data.clone(), Shape::Map),
            "generic"
        );
        assert_eq!(
            render(
                "{{.Driver.IPAddress}}:{{.Driver.SSHPort}}",
                data.clone(),
                Shape::Map
            ),
            "1.2.3.4:22"
        );
        assert_eq!(
            render("{{json .Driver}}", data.clone(), Shape::Map),
            r#"{"IPAddress":"1.2.3.4","SSHPort":22}"#
        );
        assert_eq!(
            render("{{prettyjson .Driver}}", data.clone(), Shape::Map),
            "{\n    \"IPAddress\": \"1.2.3.4\",\n    \"SSHPort\": 22\n}"
        );
        assert_eq!(render("{{.Nope}}", data.clone(), Shape::Map), "<no value>");
        assert!(
            GoTemplate::parse("{{.Nope}}")
                .unwrap()
                .render(&data, Shape::Struct)
                .is_err()
        );
        assert!(GoTemplate::parse("{{.Name").is_err());
    }
}
