//! The AWS Service Authorization Reference, as carried in the project's
//! `data/service-reference.json`: every service prefix, its actions and their access levels.
//! Wildcard action patterns are expanded over it.

use std::collections::HashMap;
use std::sync::OnceLock;

use gatehouse_policy::Glob;
use serde::Deserialize;

/// The access level of an action, as the reference pages name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum AccessLevel {
    /// `List`.
    List,
    /// `Read`.
    Read,
    /// `Write`.
    Write,
    /// `Tagging`.
    Tagging,
    /// `Permissions management`.
    PermissionsManagement,
    /// A level this build does not know.
    Unknown,
}

impl AccessLevel {
    fn parse(s: &str) -> AccessLevel {
        match s {
            "List" => AccessLevel::List,
            "Read" => AccessLevel::Read,
            "Write" => AccessLevel::Write,
            "Tagging" => AccessLevel::Tagging,
            "Permissions management" => AccessLevel::PermissionsManagement,
            _ => AccessLevel::Unknown,
        }
    }

    /// The name as the reference pages print it.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessLevel::List => "List",
            AccessLevel::Read => "Read",
            AccessLevel::Write => "Write",
            AccessLevel::Tagging => "Tagging",
            AccessLevel::PermissionsManagement => "Permissions management",
            AccessLevel::Unknown => "Unknown",
        }
    }
}

/// One action of the reference.
#[derive(Clone, Debug)]
pub struct Action {
    /// `service:Action`, in AWS's casing.
    pub name: String,
    /// The same in lower case (what patterns match against).
    pub lower: String,
    /// Its access level.
    pub access: AccessLevel,
    /// The resource types it acts on (none: it takes `*`).
    pub resource_types: Vec<ActionResource>,
    /// The condition keys it supports beyond its resource types' and the global ones.
    pub condition_keys: Vec<String>,
}

/// A resource type an action acts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionResource {
    /// The resource type's name (`object`).
    pub name: String,
    /// Whether the action always needs it.
    pub required: bool,
    /// Condition keys that apply with this resource type.
    pub condition_keys: Vec<String>,
}

/// A resource type of a service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceType {
    /// Its name (`object`).
    pub name: String,
    /// Its ARN format (`arn:${Partition}:s3:::${BucketName}/${ObjectName}`).
    pub arn: String,
    /// Condition keys that apply to it.
    pub condition_keys: Vec<String>,
}

/// One service: its prefix and the range of its actions in [`ServiceReference::actions`].
#[derive(Clone, Debug)]
struct Service {
    name: String,
    first: usize,
    end: usize,
    /// By lower-case name.
    resource_types: HashMap<String, ResourceType>,
    /// Condition keys by lower-case name: (name as written, type).
    condition_keys: HashMap<String, (String, String)>,
}

/// The service reference: services and their actions, sorted by prefix then action name.
#[derive(Clone, Debug, Default)]
pub struct ServiceReference {
    actions: Vec<Action>,
    services: HashMap<String, Service>,
    by_name: HashMap<String, ActionId>,
    prefixes: Vec<String>,
    updated_at: Option<String>,
}

