//! The Odoo MCP catalogue (`www/odoo-tools.json`, a `tools/list` result's `tools` array):
//! the tool names and, for the workload, each argument's JSON Schema type.

use serde_json::Value;

/// The JSON type an argument's schema declares.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    String {
        enumeration: Vec<String>,
    },
    Integer,
    /// `"type": "number"`: the workload still sends integers (Cedar has no other number).
    Number,
    Boolean,
    Array {
        items: Box<Kind>,
    },
    /// `object`, and also `["object", "array"]`: the workload sends objects (see the
    /// README: a path through an array is one of the shapes it avoids).
    Object,
    /// No `type`: any value.
    Any,
}

#[derive(Debug, Clone)]
pub struct Arg {
    pub name: String,
    pub kind: Kind,
    pub required: bool,
}

#[derive(Debug, Clone)]
pub struct Tool {
    pub name: String,
    pub args: Vec<Arg>,
}

impl Tool {
    pub fn arg(&self, name: &str) -> Option<&Arg> {
        self.args.iter().find(|a| a.name == name)
    }
}

fn kind_of(schema: &Value) -> Kind {
    let type_name = match schema.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(types)) if types.iter().any(|t| t == "object") => "object",
        _ => "",
    };
    match type_name {
        "string" => Kind::String {
            enumeration: schema
                .get("enum")
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(Value::as_str)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
        },
        "integer" => Kind::Integer,
        "number" => Kind::Number,
        "boolean" => Kind::Boolean,
        "array" => Kind::Array {
            items: Box::new(schema.get("items").map_or(
                Kind::String {
                    enumeration: vec![],
                },
                |items| {
                    match kind_of(items) {
                        // Arrays of objects or of anything: the workload fills them with strings.
                        Kind::Any | Kind::Object => Kind::String {
                            enumeration: vec![],
                        },
                        k => k,
                    }
                },
            )),
        },
        "object" => Kind::Object,
        _ => Kind::Any,
    }
}

/// Reads the catalogue; `Err` names what is wrong with it.
pub fn load(path: &std::path::Path) -> Result<Vec<Tool>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let tools: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let tools = tools
        .as_array()
        .ok_or_else(|| format!("{}: not a JSON array of tools", path.display()))?;
    let mut out = Vec::new();
    for tool in tools {
        let name = tool
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{}: a tool without a name", path.display()))?;
        let schema = tool.get("inputSchema").cloned().unwrap_or(Value::Null);
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let args = schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|props| {
                props
                    .iter()
                    .map(|(name, s)| Arg {
                        name: name.clone(),
                        kind: kind_of(s),
                        required: required.contains(&name.as_str()),
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push(Tool {
            name: name.to_owned(),
            args,
        });
    }
    Ok(out)
}
