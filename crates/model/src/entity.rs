//! Companies: who owns, operates and uses the chips, and who stands behind them.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::CountryCode;

/// A company or other legal person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entity {
    pub id: String,
    pub name: String,
    /// Country of the headquarters (ISO 3166 alpha-2).
    pub hq_country: CountryCode,
    /// The immediate parent company, if any (an entity id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntityError {
    #[error("unknown entity {0:?}")]
    Unknown(String),
    #[error("the parent chain of {0:?} loops: {1}")]
    Cycle(String, String),
}

/// All entities of a scenario, by id.
#[derive(Debug, Clone, Default)]
pub struct Entities {
    by_id: BTreeMap<String, Entity>,
}

impl Entities {
    pub fn new(list: &[Entity]) -> Entities {
        Entities {
            by_id: list.iter().map(|e| (e.id.clone(), e.clone())).collect(),
        }
    }

    pub fn get(&self, id: &str) -> Option<&Entity> {
        self.by_id.get(id)
    }

    /// The chain from `id` up to its ultimate parent, `id` first.
    pub fn chain(&self, id: &str) -> Result<Vec<&Entity>, EntityError> {
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        let mut cur = self
            .get(id)
            .ok_or_else(|| EntityError::Unknown(id.to_string()))?;
        loop {
            if !seen.insert(cur.id.as_str()) {
                let path: Vec<&str> = out.iter().map(|e: &&Entity| e.id.as_str()).collect();
                return Err(EntityError::Cycle(
                    id.to_string(),
                    format!("{} -> {}", path.join(" -> "), cur.id),
                ));
            }
            out.push(cur);
            match &cur.parent {
                None => return Ok(out),
                Some(p) => {
                    cur = self.get(p).ok_or_else(|| EntityError::Unknown(p.clone()))?;
                }
            }
        }
    }

    /// The top of the parent chain (the entity itself if it has no parent).
    pub fn ultimate_parent(&self, id: &str) -> Result<&Entity, EntityError> {
        Ok(*self
            .chain(id)?
            .last()
            .expect("a chain holds at least its start"))
    }

    /// Headquarters countries of the entity and of its ultimate parent (deduplicated).
    pub fn hq_countries(&self, id: &str) -> Result<Vec<&str>, EntityError> {
        let e = self
            .get(id)
            .ok_or_else(|| EntityError::Unknown(id.to_string()))?;
        let top = self.ultimate_parent(id)?;
        let mut v = vec![e.hq_country.as_str()];
        if top.hq_country != e.hq_country {
            v.push(top.hq_country.as_str());
        }
        Ok(v)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Entity> {
        self.by_id.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(id: &str, hq: &str, parent: Option<&str>) -> Entity {
        Entity {
            id: id.into(),
            name: id.into(),
            hq_country: hq.into(),
            parent: parent.map(Into::into),
        }
    }

    #[test]
    fn ultimate_parent_through_a_chain() {
        let es = Entities::new(&[
            e("sg-sub", "SG", Some("hk-hold")),
            e("hk-hold", "HK", Some("cn-top")),
            e("cn-top", "CN", None),
        ]);
        assert_eq!(es.ultimate_parent("sg-sub").unwrap().id, "cn-top");
        assert_eq!(es.hq_countries("sg-sub").unwrap(), vec!["SG", "CN"]);
        assert_eq!(es.ultimate_parent("cn-top").unwrap().id, "cn-top");
    }

    #[test]
    fn loops_and_unknowns_are_errors() {
        let es = Entities::new(&[e("a", "US", Some("b")), e("b", "US", Some("a"))]);
        assert!(matches!(
            es.ultimate_parent("a"),
            Err(EntityError::Cycle(..))
        ));
        let es = Entities::new(&[e("a", "US", Some("ghost"))]);
        assert_eq!(
            es.ultimate_parent("a"),
            Err(EntityError::Unknown("ghost".into()))
        );
    }
}