#[derive(Deserialize)]
struct File {
    #[serde(default)]
    source: Option<Source>,
    services: std::collections::BTreeMap<String, FileService>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Source {
    #[serde(default)]
    data_updated_at: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileService {
    #[serde(default)]
    name: String,
    #[serde(default)]
    actions: std::collections::BTreeMap<String, FileAction>,
    #[serde(default)]
    resource_types: std::collections::BTreeMap<String, FileResourceType>,
    #[serde(default)]
    condition_keys: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileAction {
    #[serde(default)]
    access_level: String,
    #[serde(default)]
    resource_types: Vec<FileActionResource>,
    #[serde(default)]
    condition_keys: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileActionResource {
    name: String,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    condition_keys: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileResourceType {
    #[serde(default)]
    arn: String,
    #[serde(default)]
    condition_keys: Vec<String>,
}

/// The reference carried in the project (`data/service-reference.json`), built in.
const EMBEDDED: &str = include_str!("../../../data/service-reference.json");

/// An action's index in [`ServiceReference::actions`].
pub type ActionId = u32;

impl ServiceReference {
    /// Reads a reference in the carried format (`{"services": {prefix: {"name", "actions":
    /// {Name: {"accessLevel"}}}}}`).
    pub fn from_json(text: &str) -> Result<ServiceReference, String> {
        let file: File =
            serde_json::from_str(text).map_err(|e| format!("service reference: {e}"))?;
        let mut reference = ServiceReference {
            updated_at: file.source.and_then(|s| s.data_updated_at),
            ..ServiceReference::default()
        };
        for (prefix, service) in file.services {
            let prefix = prefix.to_ascii_lowercase();
            let first = reference.actions.len();
            let mut actions: Vec<Action> = service
                .actions
                .into_iter()
                .map(|(name, a)| {
                    let full = format!("{prefix}:{name}");
                    Action {
                        lower: full.to_ascii_lowercase(),
                        name: full,
                        access: AccessLevel::parse(&a.access_level),
                        resource_types: a
                            .resource_types
                            .into_iter()
                            .map(|r| ActionResource {
                                name: r.name,
                                required: r.required,
                                condition_keys: r.condition_keys,
                            })
                            .collect(),
                        condition_keys: a.condition_keys,
                    }
                })
                .collect();
            actions.sort_by(|a, b| a.lower.cmp(&b.lower));
            actions.dedup_by(|a, b| a.lower == b.lower);
            reference.actions.extend(actions);
            let end = reference.actions.len();
            reference.prefixes.push(prefix.clone());
            reference.services.insert(
                prefix,
                Service {
                    name: service.name,
                    first,
                    end,
                    resource_types: service
                        .resource_types
                        .into_iter()
                        .map(|(name, r)| {
                            (
                                name.to_ascii_lowercase(),
                                ResourceType {
                                    name,
                                    arn: r.arn,
                                    condition_keys: r.condition_keys,
                                },
                            )
                        })
                        .collect(),
                    condition_keys: service
                        .condition_keys
                        .into_iter()
                        .map(|(k, t)| (k.to_ascii_lowercase(), (k, t)))
                        .collect(),
                },
            );
        }
        if u32::try_from(reference.actions.len()).is_err() {
            return Err("service reference: too many actions".to_string());
        }
        reference.by_name = reference
            .actions
            .iter()
            .enumerate()
            .filter_map(|(i, a)| Some((a.lower.clone(), u32::try_from(i).ok()?)))
            .collect();
        Ok(reference)
    }

    /// The reference built into Gatehouse, read once.
    pub fn embedded() -> &'static ServiceReference {
        static REFERENCE: OnceLock<ServiceReference> = OnceLock::new();
        REFERENCE.get_or_init(|| {
            // The embedded file is checked by this crate's tests; an unreadable one would be a
            // build defect, and an empty reference keeps every caller working (unexpanded).
            ServiceReference::from_json(EMBEDDED).unwrap_or_default()
        })
    }

    /// Every action, sorted by service prefix then name.
    pub fn actions(&self) -> &[Action] {
        &self.actions
    }

    /// The action with this id.
    pub fn action(&self, id: ActionId) -> Option<&Action> {
        self.actions.get(id as usize)
    }

    /// The service prefixes, sorted.
    pub fn prefixes(&self) -> &[String] {
        &self.prefixes
    }

    /// A service's full name (`q` -> `Amazon Q`).
    pub fn service_name(&self, prefix: &str) -> Option<&str> {
        self.services
            .get(&prefix.to_ascii_lowercase())
            .map(|s| s.name.as_str())
    }

    /// A service's resource type, by name (any case).
    pub fn resource_type(&self, prefix: &str, name: &str) -> Option<&ResourceType> {
        self.services
            .get(&prefix.to_ascii_lowercase())?
            .resource_types
            .get(&name.to_ascii_lowercase())
    }

    /// A service's condition key and its type (`String`, `ArrayOfString`, `ARN`, `Bool`,
    /// `Date`, `IPAddress`, `Numeric`...), by name (any case). A key with a `${TagKey}`-style
    /// part (`aws:ResourceTag/${TagKey}`) matches any tag key.
    pub fn condition_key(&self, prefix: &str, key: &str) -> Option<(&str, &str)> {
        let service = self.services.get(&prefix.to_ascii_lowercase())?;
        let lower = key.to_ascii_lowercase();
        if let Some((k, t)) = service.condition_keys.get(&lower) {
            return Some((k.as_str(), t.as_str()));
        }
        service.condition_keys.iter().find_map(|(pattern, (k, t))| {
            let stem = crate::lint::placeholder_stem(pattern)?;
            (lower.len() > stem.len() && lower.starts_with(stem))
                .then_some((k.as_str(), t.as_str()))
        })
    }

    /// A service's resource types.
    pub fn resource_types(&self, prefix: &str) -> Vec<&ResourceType> {
        let mut v: Vec<&ResourceType> = self
            .services
            .get(&prefix.to_ascii_lowercase())
            .map(|s| s.resource_types.values().collect())
            .unwrap_or_default();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// Whether the reference knows a service prefix.
    pub fn has_service(&self, prefix: &str) -> bool {
        self.services.contains_key(&prefix.to_ascii_lowercase())
    }

    /// A service's actions.
    pub fn service_actions(&self, prefix: &str) -> &[Action] {
        self.services
            .get(&prefix.to_ascii_lowercase())
            .and_then(|s| self.actions.get(s.first..s.end))
            .unwrap_or(&[])
    }

    /// When the reference's data was last updated, as its source says.
    pub fn updated_at(&self) -> Option<&str> {
        self.updated_at.as_deref()
    }

    /// Finds an action by name, ignoring case.
    pub fn find(&self, action: &str) -> Option<ActionId> {
        if action.bytes().any(|b| b.is_ascii_uppercase()) {
            self.by_name.get(&action.to_ascii_lowercase()).copied()
        } else {
            self.by_name.get(action).copied()
        }
    }

    /// Calls `f` with every action an action pattern (`s3:Get*`, `*`, `q:SendMessage`) matches.
    pub fn expand(&self, pattern: &str, mut f: impl FnMut(ActionId)) {
        let lower = pattern.to_ascii_lowercase();
        let wild = |s: &str| s.contains(['*', '?']);
        let ranges: Vec<(usize, usize)> = match lower.split_once(':') {
            Some((prefix, _)) if !wild(prefix) => match self.services.get(prefix) {
                Some(s) => vec![(s.first, s.end)],
                None => return,
            },
            _ => vec![(0, self.actions.len())],
        };
        if !wild(&lower) {
            if let Some(id) = self.find(&lower) {
                f(id);
            }
            return;
        }
        // `*` and `*:*`: every action.
        if lower == "*" || lower == "*:*" {
            for i in 0..self.actions.len() {
                if let Ok(id) = u32::try_from(i) {
                    f(id);
                }
            }
            return;
        }
        // `*:Prefix*`: in each service, one run of its sorted actions.
        if let Some(rest) = lower.strip_prefix("*:")
            && let Some(stem) = rest.strip_suffix('*')
            && !wild(stem)
        {
            for prefix in &self.prefixes {
                let Some(service) = self.services.get(prefix) else {
                    continue;
                };
                let full = format!("{prefix}:{stem}");
                let slice = self.actions.get(service.first..service.end).unwrap_or(&[]);
                let start = slice.partition_point(|a| a.lower.as_str() < full.as_str());
                for (i, a) in slice.iter().enumerate().skip(start) {
                    if !a.lower.starts_with(full.as_str()) {
                        break;
                    }
                    if let Ok(id) = u32::try_from(service.first + i) {
                        f(id);
                    }
                }
            }
            return;
        }
        // `service:Prefix*`, the common form: the matches are one run of the sorted actions.
        if let Some(stem) = lower.strip_suffix('*')
            && !wild(stem)
            && stem.contains(':')
        {
            for (first, end) in ranges {
                let slice = self.actions.get(first..end).unwrap_or(&[]);
                let start = slice.partition_point(|a| a.lower.as_str() < stem);
                for (i, a) in slice.iter().enumerate().skip(start) {
                    if !a.lower.starts_with(stem) {
                        break;
                    }
                    if let Ok(id) = u32::try_from(first + i) {
                        f(id);
                    }
                }
            }
            return;
        }
        let glob = Glob::new_case_insensitive(&lower);
        for (first, end) in ranges {
            for (i, a) in self
                .actions
                .get(first..end)
                .unwrap_or(&[])
                .iter()
                .enumerate()
            {
                if glob.matches(&a.lower)
                    && let Ok(id) = u32::try_from(first + i)
                {
                    f(id);
                }
            }
        }
    }
}
